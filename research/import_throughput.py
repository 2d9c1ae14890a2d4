"""Rows per second of `huiying import` into PostgreSQL, for one or more source trees.

    .venv/bin/python research/import_throughput.py [--rows 5000] [--repeat 3] [CHECKOUT …]

Each CHECKOUT is a source tree (default: this repository) whose `huiying` package is run with
this virtualenv (PYTHONPATH=CHECKOUT), so two commits compare in one run on one machine:

    git archive a9f38d8 | (mkdir -p /tmp/base && tar -x -C /tmp/base)
    .venv/bin/python research/import_throughput.py /tmp/base .

For each checkout: a database migrated by its own `huiying db upgrade` is the template; each
repeat makes a fresh copy of it and, in one process of that checkout, runs the `huiying
import FILE --json` command (click's `main`, the code a user runs: connection, broker check,
import, enqueueing) three times: on a file of the header alone (a warm-up: imports, first
connections), on a generated hotline CSV (ROWS rows, 12345 headers, a third answered, seeded;
timed: every row new) and on the same file again (timed: every row unchanged). The broker is
Redis and no worker runs, so the messages wait; a thread polling the queue's length every
10 ms gives `first_message_s`, when a worker could have started. `process_s` is that
process's wall clock, start-up included. Repeats alternate between the checkouts; one JSON
object per checkout gives the best figures and every run. It drops and makes the databases
`DATABASE_*` and flushes REDIS's DB number.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import redis

ROOT = Path(__file__).resolve().parent.parent
DATABASE = "postgresql+psycopg://postgres@127.0.0.1:5432/huiying_bench_import"
REDIS = "redis://127.0.0.1:6379/12"
BENCH_ADMIN = "bench-password-1"  # noqa: S105 - the first admin of a database dropped after the run
HEADER = ["工单编号", "来电时间", "来电人", "联系电话", "诉求类型", "标题", "诉求内容", "答复意见",
          "答复时间", "承办单位"]
TYPES = ["咨询", "投诉", "建议", "求助", "举报"]
PLACES = ["城关一小", "城关二小", "青石镇中学", "实验中学", "县一中", "河西幼儿园", "东坪小学"]
MATTERS = ["食堂饭菜质量差", "校车超载", "招生划片范围不清", "课后服务收费", "教师有偿补课", "校门口交通拥堵",
           "宿舍漏水", "作业负担太重", "学籍转入手续", "午休时间太短"]


def write_export(path: Path, rows: int, seed: int = 12345) -> None:
    rng = random.Random(seed)
    with open(path, "w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(HEADER)
        for n in range(rows):
            place, matter = rng.choice(PLACES), rng.choice(MATTERS)
            day, hour = rng.randrange(1, 300), rng.randrange(8, 18)
            received = time.strftime("%Y-%m-%d", time.gmtime(1767225600 + day * 86400))  # 2026
            answered = rng.random() < 1 / 3
            writer.writerow([
                f"GD2026{n:07d}", f"{received} {hour:02d}:{rng.randrange(60):02d}", "市民",
                f"139{rng.randrange(10**8):08d}", rng.choice(TYPES), f"{place}{matter}",
                f"来电人反映{place}{matter}，已经持续一段时间，家长多次向学校反映没有结果，"
                f"希望教育局尽快调查处理并给予答复。（{n}）",
                "已转学校核实整改，并电话回复来电人。" if answered else "",
                f"{received} {hour + 1:02d}:30" if answered else "",
                "教体局" if answered else ""])


def _pg(url: str, *statements: str) -> None:
    parts = urlsplit(url.replace("postgresql+psycopg://", "postgresql://", 1))
    with psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True) as db:
        for statement in statements:
            db.execute(statement)


def _with_name(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


DRIVER = """
import contextlib, io, json, os, sys, threading, time
import redis
from huiying.cli import cli

