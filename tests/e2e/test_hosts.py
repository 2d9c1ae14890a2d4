"""Several hosts: two worker hosts and two crawler hosts (network namespaces joined by veth
links, tests/e2e/hosts_net.py) against one PostgreSQL and one Redis reached over those links.

Crawls of four boards spread over the crawler hosts, each source crawled once and no page
fetched twice (per-source claims, huiying/sources.py); of two schedulers exactly one runs beat
(huiying/scheduler_lock.py); the worker hosts share the comments, each processed once; one
worker host is cut off mid-run and what it held is done by the other (the sweep re-enqueues
what stays unprocessed past HUIYING_SWEEP_GRACE); the running scheduler dies and the other
takes over.
"""

from __future__ import annotations

import ast
import base64
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from wsgiref.simple_server import make_server

import pytest
import redis
import yaml
from sqlalchemy import create_engine, text

from huiying.db import session_scope
from huiying.scheduler_lock import STANDBY_MESSAGE
from huiying.sources import load_dir, sync
from tests.conftest import PG_URL, clean_env, empty_database, huiying, pg_copy, wait_until
from tests.e2e.hosts_net import Network, hosts_env, missing_tools

pytestmark = [pytest.mark.integration,
              pytest.mark.skipif(missing_tools() is not None, reason=f"several hosts: {missing_tools()}")]

BOARDS = 4
THREADS = 8  # per board: one list page, eight detail pages (and robots.txt)
WAVE = 120  # comments stored at once for the cut: many small batches
WAVE_BATCH = 4
PROCESSED = re.compile(r"Task worker\.tasks\.process_comments\[[^\]]+\] succeeded")
CRAWLED = re.compile(r"Task worker\.tasks\.crawl_source\[[^\]]+\] succeeded in [\d.]+s: 0")
TICK = re.compile(r"Task worker\.tasks\.crawl_due_sources\[[^\]]+\] succeeded in [\d.]+s: (.*)")


class Board:
    """A loopback board (crawler/demo/bench_board.py's pages) that counts the requests per URL."""

    def __init__(self, host: str, number: int) -> None:
        from crawler.demo.bench_board import make_app
        from crawler.demo.server import _QuietHandler, _ThreadingWSGIServer

        self.requests: Counter[str] = Counter()
        self.lock = threading.Lock()
        app = make_app(THREADS)

        def counting(environ, start_response):
            query = environ.get("QUERY_STRING")
            url = environ.get("PATH_INFO", "/") + (f"?{query}" if query else "")
            with self.lock:
                self.requests[url] += 1
            return app(environ, start_response)

        self.server = make_server(host, 0, counting, server_class=_ThreadingWSGIServer,
                                  handler_class=_QuietHandler)
        self.url = f"http://{host}:{self.server.server_port}"
        self.name = f"board{number}"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def write_sources(folder, boards: list[Board]) -> None:
    from huiying.cli.runner import demo_config

    folder.mkdir(parents=True, exist_ok=True)
    for board in boards:
        config = demo_config(board.url).as_dict()
        config.update(name=board.name, title=f"留言板 {board.name}", max_pages=3,
                      interval_minutes=600)  # due once in the test: a second tick finds none due
        (folder / f"{board.name}.yml").write_text(yaml.safe_dump(config, allow_unicode=True), "utf-8")


def run_python(env, code: str, stdin: str | None = None) -> None:
    subprocess.run([sys.executable, "-c", code], env=env, input=stdin, text=True, check=True, timeout=60)


def send_task(env, task: str) -> None:
    run_python(env, "from huiying import settings; from huiying.queue import producer; "
               f"producer(settings.load()).send_task({task!r})")


def send_batches(env, ids: list[int], size: int) -> None:
    run_python(env, "import json, sys; from huiying import settings; from huiying.queue import producer, "
               "PROCESS_COMMENTS; app = producer(settings.load()); ids = json.load(sys.stdin); "
               f"[app.send_task(PROCESS_COMMENTS, args=[ids[i:i + {size}]]) "
               f"for i in range(0, len(ids), {size})]",
               stdin=json.dumps(ids))


def store_wave(pg_url: str) -> list[int]:
    """WAVE comments of the demo board's texts, numbered (the board's near-duplicates fold)."""
    from crawler.demo import load_posts
    from huiying.models import Comment, Source

    posts = load_posts()[0]
    start = datetime.now(UTC) - timedelta(hours=1)
    with session_scope(pg_url) as session:
        source = Source(name="wave", title="转发", kind="board", enabled=False)  # never crawled
        session.add(source)
        session.flush()
        comments = [Comment(source_id=source.id, external_id=f"w{n}", url=f"http://wave.example/{n}",
                            title=posts[n % len(posts)]["title"], body=posts[n % len(posts)]["body"],
                            published_at=start + timedelta(seconds=n), content_hash=f"wave-{n}")
                    for n in range(WAVE)]
        session.add_all(comments)
        session.flush()
        return [c.id for c in comments]


