"""`huiying bench pipeline`: comments stored → analysed, folded into cases, routed and
notified, on PostgreSQL + Redis with real worker processes, beside the rate of a Celery +
Redis no-op task (one task per message) measured in the same run with the same worker.

The pipeline leg stores COMMENTS comments the way `huiying import` does (committed in
batches, each batch's ids enqueued at once), with real worker processes consuming the
analysis queue, and ends when every comment is processed and one notification scan has
turned the new cases into rows. The baseline sends COMMENTS no-op tasks (each increments a
Redis counter) to the same worker command and ends when all have run.

The latency leg stores LATENCY_RATE comments a second for LATENCY_SECONDS (a batch every
0.1 s, each enqueued as it commits) to a fresh worker, and takes each comment's latency from
its batch's commit to the first poll (every 0.05 s) that sees it processed: its case open or
joined, or it judged irrelevant. The worker has processed one comment before the clock
starts. It starts at the store, not on a board: the crawl before it (a `huiying crawl`
process per source and interval) is not in it.
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


@contextmanager
def _worker(env: dict[str, str], log: Path):
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "huiying", "worker", "--concurrency", str(WORKER_CONCURRENCY),
             "--queues", "analysis"], env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            yield process
        finally:
            process.terminate()
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()


def _wait(done, what: str, timeout: float, process) -> float:
    start = time.perf_counter()
    while not done():
        if process.poll() is not None:
            raise RuntimeError(f"the worker exited ({process.returncode}) while waiting for {what}")
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


def _pipeline(env: dict[str, str], url: str, count: int, log: Path) -> dict:
    from huiying.db import session_scope
    from huiying.models import Comment, Notification
    from huiying.notify import scan
    from huiying.queue import BATCH, enqueue_comments
    from huiying.settings import load
    from huiying.store import CommentData, upsert_comments

    os.environ.update(env)
    settings = load()
    texts = _texts(count)
    engine = create_engine(url)
    with _worker(env, log) as process:
        source_id = _board(url, "bench-board", "压测留言板")
        start = time.perf_counter()
        for first in range(0, count, BATCH):
            with session_scope(url) as session:
                batch = upsert_comments(session, source_id, [
                    CommentData(external_id=str(n), title=title, body=body)
                    for n, (title, body) in enumerate(texts[first:first + BATCH], first)])
            enqueue_comments(settings, [row.comment_id for row in batch if row.needs_processing])
        stored = time.perf_counter()

        def processed() -> bool:
            with engine.connect() as db:
                return db.scalar(select(func.count()).select_from(Comment.__table__)
                                 .where(Comment.__table__.c.processed_at.is_(None))) == 0

        _wait(processed, "every comment to be processed", 1800, process)
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

        with session_scope(url) as session:  # the worker up and warm before the clock starts
            warm = [row.comment_id for row in upsert_comments(session, source_id, [
                CommentData(external_id="warm", title=texts[0][0], body=texts[0][1])])]
        enqueue_comments(settings, warm)
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
    latencies = sorted(seen_at[i] - stored_at[i] for i in stored_at)
    return {"latency_comments": len(latencies), "latency_rate_per_s": rate,
            "latency_p50_s": round(latencies[len(latencies) // 2], 2),
            "latency_p95_s": round(latencies[int(len(latencies) * 0.95)], 2),
            "latency_max_s": round(latencies[-1], 2), "latency_target_p95_s": TARGET_P95_S}


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
    return {"suite": "pipeline", "worker_concurrency": WORKER_CONCURRENCY, **pipeline, **latency,
            "baseline_noop_tasks_per_s": round(noop, 1),
            "ratio_to_noop": round(pipeline["comments_per_s"] / noop, 2),
            "target_comments_per_s": TARGET_PER_S, **machine}
