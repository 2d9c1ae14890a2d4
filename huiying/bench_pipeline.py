"""`huiying bench pipeline`: comments stored → analysed, folded into cases, routed and
notified, on PostgreSQL + Redis with real worker processes, beside the rate of a Celery +
Redis no-op task (one task per message) measured in the same run with the same worker.

The pipeline leg stores COMMENTS comments the way `huiying import` does (committed in
batches, each batch's ids enqueued at once), with real worker processes consuming the
analysis queue (up, and warm with one comment processed, before the clock starts), and ends
when every comment is processed and one notification scan has turned the new cases into rows.
The baseline sends COMMENTS no-op tasks (each increments a Redis counter) to the same worker
command and ends when all have run.

The latency leg stores LATENCY_RATE comments a second for LATENCY_SECONDS (a batch every
0.1 s, each enqueued as it commits) to a fresh worker, and takes each comment's latency from
its batch's commit to the first poll (every 0.05 s) that sees it processed: its case open or
joined, or it judged irrelevant. The worker has processed one comment before the clock
starts. It starts at the store, not on a board.

The board leg starts on a board: a loopback board (crawler.demo.bench_board in its own
process) publishes LATENCY_RATE posts a second for LATENCY_SECONDS, newest first on list page
1; `huiying crawl --follow --bench-unthrottled` (a child process) follows it, re-reading its
first page every BOARD_POLL_SECONDS, with a fresh worker of the same command. Each comment's
latency runs from the moment the board published it to the first poll of the database that
sees it processed. The follower and the worker have stored and processed the board's
BOARD_WARM first posts before publishing starts.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import redis
from sqlalchemy import create_engine, func, select, text

from huiying.bench_dashboard import _database_name, _server_url

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/huiying_bench_pipeline"
DEFAULT_REDIS = "redis://127.0.0.1:6379/12"
COMMENTS = 20_000
WORKER_CONCURRENCY = 2
NOOP_COUNTER = "huiying:bench:noop"
TARGET_PER_S = 2000
LATENCY_RATE = 200  # comments a second
LATENCY_SECONDS = 10
LATENCY_TICK = 0.1  # seconds between stored batches
LATENCY_POLL = 0.05
TARGET_P95_S = 2.0
BOARD_POLL_SECONDS = 0.3  # the following crawl's re-read of the board's first page
BOARD_WARM = 5
BOARD_NAME = "board-latency"


def _recreate(url: str) -> None:
    import psycopg

    name = _database_name(url)
    with psycopg.connect(_server_url(url, "postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def _texts(count: int, seed: int = 7) -> list[tuple[str, str]]:
    """The bench's (title, body) pairs (crawler.demo.texts: distinct requests and reposts)."""
    from crawler.demo.texts import mixed_texts

    return mixed_texts(count, seed)


def _env(url: str, broker: str, data_dir: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUIYING_")}
    return {**env, "HUIYING_DATABASE_URL": url, "HUIYING_BROKER_URL": broker, "HUIYING_DATA_DIR": data_dir,
            "HUIYING_ADMIN_PASSWORD": "bench-admin-password", "HUIYING_LOG_LEVEL": "WARNING"}


def _worker(env: dict[str, str], log: Path):
    return _child([sys.executable, "-m", "huiying", "worker", "--concurrency", str(WORKER_CONCURRENCY),
                   "--queues", "analysis"], env, log)


def _wait(done, what: str, timeout: float, *processes) -> float:
    start = time.perf_counter()
    while not done():
        for process in processes:
            if process.poll() is not None:
                raise RuntimeError(f"{' '.join(map(str, process.args[1:4]))} exited ({process.returncode}) "
                                   f"while waiting for {what}")
        if time.perf_counter() - start > timeout:
            raise RuntimeError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.05)
    return time.perf_counter()


