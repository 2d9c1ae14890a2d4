"""`huiying crawl --follow`: one crawl process that keeps reading a board (the publishing
bench board, a real server process), picks up a post published after it started, fetches
each page once, holds the source's claim while it runs and stores everything on SIGTERM."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
import yaml
from sqlalchemy import create_engine, text

from huiying.cli.runner import demo_config
from tests.conftest import huiying, last_json, use_env, wait_until

WARM, PUBLISHED = 60, 4  # two list pages of 50 links from the start


@pytest.fixture
def board():
    """The bench board: WARM posts at once, PUBLISHED more from GET /publish, 8 a second."""
    process = subprocess.Popen([sys.executable, "-m", "crawler.demo.bench_board", "--warm", str(WARM),
                                "--publish-rate", "8", "--publish-seconds", str(PUBLISHED / 8)],
                               stdout=subprocess.PIPE, text=True)
    yield process.stdout.readline().strip()
    process.terminate()
    process.wait(timeout=10)
    process.stdout.close()


def get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - the test's own board
        return response.read().decode()


def write_source(env: dict[str, str], board: str, **changes) -> None:
    config = demo_config(board).as_dict()
    config.update(name="followed", start_urls=[f"{board}/board?page=1"], **changes)
    config = {key: value for key, value in config.items() if value is not None}
    sources = Path(env["HUIYING_DATA_DIR"]) / "sources"
    sources.mkdir(exist_ok=True)
    (sources / "followed.yml").write_text(yaml.safe_dump(config, allow_unicode=True), "utf-8")


class Database:
    def __init__(self, env: dict[str, str]) -> None:
        self.engine = create_engine(f"sqlite:///{Path(env['HUIYING_DATA_DIR']) / 'huiying.sqlite3'}")

    def scalar(self, sql: str):
        with self.engine.connect() as connection:
            return connection.execute(text(sql)).scalar()

    def stored(self) -> int:
        return self.scalar("SELECT count(*) FROM comment")


def requests_of(board: str) -> dict[str, int]:
    return json.loads(get(f"{board}/requests"))


@pytest.fixture
def start_follower():
    """`start(env, *names)`: `huiying crawl --follow NAMES…` as a child process."""
    started = []

    def start(env: dict[str, str], *names: str) -> subprocess.Popen:
        started.append(subprocess.Popen([sys.executable, "-m", "huiying", "crawl", "--follow", *names],
                                        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
        return started[-1]

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
        process.communicate(timeout=30)


def stopped(process: subprocess.Popen) -> dict:
    """SIGTERM, as a service manager stops it: its exit, and the stats it printed."""
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    return last_json(out)


def test_a_following_crawl_picks_up_new_posts_once_holds_the_claim_and_stops_cleanly(
        start_follower, migrated_env, board):
    write_source(migrated_env, board, follow_seconds=0.2)
    follower = start_follower(migrated_env)
    db = Database(migrated_env)
    wait_until(lambda: db.stored() == WARM, timeout=60, message="the warm posts stored")
    get(f"{board}/publish")
    wait_until(lambda: db.stored() == WARM + PUBLISHED, timeout=60, message="the published posts stored")
    assert db.scalar("SELECT crawl_started_at FROM source WHERE name = 'followed'") is not None

    second = huiying("crawl", "followed", env=migrated_env)
    assert "followed: another crawl of this source is running; skipped." in second.stderr
    assert last_json(second.stdout) == {}

    wait_until(lambda: requests_of(board)["/board?page=1"] > PUBLISHED + 5,
               timeout=60, message="the board's first page read again and again")
    assert stopped(follower)["followed"]["new"] == WARM + PUBLISHED
    requested = requests_of(board)
    details = {url: n for url, n in requested.items() if url.startswith("/msg/")}
    assert details == {f"/msg/{n}.html": 1 for n in range(1, WARM + PUBLISHED + 1)}
    # Page 2 read at the start, then only after a read of page 1 that found a new post on it.
    assert 1 <= requested["/board?page=2"] <= 1 + PUBLISHED < requested["/board?page=1"]
    assert db.scalar("SELECT count(DISTINCT external_id) FROM comment") == WARM + PUBLISHED
    # Closed as a crawl closes: one crawl_run, the claim given back, the next crawl runs.
    assert db.scalar("SELECT new FROM crawl_run") == WARM + PUBLISHED
    assert db.scalar("SELECT crawl_started_at FROM source WHERE name = 'followed'") is None
    again = last_json(huiying("crawl", "followed", env=migrated_env).stdout)["followed"]
    assert (again["new"], again["unchanged"]) == (0, WARM + PUBLISHED)


def test_a_restarted_follower_skips_what_is_stored(start_follower, migrated_env, board):
    write_source(migrated_env, board, follow_seconds=0.2)
    huiying("crawl", "followed", env=migrated_env)  # the warm posts, stored by a crawl once
    before = requests_of(board)
    follower = start_follower(migrated_env, "followed")
    wait_until(lambda: requests_of(board)["/board?page=1"] > before["/board?page=1"] + 2,
               timeout=60, message="the follower reading the board")
    assert stopped(follower)["followed"] == {"new": 0, "updated": 0, "unchanged": 0, "excluded": 0,
                                             "errors": []}
    after = requests_of(board)
    assert {u: n for u, n in after.items() if u.startswith("/msg/")} == \
        {u: n for u, n in before.items() if u.startswith("/msg/")}  # no detail page fetched again
    assert after["/board?page=2"] == before["/board?page=2"]  # page 1 showed nothing new


@pytest.mark.parametrize(("args", "source", "message"), [
    (("--follow", "nosuch"), {}, "error: no enabled source named nosuch; enabled sources: followed."),
    (("--follow",), {}, "error: --follow: no enabled source sets follow_seconds; name the sources to "
                        "follow, or set follow_seconds in their files (docs/sources.md)."),
    (("--follow",), {"follow_seconds": "soon"}, "'follow_seconds' must be a number, got text."),
    (("--follow", "--source-file", "x.yml"), {},
     "error: --follow stores what it reads; it cannot be used with --source-file."),
    (("--follow", "followed"), {"kind": "feed", "list": None, "detail": None},
     "error: --follow: followed cannot be followed; only board sources can (the others are crawled "
     "every interval)."),
])
def test_follow_mistakes_are_one_sentence(migrated_env, board, args, source, message):
    write_source(migrated_env, board, **source)
    result = huiying("crawl", *args, env=migrated_env, check=False)
    assert result.returncode == 2
    assert result.stderr.strip().startswith("error: ") and message in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_huiying_run_keeps_a_follower_per_followed_source_and_crawls_the_others_once(
        migrated_env, board, monkeypatch):
    from huiying import settings as settings_module
    from huiying.cli.runner import crawl_children, sync_sources

    write_source(migrated_env, board, follow_seconds=2)
    plain = demo_config(board).as_dict()
    plain.update(name="plain")
    sources = Path(migrated_env["HUIYING_DATA_DIR"]) / "sources"
    (sources / "plain.yml").write_text(yaml.safe_dump(plain, allow_unicode=True), "utf-8")
    use_env(monkeypatch, migrated_env)
    settings = settings_module.load()
    sync_sources(settings)
    children = {child.name: (child.argv[1:], child.restart) for child in crawl_children(settings, "python")}
    assert children == {"follow-followed": (["-m", "huiying", "crawl", "--follow", "followed"], True),
                        "crawl": (["-m", "huiying", "crawl", "plain"], False)}


# crawler.run.crawl following the board in a process of its own (a reactor runs once per
# process): every page read again each `full_seconds`, and stopped by itself once `keep` says
# the claim is lost, which it does once two reads of every page are recorded; robots.txt read
# again once it is half a second old.
FOLLOW_SCRIPT = """
import dataclasses, json, sys
from sqlalchemy import func, select
from crawler.run import Following, crawl
from huiying.cli.runner import demo_config
from huiying.db import session_scope
from huiying.models import CrawlRun
board, url = sys.argv[1:]
config = dataclasses.replace(demo_config(board), name="followed", interval_minutes=None,
                             follow_seconds=0.1, spec={**demo_config(board).spec,
                                                       "start_urls": [board + "/board?page=1"]})
