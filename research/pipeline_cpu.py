"""Where the machine's CPU goes in `huiying bench pipeline`'s throughput leg: the leg run alone
(COMMENTS stored as the import stores them, a real worker with two processes, PostgreSQL +
Redis), with the CPU of the worker processes, the PostgreSQL backends, the storing process and
Redis read from /proc (as root) every 0.3 s, per comment, and the machine's idle time.

    .venv/bin/python research/pipeline_cpu.py [COMMENTS] [CONCURRENCY]

CONCURRENCY: the worker's pool processes (default the bench's, 2).

Uses the bench's database and Redis DB (huiying_bench_pipeline, 12). Run it with nothing else
on the machine: a `huiying worker` of another checkout would be counted as the leg's.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import redis

from huiying import bench_pipeline

DATABASE = bench_pipeline._database_name(bench_pipeline.DEFAULT_URL)


def _kind(command: str) -> str | None:
    if "huiying worker" in command:
        return "worker processes"
    if command.startswith("postgres:") and DATABASE in command:
        return "PostgreSQL backends"
    if command.startswith("postgres"):
        return "PostgreSQL, other processes"
    return "Redis" if "redis-server" in command else None


def _processes() -> dict[int, tuple[str, float]]:
    """pid → (kind, CPU seconds so far) of the processes this study counts."""
    found = {}
    tick = os.sysconf("SC_CLK_TCK")
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # gone meanwhile
            continue
        kind = "storing process" if int(pid) == os.getpid() else _kind(command)
        if kind:
            found[int(pid)] = (kind, (int(fields[11]) + int(fields[12])) / tick)
    return found


def _machine() -> list[int]:
    return [int(n) for n in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]


def main(count: int, concurrency: int) -> None:
    bench_pipeline.WORKER_CONCURRENCY = concurrency
    url, broker = bench_pipeline.DEFAULT_URL, bench_pipeline.DEFAULT_REDIS
    redis.Redis.from_url(broker).flushdb()
    bench_pipeline._recreate(url)
    env = bench_pipeline._env(url, broker, tempfile.mkdtemp())
    subprocess.run([sys.executable, "-m", "huiying", "db", "upgrade"], env=env, check=True,
                   capture_output=True)
    before = _processes()
    last: dict[int, tuple[str, float]] = {}
    stop = threading.Event()

    def sample() -> None:  # a process that ends keeps its last reading
        while not stop.is_set():
            last.update(_processes())
            time.sleep(0.3)

    sampler = threading.Thread(target=sample)
    sampler.start()
    machine = _machine()
    result = bench_pipeline._pipeline(env, url, count, Path(tempfile.mkdtemp(), "worker.log"))
    machine = [b - a for a, b in zip(machine, _machine(), strict=True)]
    stop.set()
    sampler.join()
    spent: dict[str, float] = {}
    for pid, (kind, seconds) in last.items():
        spent[kind] = spent.get(kind, 0.0) + seconds - before.get(pid, (kind, 0.0))[1]
    print(json.dumps(result, ensure_ascii=False))
    for kind, seconds in sorted(spent.items(), key=lambda item: -item[1]):
        print(f"{kind:28s} {seconds:7.2f} s CPU  {seconds / count * 1000:5.2f} ms a comment")
    tick = os.sysconf("SC_CLK_TCK")
    print(f"machine: user {(machine[0] + machine[1]) / tick:.1f} s, system {machine[2] / tick:.1f} s, "
          f"idle {machine[3] / tick:.1f} s, I/O wait {machine[4] / tick:.1f} s")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20_000,
         int(sys.argv[2]) if len(sys.argv) > 2 else bench_pipeline.WORKER_CONCURRENCY)