def _baseline(env: dict[str, str], broker: str, count: int, log: Path) -> float:
    """No-op tasks per second, one task per message, through the same worker command."""
    from huiying.queue import producer
    from huiying.settings import load

    client = redis.Redis.from_url(broker)
    client.delete(NOOP_COUNTER)
    os.environ.update(env)
    app = producer(load())
    with _worker(env, log) as process:
        app.send_task("worker.tasks.bench_noop", args=[NOOP_COUNTER])  # the worker is up
        _wait(lambda: int(client.get(NOOP_COUNTER) or 0) >= 1, "the worker to start", 120, process)
        client.delete(NOOP_COUNTER)
        start = time.perf_counter()
        for _ in range(count):
            app.send_task("worker.tasks.bench_noop", args=[NOOP_COUNTER])
        end = _wait(lambda: int(client.get(NOOP_COUNTER) or 0) >= count, "the no-op tasks", 600, process)
    return count / (end - start)


def _board(url: str, name: str, title: str) -> int:
    """A new board source; its id."""
    from huiying.db import session_scope
    from huiying.models import Source

    with session_scope(url) as session:
        source = Source(name=name, title=title, kind="board")
        session.add(source)
        session.flush()
        return source.id


def _store_warm_up(url: str, settings, source_id: int, title_body: tuple[str, str]) -> list[int]:
    """Store and enqueue one comment for the worker to process before a leg's clock starts."""
    from huiying.db import session_scope
    from huiying.queue import enqueue_comments
    from huiying.store import CommentData, upsert_comments

    title, body = title_body
    with session_scope(url) as session:
        warm = [row.comment_id for row in upsert_comments(session, source_id, [
            CommentData(external_id="warm", title=title, body=body)])]
    enqueue_comments(settings, warm)
    return warm


def _processed_all(engine) -> bool:
    """No comment of the database is left unprocessed."""
    from huiying.models import Comment

    with engine.connect() as db:
        return db.scalar(select(func.count()).select_from(Comment.__table__)
                         .where(Comment.__table__.c.processed_at.is_(None))) == 0


def _pipeline(env: dict[str, str], url: str, count: int, log: Path) -> dict:
    from huiying.db import session_scope
    from huiying.models import Notification
    from huiying.notify import scan
    from huiying.queue import BATCH, enqueue_comments
    from huiying.settings import load
    from huiying.store import CommentData, upsert_comments

    os.environ.update(env)
    settings = load()
    texts = _texts(count)
    engine = create_engine(url)
    with _worker(env, log) as process:
        # The worker up and warm before the clock starts, as in the other legs.
        _store_warm_up(url, settings, _board(url, "warm-board", "预热留言板"), texts[0])
        _wait(lambda: _processed_all(engine), "the worker to start", 120, process)
        source_id = _board(url, "bench-board", "压测留言板")
        start = time.perf_counter()
        for first in range(0, count, BATCH):
            with session_scope(url) as session:
                batch = upsert_comments(session, source_id, [
                    CommentData(external_id=str(n), title=title, body=body)
                    for n, (title, body) in enumerate(texts[first:first + BATCH], first)])
            enqueue_comments(settings, [row.comment_id for row in batch if row.needs_processing])
        stored = time.perf_counter()

        _wait(lambda: _processed_all(engine), "every comment to be processed", 1800, process)
        with session_scope(url) as session:
            created = scan(session, settings)
        end = time.perf_counter()
    with engine.connect() as db:
        cases = db.scalar(text('SELECT count(*) FROM "case"'))
        relevant = db.scalar(text("SELECT count(*) FROM comment WHERE relevant"))
        notifications = db.scalar(select(func.count()).select_from(Notification.__table__))
    engine.dispose()
    return {"comments": count, "store_seconds": round(stored - start, 2),
            "total_seconds": round(end - start, 2), "comments_per_s": round(count / (end - start), 1),
            "relevant": relevant, "cases": cases, "notifications": notifications,
            "notifications_created": created}


