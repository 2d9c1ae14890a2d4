"""The crawl benchmark's loopback board (crawler.demo.bench_board, its own process) is read by
the demo source's selectors, and `huiying crawl --bench-unthrottled` switches politeness off
for loopback sources only: a normal crawl of the same board still reads robots.txt first."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest
import yaml
from sqlalchemy import create_engine, text

from huiying.bench_crawl import _board_config
from tests.conftest import huiying, last_json

THREADS = 120  # three list pages of 50, 50 and 20 links


@pytest.fixture
def board():
    process = subprocess.Popen([sys.executable, "-m", "crawler.demo.bench_board", "--threads", str(THREADS)],
                               stdout=subprocess.PIPE, text=True)
    yield process.stdout.readline().strip()
    process.terminate()
    process.wait(timeout=10)
    process.stdout.close()


def crawl_run(env) -> tuple[int, int]:
    engine = create_engine(f"sqlite:///{Path(env['HUIYING_DATA_DIR']) / 'huiying.sqlite3'}")
    with engine.connect() as connection:
        pages, new = connection.execute(text("SELECT pages, new FROM crawl_run")).one()
        titles = connection.execute(text("SELECT count(DISTINCT title) FROM comment")).scalar()
    engine.dispose()
    assert titles == THREADS
    return pages, new


def write_source(env, config: dict) -> None:
    sources = Path(env["HUIYING_DATA_DIR"]) / "sources"
    sources.mkdir(exist_ok=True)
    (sources / "bench.yml").write_text(yaml.safe_dump(config, allow_unicode=True), "utf-8")


def test_the_bench_board_crawled_unthrottled_and_politely(board, migrated_env, tmp_path):
    write_source(migrated_env, _board_config(board, THREADS))
    stats = last_json(huiying("crawl", "--bench-unthrottled", env=migrated_env).stdout)["bench"]
    assert stats["new"] == THREADS and stats["errors"] == []
    assert crawl_run(migrated_env) == (THREADS + 3, THREADS)  # 3 list pages, no robots.txt

    polite = {**migrated_env, "HUIYING_DATA_DIR": str(tmp_path / "polite")}
    huiying("db", "upgrade", env=polite)
    write_source(polite, _board_config(board, THREADS))
    huiying("crawl", env=polite)
    assert crawl_run(polite) == (THREADS + 4, THREADS)  # robots.txt read first


def test_politeness_stays_on_for_a_site_that_is_not_on_loopback(migrated_env, board):
    config = _board_config(board, THREADS)
    config["start_urls"] = ["http://board.example.cn/board?page=1"]
    write_source(migrated_env, config)
    result = huiying("crawl", "--bench-unthrottled", env=migrated_env, check=False)
    assert result.returncode != 0
    assert "http://board.example.cn/board?page=1 is not on loopback: politeness stays on" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_bench_reads_scrapy_bench_final_stats():
    from huiying.bench_crawl import scrapy_bench_pages_per_s
    from huiying.errors import HuiyingError

    log = ("INFO: Crawled 704 pages (at 3540 pages/min)\nINFO: Dumping Scrapy stats:\n"
           "{'downloader/request_count': 719,\n 'elapsed_time_seconds': 10.4,\n"
           f" 'finish_time': {datetime(2026, 12, 3)!r},\n 'response_received_count': 728,\n}}\n")
    assert scrapy_bench_pages_per_s(log) == pytest.approx(70.0)
    with pytest.raises(HuiyingError, match="no response_received_count"):
        scrapy_bench_pages_per_s("Traceback: address already in use")