asked = []
def keep(name):
    asked.append(name)
    with session_scope(url) as session:
        return session.scalar(select(func.count(CrawlRun.id))) < 2
stats = crawl([config], url, following=Following(full_seconds=0.5, keep=keep, keep_seconds=0.2),
              settings={"HUIYING_ROBOTSTXT_MAX_AGE": 0.5})
print(json.dumps({"asked": asked, "new": stats["followed"].new, "unchanged": stats["followed"].unchanged}))
"""


def test_every_page_and_robots_txt_are_read_again_and_a_lost_claim_stops_the_crawl(
        migrated_env, migrated_sqlite, board):
    url = migrated_sqlite(Path(migrated_env["HUIYING_DATA_DIR"]), migrated_env["HUIYING_ADMIN_PASSWORD"])
    done = subprocess.run([sys.executable, "-c", FOLLOW_SCRIPT, board, url], env=migrated_env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    result = last_json(done.stdout)
    assert set(result["asked"]) == {"followed"}  # until it said no: the crawl stopped by itself
    assert result["new"] == WARM and result["unchanged"] >= WARM  # read again, stored once
    requested = requests_of(board)
    assert min(n for u, n in requested.items() if u.startswith("/msg/")) >= 2
    assert requested["/robots.txt"] >= 2
    db = Database(migrated_env)
    # A crawl_run per read of every page (then one of the stretch the stop cut short, if it
    # read anything): each read of every page read every post.
    with db.engine.connect() as connection:
        items = connection.execute(text("SELECT items FROM crawl_run ORDER BY id")).scalars().all()
    assert len(items) >= 2 and min(items[:2]) >= WARM