def _latency(env: dict[str, str], url: str, rate: int, seconds: float, log: Path) -> dict:
    from huiying.db import session_scope
    from huiying.models import Comment
    from huiying.queue import enqueue_comments
    from huiying.settings import load
    from huiying.store import CommentData, upsert_comments

    os.environ.update(env)
    settings = load()
    per_tick = max(1, round(rate * LATENCY_TICK))
    ticks = round(seconds / LATENCY_TICK)
    texts = _texts(per_tick * ticks, seed=11)
    engine = create_engine(url)
    stored_at: dict[int, float] = {}
    seen_at: dict[int, float] = {}
    comments = Comment.__table__

    with _worker(env, log) as process:
        source_id = _board(url, "latency-board", "时延留言板")
        # Only this board's comments: the throughput leg's are in the same database.
        processed = select(comments.c.id).where(comments.c.source_id == source_id,
                                                comments.c.processed_at.is_not(None))

        def poll() -> None:
            with engine.connect() as db:
                ids = db.scalars(processed).all()
            now = time.perf_counter()
            for comment_id in ids:
                seen_at.setdefault(comment_id, now)

        def seen(ids) -> bool:
            poll()
            return set(ids) <= seen_at.keys()

        warm = _store_warm_up(url, settings, source_id, texts[0])  # the worker up and warm first
        _wait(lambda: seen(warm), "the worker to start", 120, process)
        seen_at.clear()
        start = time.perf_counter()
        for tick in range(ticks):
            first = tick * per_tick
            with session_scope(url) as session:
                batch = upsert_comments(session, source_id, [
                    CommentData(external_id=f"l{n}", title=title, body=body)
                    for n, (title, body) in enumerate(texts[first:first + per_tick], first)])
            committed = time.perf_counter()
            ids = [row.comment_id for row in batch if row.needs_processing]
            stored_at.update((comment_id, committed) for comment_id in ids)
            enqueue_comments(settings, ids)
            poll()
            while time.perf_counter() < start + (tick + 1) * LATENCY_TICK:
                time.sleep(LATENCY_POLL)
                poll()
        _wait(lambda: seen(stored_at), "every comment of the latency leg to be processed", 600, process)
    engine.dispose()
    return _latencies("latency", [seen_at[i] - stored_at[i] for i in stored_at], rate)


