"""`huiying bench crawl`: `huiying crawl` of a loopback board of THREADS threads with politeness
off, beside `scrapy bench` (Scrapy's own benchmark) run in the same run.

Both crawl a local site in a separate server process. `pages_per_s` is responses (list pages
included) per second of the crawl's own span: from its crawl_run's start (the store is set up
just before the reactor starts, so before the spider's first request) to its end (after the
last batch is committed at the spider's close), as recorded in the database. The baseline is
`scrapy bench`'s `response_received_count / elapsed_time_seconds`, run once before and once
after the crawl; their mean is compared, so a change of load during the run moves both.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from huiying.errors import HuiyingError

THREADS = 5000
TARGET_RATIO = 0.8
_STAT = r"'{}':\s*([0-9.]+)"


def scrapy_bench_pages_per_s(log: str) -> float:
    """pages/s from the final stats `scrapy bench` logs; HuiyingError when they are missing."""
    found = {}
    for name in ("response_received_count", "elapsed_time_seconds"):
        matches = re.findall(_STAT.format(name), log)
        if not matches:
            tail = " | ".join(log.strip().splitlines()[-3:])
            raise HuiyingError(f"`scrapy bench` logged no {name} in its final stats ({tail[-300:]}).")
        found[name] = float(matches[-1])
    if found["elapsed_time_seconds"] <= 0:
        raise HuiyingError("`scrapy bench` reported an elapsed time of 0 s.")
    return found["response_received_count"] / found["elapsed_time_seconds"]


def _scrapy_bench() -> float:
    with tempfile.TemporaryDirectory() as tmp:  # no scrapy.cfg around: Scrapy's defaults
        out = subprocess.run([sys.executable, "-m", "scrapy", "bench"], cwd=tmp, capture_output=True,
                             text=True, timeout=180, check=False)
    return scrapy_bench_pages_per_s(out.stderr + out.stdout)


def _board_config(url: str, threads: int) -> dict:
    from crawler.demo.bench_board import list_pages
    from huiying.cli.runner import demo_config

    config = demo_config(url).as_dict()
    config.update(name="bench", title="压测留言板（本机）", start_urls=[f"{url}/board?page=1"],
                  max_pages=list_pages(threads))
    return config


def _huiying_crawl(threads: int) -> dict:
    from sqlalchemy import select

    from huiying.db import session_scope
    from huiying.models import CrawlRun

    board = subprocess.Popen([sys.executable, "-m", "crawler.demo.bench_board", "--threads", str(threads)],
                             stdout=subprocess.PIPE, text=True)
    try:
        url = board.stdout.readline().strip()
        with tempfile.TemporaryDirectory() as tmp:
            env = {**os.environ, "HUIYING_DATA_DIR": tmp}
            for name in ("HUIYING_DATABASE_URL", "HUIYING_BROKER_URL"):
                env.pop(name, None)
            subprocess.run([sys.executable, "-m", "huiying", "db", "upgrade"], env=env, check=True,
                           capture_output=True)
            sources = Path(tmp, "sources")
            sources.mkdir()
            (sources / "bench.yml").write_text(
                yaml.safe_dump(_board_config(url, threads), allow_unicode=True), "utf-8")
            start = time.perf_counter()
            out = subprocess.run([sys.executable, "-m", "huiying", "crawl", "--bench-unthrottled"],
                                 env=env, capture_output=True, text=True, check=False)
            process_seconds = time.perf_counter() - start
            if out.returncode:
                raise HuiyingError(f"`huiying crawl` failed: {out.stderr.strip()[-500:]}")
            stats = json.loads(out.stdout.strip().splitlines()[-1])["bench"]
            with session_scope(f"sqlite:///{Path(tmp) / 'huiying.sqlite3'}") as session:
                run = session.scalars(select(CrawlRun)).one()
                pages, seconds = run.pages, (run.finished_at - run.started_at).total_seconds()
    finally:
        board.terminate()
        board.wait(timeout=10)
        board.stdout.close()
    return {"pages": pages, "seconds": seconds, "process_seconds": process_seconds,
            "comments": stats["new"], "errors": len(stats["errors"])}


def bench_crawl(machine: dict) -> dict:
    before = _scrapy_bench()
    crawl = _huiying_crawl(THREADS)
    after = _scrapy_bench()
    baseline = (before + after) / 2
    pages_per_s = crawl["pages"] / crawl["seconds"]
    return {"suite": "crawl", "threads": THREADS, "pages": crawl["pages"], "comments": crawl["comments"],
            "errors": crawl["errors"], "crawl_seconds": round(crawl["seconds"], 2),
            "pages_per_s": round(pages_per_s, 1),
            "pages_per_s_measured": "crawl_run start (store set up, before the reactor) to end "
                                    "(last batch committed at the spider's close)",
            "process_seconds": round(crawl["process_seconds"], 2),
            "baseline_scrapy_bench_pages_per_s": round(baseline, 1),
            "scrapy_bench_before_after": [round(before, 1), round(after, 1)],
            "ratio": round(pages_per_s / baseline, 3), "target_ratio": TARGET_RATIO,
            "settings": "politeness off (crawler.settings.BENCH_UNTHROTTLED), SQLite, embedded broker",
            **machine}