def unacked_ids(redis_url: str) -> list[list[int]]:
    """The comment ids of the messages delivered and never acknowledged (kombu's `unacked` hash)."""
    batches = []
    for raw in redis.Redis.from_url(redis_url).hvals("unacked"):
        message = json.loads(raw)[0]
        body = json.loads(base64.b64decode(message["body"]))
        if message["headers"].get("task") == "worker.tasks.process_comments":
            batches.append(body[0][0])
    return batches


@pytest.fixture
def database(request, monkeypatch):
    """(URL, migrated): a copy of the session's migrated template when HUIYING_TEST_DATABASE_URL
    is set (`make test` sets it; dropped after), else the session's own database, emptied after."""
    if PG_URL:
        yield from ((url, True) for url in pg_copy(request, monkeypatch))
        return
    url = request.getfixturevalue("pg_url")
    yield url, False
    empty_database(url)


def test_several_hosts(request, tmp_path, database, redis_url):
    pg_url, migrated = database
    began, phases = time.monotonic(), {}
    network = Network().__enter__()
    request.addfinalizer(network.close)  # namespaces, links and every process, also on failure
    boards = [Board(network.hub, n) for n in range(1, BOARDS + 1)]
    for board in boards:
        request.addfinalizer(board.close)
    write_sources(tmp_path / "sources", boards)

    settings = dict(HUIYING_SECRET_KEY="x" * 32, HUIYING_SOURCES_DIR=str(tmp_path / "sources"),
                    HUIYING_ADMIN_PASSWORD="admin-password-1", HUIYING_LOG_LEVEL="INFO",
                    HUIYING_SWEEP_INTERVAL="5", HUIYING_SWEEP_GRACE="3", HUIYING_CRAWL_TIMEOUT="20")
    here = clean_env(HUIYING_DATA_DIR=str(tmp_path / "here"), HUIYING_DATABASE_URL=pg_url,
                     HUIYING_BROKER_URL=redis_url, **settings)
    if not migrated:
        huiying("db", "upgrade", env=here)
    with session_scope(pg_url) as session:
        sync(session, load_dir(tmp_path / "sources"))
    database = pg_url.rsplit("/", 1)[1]
    redis_db = int(redis_url.rsplit("/", 1)[1])

    roles = {"worka": "analysis", "workb": "analysis", "crawla": "crawl", "crawlb": "crawl"}
    hosts = {name: network.add_host(name) for name in roles}
    envs = {name: hosts_env(clean_env(**settings), host, database=database, redis_db=redis_db,
                            data_dir=tmp_path / name) for name, host in hosts.items()}
    logs = {name: tmp_path / f"{name}.log" for name in roles}
    beat_logs = {name: tmp_path / f"{name}-scheduler.log" for name in ("crawla", "crawlb")}
    for name, queue in roles.items():
        with open(logs[name], "wb") as log:
            hosts[name].huiying("worker", "--queues", queue, "--concurrency", "1", env=envs[name], log=log)
    schedulers = {}
    for name, path in beat_logs.items():  # one scheduler on each crawler host
        with open(path, "wb") as log:
            schedulers[name] = hosts[name].huiying("scheduler", env=envs[name], log=log)

    def read(path) -> str:
        return path.read_text(errors="replace")

    wait_until(lambda: all(" ready." in read(path) for path in logs.values()), timeout=60,
               interval=0.2, message="the four workers did not all start")
    wait_until(lambda: all("beat: Starting" in read(p) or STANDBY_MESSAGE in read(p)
                           for p in beat_logs.values()),
               timeout=60, interval=0.2, message="the schedulers neither started nor stood by")
    for name in roles:  # each worker under its host's name, over its link
        assert f"@{name} ready." in read(logs[name])

    engine = create_engine(pg_url)
    request.addfinalizer(engine.dispose)

    def value(sql: str, **params):
        with engine.connect() as db:
            return db.execute(text(sql), params).scalar()

    phases["hosts up"] = round(time.monotonic() - began, 1)
    # --- crawls spread over the crawler hosts, each source once --------------------------------
    send_task(here, "worker.tasks.crawl_due_sources")
    wait_until(lambda: value("SELECT count(*) FROM crawl_run") == BOARDS
               and value("SELECT count(*) FROM source WHERE crawl_started_at IS NOT NULL") == 0,
               timeout=60, interval=0.2, message="not every source was crawled")
    wait_until(lambda: value("SELECT count(*) FROM comment") == BOARDS * THREADS
               and value("SELECT count(*) FROM comment WHERE processed_at IS NULL") == 0,
               timeout=60, interval=0.2, message="the crawled comments were not all processed")
    send_task(here, "worker.tasks.crawl_due_sources")  # nothing is due again: no second crawl
    ticks = wait_until(lambda: (found := TICK.findall(read(logs["worka"]) + read(logs["workb"])))
                       and len(found) >= 2 and found, timeout=30, message="the second tick did not run")
    # (A slow run may see the scheduler's own tick too, a minute after beat started: also empty.)
    first, *later = sorted((ast.literal_eval(tick) for tick in ticks), key=len, reverse=True)
    assert sorted(first) == sorted(b.name for b in boards) and all(tick == [] for tick in later)
    assert value("SELECT count(*) FROM crawl_run") == BOARDS
    assert value("SELECT count(DISTINCT source_id) FROM crawl_run") == BOARDS  # each source once
    crawls = {name: len(CRAWLED.findall(read(logs[name]))) for name in ("crawla", "crawlb")}
    assert sum(crawls.values()) == BOARDS and all(crawls.values()), f"crawls per crawler host: {crawls}"
    for board in boards:
        twice = {url: n for url, n in board.requests.items() if n != 1}
        assert twice == {}, f"{board.name}: URLs fetched more than once: {twice}"
        assert sum(1 for url in board.requests if url.startswith("/msg/")) == THREADS

    phases["crawled and processed"] = round(time.monotonic() - began, 1)
    # --- one worker host cut off mid-run --------------------------------------------------------
    before = {name: len(PROCESSED.findall(read(logs[name]))) for name in ("worka", "workb")}
    wave = store_wave(pg_url)
    send_batches(here, wave, WAVE_BATCH)
    wait_until(lambda: len(PROCESSED.findall(read(logs["worka"]))) >= before["worka"] + 2, timeout=60,
               interval=0.02, message="worker host a processed nothing of the wave")
    hosts["worka"].cut()
    cut_at = datetime.now(UTC)
    sweeps_before = read(logs["workb"]).count("sweep re-enqueued")
    time.sleep(0.5)  # the servers end the cut host's sessions: its transaction rolls back
    with engine.connect() as db:
        done_at_cut = set(db.execute(text("SELECT id FROM comment WHERE processed_at IS NOT NULL "
                                          "AND id = ANY(:ids)"), {"ids": wave}).scalars())
    assert len(done_at_cut) < WAVE, "the wave was over before the cut"
    wait_until(lambda: value("SELECT count(*) FROM comment WHERE processed_at IS NULL") == 0,
               timeout=60, interval=0.2, message="the cut host's work was not completed elsewhere")
    # What the cut host held stays delivered-but-unacknowledged (acks_late; its ack, or its
    # result, never came): the sweep on the other host did it. (No message held at all: the
    # link went down between Redis handing one over and the host recording it as unacked; it
    # is lost from the broker, and only the sweep can have done its comments.)
    held = [i for batch in unacked_ids(redis_url) for i in batch]
    unfinished = set(held) - done_at_cut
    if unfinished or not held:
        assert read(logs["workb"]).count("sweep re-enqueued") > sweeps_before, \
            "the other host's sweep did not re-enqueue the cut host's comments"
    if unfinished:
        late = value("SELECT min(processed_at) FROM comment WHERE id = ANY(:ids)", ids=list(unfinished))
        assert late > cut_at
    after = {name: len(PROCESSED.findall(read(logs[name]))) for name in ("worka", "workb")}
    assert all(after[name] > 0 for name in after), f"batches per worker host: {after}"

    phases["cut host's work done"] = round(time.monotonic() - began, 1)
    # --- exactly one scheduler ------------------------------------------------------------------
    beats = {name: read(path) for name, path in beat_logs.items()}
    running = [name for name, log in beats.items() if "beat: Starting" in log]
    assert len(running) == 1, f"schedulers that ran beat: {running}"
    (standby,) = set(beats) - set(running)
    assert beats[standby].count(STANDBY_MESSAGE) == 1
    assert "Sending due task sweep-unprocessed" in beats[running[0]]
    # The running one dies: its session ends, the server frees the lock, the standby takes over.
    os.killpg(schedulers[running[0]].pid, signal.SIGKILL)
    wait_until(lambda: "beat: Starting" in read(beat_logs[standby]), timeout=30, interval=0.2,
               message="the standby scheduler did not take over")
    assert "taking over" in read(beat_logs[standby])

    # --- every comment processed once: one create or merge event each, heat = comments ---------
    with engine.connect() as db:
        named = Counter(db.execute(text(
            "SELECT (data->>'comment_id')::int FROM case_event WHERE action IN ('create', 'merge_comment')"
        )).scalars())
        in_cases = dict(db.execute(text("SELECT id, case_id FROM comment WHERE case_id IS NOT NULL")).all())
        heat = dict(db.execute(text('SELECT id, heat FROM "case" WHERE merged_into_id IS NULL')).all())
        members = Counter(in_cases.values())
    assert len(in_cases) > (BOARDS * THREADS + WAVE) / 2, "most comments should be in cases"
    assert {c: n for c, n in named.items() if n != 1} == {}, "comments named by more than one event"
    assert set(named) == set(in_cases), "a comment in a case without its event, or the reverse"
    assert {c: (h, members[c]) for c, h in heat.items() if h != members[c]} == {}
    assert value("SELECT count(*) FROM comment WHERE processed_at IS NULL") == 0
    print(f"crawls per crawler host {crawls}; batches per worker host {after}; "
          f"cut host held {len(held)} comments, {len(unfinished)} unfinished at the cut; "
          f"seconds from the start: {phases}")