def _latencies(prefix: str, latencies: list[float], rate: int) -> dict:
    latencies = sorted(latencies)
    return {f"{prefix}_comments": len(latencies), f"{prefix}_rate_per_s": rate,
            f"{prefix}_p50_s": round(latencies[len(latencies) // 2], 2),
            f"{prefix}_p95_s": round(latencies[int(len(latencies) * 0.95)], 2),
            f"{prefix}_max_s": round(latencies[-1], 2), f"{prefix}_target_p95_s": TARGET_P95_S}


@contextmanager
def _child(argv: list[str], env: dict[str, str], log: Path, stop_timeout: float = 60):
    """A child process with its output in `log`, stopped with SIGTERM (killed if it hangs)."""
    with open(log, "wb") as out:
        process = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            yield process
        finally:
            process.terminate()
            try:
                process.wait(timeout=stop_timeout)
            except subprocess.TimeoutExpired:
                process.kill()


@contextmanager
def _publishing_board(rate: int, seconds: float):
    """The bench board in publishing mode, in its own process; its URL."""
    process = subprocess.Popen([sys.executable, "-m", "crawler.demo.bench_board", "--warm", str(BOARD_WARM),
                                "--publish-rate", str(rate), "--publish-seconds", str(seconds)],
                               stdout=subprocess.PIPE, text=True)
    try:
        yield process.stdout.readline().strip()
    finally:
        process.terminate()
        process.wait(timeout=10)
        process.stdout.close()


def _write_board_source(env: dict[str, str], board: str, posts: int) -> None:
    import yaml

    from crawler.demo.bench_board import list_pages
    from huiying.cli.runner import demo_config

    config = demo_config(board).as_dict()
    config.update(name=BOARD_NAME, title="发布中的留言板（本机）", start_urls=[f"{board}/board?page=1"],
                  max_pages=list_pages(posts), follow_seconds=BOARD_POLL_SECONDS,
                  interval_minutes=60)  # no read of every page again during the leg
    sources = Path(env["HUIYING_DATA_DIR"]) / "sources"
    sources.mkdir(exist_ok=True)
    (sources / f"{BOARD_NAME}.yml").write_text(yaml.safe_dump(config, allow_unicode=True), "utf-8")


def _board_latency(env: dict[str, str], url: str, rate: int, seconds: float, logs: Path) -> dict:
    import urllib.request

    from huiying.models import Comment, Source

    total = round(rate * seconds)
    comments = Comment.__table__
    engine = create_engine(url)
    seen_at: dict[int, float] = {}
    with _publishing_board(rate, seconds) as board:
        _write_board_source(env, board, BOARD_WARM + total)
        with _worker(env, logs / "worker-board.log") as worker, _child(
                [sys.executable, "-m", "huiying", "crawl", "--follow", BOARD_NAME, "--bench-unthrottled"],
                env, logs / "follow-board.log") as follower:

            def poll() -> int:
                with engine.connect() as db:
                    numbers = db.scalars(select(comments.c.external_id).join(Source.__table__).where(
                        Source.__table__.c.name == BOARD_NAME, comments.c.processed_at.is_not(None))).all()
                now = time.time()  # the board's clock: the same machine's
                for number in numbers:
                    seen_at.setdefault(int(number), now)
                return len(seen_at)

            _wait(lambda: poll() >= BOARD_WARM, "the follower and the worker to start", 120, worker, follower)
            with urllib.request.urlopen(f"{board}/publish", timeout=10) as response:  # noqa: S310 - loopback
                started = float(response.read())
            _wait(lambda: poll() >= BOARD_WARM + total,
                  "every post of the board to be processed", 600, worker, follower)
    engine.dispose()
    published = {BOARD_WARM + k: started + (k - 1) / rate for k in range(1, total + 1)}
    return {**_latencies("board_latency", [seen_at[n] - at for n, at in published.items()], rate),
            "board_poll_seconds": BOARD_POLL_SECONDS}


def bench_pipeline(machine: dict) -> dict:
    url = os.environ.get("HUIYING_BENCH_PIPELINE_DATABASE_URL", DEFAULT_URL)
    broker = os.environ.get("HUIYING_BENCH_REDIS_URL", DEFAULT_REDIS)
    count = int(os.environ.get("HUIYING_BENCH_COMMENTS", COMMENTS))
    redis.Redis.from_url(broker).flushdb()
    _recreate(url)
    with tempfile.TemporaryDirectory(prefix="huiying-bench-pipeline-") as tmp:
        env = _env(url, broker, tmp)
        subprocess.run([sys.executable, "-m", "huiying", "db", "upgrade"], env=env, check=True,
                       capture_output=True)
        noop = _baseline(env, broker, count, Path(tmp, "worker-noop.log"))
        redis.Redis.from_url(broker).flushdb()
        pipeline = _pipeline(env, url, count, Path(tmp, "worker-pipeline.log"))
        rate = int(os.environ.get("HUIYING_BENCH_LATENCY_RATE", LATENCY_RATE))
        latency = _latency(env, url, rate, LATENCY_SECONDS, Path(tmp, "worker-latency.log"))
        board = _board_latency(env, url, rate, LATENCY_SECONDS, Path(tmp))
    return {"suite": "pipeline", "worker_concurrency": WORKER_CONCURRENCY, **pipeline, **latency, **board,
            "baseline_noop_tasks_per_s": round(noop, 1),
            "ratio_to_noop": round(pipeline["comments_per_s"] / noop, 2),
            "target_comments_per_s": TARGET_PER_S, **machine}
