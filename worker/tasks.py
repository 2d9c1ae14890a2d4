"""Thin, idempotent tasks: arguments are ids, the work is in huiying.cases, .topics and .notify."""

from __future__ import annotations

import logging
import subprocess
import sys
from datetime import datetime, timedelta

from sqlalchemy.exc import OperationalError

from huiying.cases import installation_relevance, installation_router, unprocessed_ids
from huiying.cases import process_comments as process_comment_ids
from huiying.db import session_scope
from huiying.hot_terms import count_uncounted
from huiying.models import utcnow
from huiying.notify import scan, send_pending
from huiying.queue import BATCH
from huiying.sources import claim_crawl, due_unclaimed, release_crawl
from huiying.topics import reclassify_topics as reclassify_stored_topics
from worker.app import app, settings

log = logging.getLogger(__name__)
CRAWL_TIMEOUT_SECONDS = 30 * 60  # below huiying.sources.CLAIM_STALE_AFTER


@app.task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True,
          retry_jitter=True, max_retries=5)
def process_comments(ids: list[int]) -> int:
    with session_scope(settings.database_url) as session:
        return process_comment_ids(session, ids, engine=settings.sentiment_engine,
                                   router=installation_router(settings.data_dir),
                                   relevance=installation_relevance(settings.data_dir),
                                   tz=settings.timezone)


@app.task(acks_late=True)
def sweep_unprocessed() -> int:
    """Re-enqueue what is stored but not processed: a lost message loses nothing.

    Only comments stored longer ago than the grace period (HUIYING_SWEEP_GRACE): the newer
    ones' messages are still on their way, and sweeping them would process them twice over.
    """
    grace = timedelta(seconds=settings.sweep_grace_seconds)
    with session_scope(settings.database_url) as session:
        ids = unprocessed_ids(session, stored_before=utcnow() - grace)
    for start in range(0, len(ids), BATCH):
        process_comments.delay(ids[start:start + BATCH])
    if ids:
        log.info("sweep re-enqueued %d unprocessed comments", len(ids))
    # Also count the hot-word terms of relevant comments left uncounted (a relevance correction
    # of a comment never segmented: the dashboard does not run jieba).
    with session_scope(settings.database_url) as session:
        counted = count_uncounted(session, settings.timezone)
    if counted:
        log.info("sweep counted the hot-word terms of %d comments", counted)
    return len(ids)


@app.task(acks_late=True)
def crawl_due_sources() -> list[str]:
    """Claim every enabled source whose interval has passed, then queue its crawl.

    The claim (Source.crawl_started_at, set atomically) comes first, so the next tick, a
    second scheduler or `huiying crawl` never starts the same source again meanwhile.
    """
    now = utcnow()
    with session_scope(settings.database_url) as session:
        claimed = claim_crawl(session, due_unclaimed(session, now, settings.crawl_interval_minutes), now)
    for name in claimed:
        crawl_source.delay(name, now.isoformat())
    return claimed


@app.task(acks_late=True)
def crawl_source(name: str, claimed_at: str) -> int:
    """Crawl one source in a process of its own (Twisted's reactor cannot restart in a worker);
    on the crawl queue, so it holds no slot analysis or mail needs."""
    started = datetime.fromisoformat(claimed_at)
    try:
        result = subprocess.run([sys.executable, "-m", "huiying", "crawl", name, "--claimed-at", claimed_at],
                                capture_output=True, text=True, timeout=CRAWL_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        log.error("crawl of %s stopped after %d s", name, CRAWL_TIMEOUT_SECONDS)
        return -1
    finally:
        with session_scope(settings.database_url) as session:
            release_crawl(session, [name], started)  # also when the crawl process died
    if result.returncode != 0:
        log.error("crawl of %s failed: %s", name, result.stderr.strip()[-2000:])
    return result.returncode


@app.task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True,
          retry_jitter=True, max_retries=5)
def reclassify_topics() -> dict[str, int]:
    """After a topic edit: the stored comments and their cases get the current topics."""
    with session_scope(settings.database_url) as session:
        summary = reclassify_stored_topics(session, router=installation_router(settings.data_dir))
    log.info("topics re-classified: %s", summary)
    if summary["comments_reanalysed"]:
        # The comments a new topic word made relevant become cases now, without waiting for
        # the sweep's grace period (processing skips what is already done, so nothing doubles).
        with session_scope(settings.database_url) as session:
            ids = unprocessed_ids(session)
        for start in range(0, len(ids), BATCH):
            process_comments.delay(ids[start:start + BATCH])
    return summary


@app.task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True,
          retry_jitter=True, max_retries=5)
def scan_notifications() -> dict[str, int]:
    """Turn new facts (assignments, alerts, spikes, deadlines, the daily briefing) into rows."""
    with session_scope(settings.database_url) as session:
        created = scan(session, settings)
    if any(created.values()):
        send_notifications.delay()  # at once, not at the next beat
    return created


@app.task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True,
          retry_jitter=True, max_retries=5)
def send_notifications() -> dict[str, int]:
    """Send the notification rows that are due; failures back off in the rows themselves."""
    with session_scope(settings.database_url) as session:
        return send_pending(session, settings)


@app.task
def bench_noop(counter: str) -> None:
    """`huiying bench pipeline`'s baseline: the least a task can do (one Redis increment), so
    one task per message through this worker is the rate the pipeline is compared with."""
    import redis

    redis.Redis.from_url(settings.broker_url).incr(counter)
