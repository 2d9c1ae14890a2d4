"""Comments per second with one worker host, then two, on one PostgreSQL + Redis.

    sudo .venv/bin/python research/hosts_throughput.py [--comments 1500] [--batch 20] [--redis-db 11]

Measured, not asserted (docs/benchmarks.md, "Several hosts"). Hosts are network namespaces
joined to this one by veth links (tests/e2e/hosts_net.py, the same as tests/e2e/test_hosts.py),
each running `huiying worker --queues analysis --concurrency 1` under its own hostname and
reaching PostgreSQL and Redis over its link. Each round makes the database again
(`huiying_hosts_bench`, dropped and made, `huiying db upgrade`), starts its workers and waits
until they are ready, stores the same COMMENTS comments (`huiying bench pipeline`'s texts: the
demo board's sentences, 30 % reposts), enqueues them in batches of BATCH, and times from the
first message to the last comment processed. Prints one JSON object: the machine, the date,
the commit, comments/s for each round and the ratio. Needs root, `ip`, `socat`, `unshare`.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import redis  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402

from huiying.bench_pipeline import _recreate, _texts  # noqa: E402
from tests.e2e.hosts_net import Network, hosts_env, missing_tools  # noqa: E402

DATABASE = "huiying_hosts_bench"
URL = f"postgresql+psycopg://postgres@127.0.0.1:5432/{DATABASE}"


def base_env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUIYING_")}
    env.update(HUIYING_DATA_DIR=str(data_dir), HUIYING_ADMIN_PASSWORD="bench-admin-password",  # noqa: S106
               HUIYING_LOG_LEVEL="INFO", HUIYING_SECRET_KEY="x" * 32)
    return env


def store(count: int) -> list[int]:
    from huiying.db import session_scope
    from huiying.models import Comment, Source

    with session_scope(URL) as session:
        source = Source(name="bench", title="留言板", kind="board", enabled=False)
        session.add(source)
        session.flush()
        comments = [Comment(source_id=source.id, external_id=f"b{n}", url=f"http://bench.example/{n}",
                            title=title, body=body, content_hash=f"bench-{n}")
                    for n, (title, body) in enumerate(_texts(count))]
        session.add_all(comments)
        session.flush()
        return [c.id for c in comments]


def one_round(network: Network, hosts: int, args, tmp: Path) -> dict:
    from huiying.db import dispose_all
    from huiying.queue import PROCESS_COMMENTS, producer
    from huiying.settings import load

    dispose_all()
    _recreate(URL)
    here = {**base_env(tmp / "here"), "HUIYING_DATABASE_URL": URL, "HUIYING_BROKER_URL": broker(args)}
    subprocess.run([sys.executable, "-m", "huiying", "db", "upgrade"], env=here, check=True,
                   capture_output=True, timeout=300)
    redis.Redis.from_url(broker(args)).flushdb()
    workers = [network.add_host(f"w{hosts}{n}") for n in range(hosts)]
    logs = []
    try:
        for host in workers:
            log_path = tmp / f"{host.name}.log"
            logs.append(log_path)
            env = hosts_env(base_env(tmp / host.name), host, database=DATABASE, redis_db=args.redis_db,
                            data_dir=tmp / host.name)
            with open(log_path, "wb") as log:
                host.huiying("worker", "--queues", "analysis", "--concurrency", "1", env=env, log=log)
        deadline = time.monotonic() + 120
        while not all("jieba segmenter ready" in p.read_text(errors="replace") for p in logs):
            if time.monotonic() > deadline:
                raise RuntimeError("the workers did not start")
            time.sleep(0.2)
        ids = store(args.comments)
        os.environ.update(here)
        app = producer(load())
        engine = create_engine(URL)
        start = time.perf_counter()
        for i in range(0, len(ids), args.batch):
            app.send_task(PROCESS_COMMENTS, args=[ids[i:i + args.batch]])
        while True:
            with engine.connect() as db:
                left = db.execute(text("SELECT count(*) FROM comment WHERE processed_at IS NULL")).scalar()
            if left == 0:
                break
            if time.perf_counter() - start > 900:
                raise RuntimeError(f"{left} comments still unprocessed after 900 s")
            time.sleep(0.05)
        seconds = time.perf_counter() - start
        with engine.connect() as db:
            cases = db.execute(text('SELECT count(*) FROM "case"')).scalar()
        engine.dispose()
        batches = {p.stem: p.read_text(errors="replace").count("process_comments[") // 2 for p in logs}
        return {"hosts": hosts, "comments": len(ids), "seconds": round(seconds, 2),
                "comments_per_s": round(len(ids) / seconds, 1), "cases": cases, "batches_per_host": batches}
    finally:
        for host in workers:
            host.stop()


def broker(args) -> str:
    return f"redis://127.0.0.1:6379/{args.redis_db}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--comments", type=int, default=1500)
    parser.add_argument("--batch", type=int, default=20)
    parser.add_argument("--redis-db", type=int, default=11)
    args = parser.parse_args()
    if (why := missing_tools()) is not None:
        sys.exit(f"cannot run several hosts here: {why}")
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                            text=True).stdout.strip()
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    load_at_start = round(os.getloadavg()[0], 2)
    rounds = []
    with tempfile.TemporaryDirectory(prefix="huiying-hosts-") as folder, Network() as network:
        for hosts in (1, 2):
            rounds.append(one_round(network, hosts, args, Path(folder)))
    from huiying.db import dispose_all

    dispose_all()
    import psycopg

    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
    redis.Redis.from_url(broker(args)).flushdb()
    print(json.dumps({
        "machine": {"host": platform.node(), "cpus": os.cpu_count(), "cpu": cpu,
                    "load_average_1m": [load_at_start, round(os.getloadavg()[0], 2)]},
        "date": datetime.now(UTC).isoformat(timespec="seconds"), "commit": commit,
        "batch": args.batch, "rounds": rounds,
        "ratio_two_to_one": round(rounds[1]["comments_per_s"] / rounds[0]["comments_per_s"], 2),
    }, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