def run(path):
    out, first_message = io.StringIO(), []
    broker, done = redis.Redis.from_url(os.environ["HUIYING_BROKER_URL"]), threading.Event()
    before = broker.llen("analysis")

    def watch():  # when the first message of this import reaches the broker
        while not done.wait(0.01):
            if broker.llen("analysis") > before:
                first_message.append(time.perf_counter())
                return

    watcher = threading.Thread(target=watch)
    start = time.perf_counter()
    watcher.start()
    with contextlib.redirect_stdout(out):
        cli.main(["import", path, "--json"], prog_name="huiying", standalone_mode=False)
    end = time.perf_counter()
    done.set()
    watcher.join()
    summary = json.loads(out.getvalue().strip().splitlines()[-1])
    return {"seconds": end - start, "first_message_s": first_message[0] - start if first_message else None,
            "summary": summary}

run(sys.argv[2])
print(json.dumps({"first": run(sys.argv[1]), "again": run(sys.argv[1])}))
"""


def _run(env: dict[str, str], *args: str, code: str | None = None) -> tuple[float, str]:
    start = time.perf_counter()
    command = ["-c", code, *args] if code else ["-m", "huiying", *args]
    done = subprocess.run([sys.executable, *command], env=env, capture_output=True, text=True,
                          timeout=1800, cwd=tempfile.gettempdir())
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return seconds, done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("checkouts", nargs="*", type=Path, default=[ROOT])
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--database", default=DATABASE, help="its name is the prefix of the databases")
    parser.add_argument("--redis", default=REDIS, help="a Redis DB number of its own: it is flushed")
    options = parser.parse_args()
    base = urlsplit(options.database).path.lstrip("/")
    broker = redis.Redis.from_url(options.redis)
    work = Path(tempfile.mkdtemp(prefix="import-throughput-"))
    export, empty = work / "hotline.csv", work / "empty.csv"
    write_export(export, options.rows)
    write_export(empty, 0)
    envs = []
    for number, checkout in enumerate(options.checkouts):
        template = f"{base}_{number}_template"
        _pg(options.database, f'DROP DATABASE IF EXISTS "{template}" WITH (FORCE)',
            f'CREATE DATABASE "{template}"')
        env = {k: v for k, v in os.environ.items() if not k.startswith("HUIYING_")}
        env.update(PYTHONPATH=str(checkout.resolve()), HUIYING_DATA_DIR=str(work / f"data-{number}"),
                   HUIYING_BROKER_URL=options.redis, HUIYING_ADMIN_PASSWORD=BENCH_ADMIN,
                   HUIYING_DATABASE_URL=_with_name(options.database, template), HUIYING_LOG_LEVEL="WARNING")
        _run(env, "db", "upgrade")
        envs.append((checkout, template, env))
    runs: dict[int, list[dict]] = {}
    try:
        for _ in range(options.repeat):
            for number, (_, template, env) in enumerate(envs):
                name = f"{base}_{number}"
                _pg(options.database, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)',
                    f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
                broker.flushdb()
                env = {**env, "HUIYING_DATABASE_URL": _with_name(options.database, name)}
                process, output = _run(env, str(export), str(empty), code=DRIVER)
                timed = json.loads(output.strip().splitlines()[-1])
                first, again = timed["first"], timed["again"]
                assert first["summary"]["new"] == again["summary"]["unchanged"] == options.rows, timed
                run = {"rows_per_s": round(options.rows / first["seconds"], 1),
                       "first_message_s": first["first_message_s"] and round(first["first_message_s"], 2),
                       "reimport_rows_per_s": round(options.rows / again["seconds"], 1),
                       "process_s": round(process, 2), "enqueued": first["summary"]["enqueued"],
                       "messages": broker.llen("analysis")}
                runs.setdefault(number, []).append(run)
                _pg(options.database, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        broker.flushdb()
        for _, template, _ in envs:
            _pg(options.database, f'DROP DATABASE IF EXISTS "{template}" WITH (FORCE)')
    for number, (checkout, _, _) in enumerate(envs):
        done = runs[number]
        print(json.dumps({
            "checkout": str(checkout), "rows": options.rows,
            "rows_per_s": max(run["rows_per_s"] for run in done),
            "reimport_rows_per_s": max(run["reimport_rows_per_s"] for run in done),
            "first_message_s": min(run["first_message_s"] or float("inf") for run in done),
            "runs": done}, ensure_ascii=False))

if __name__ == "__main__":
    main()
