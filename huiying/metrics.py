"""What Prometheus scrapes at /metrics: the installation's state of record, read from the
database (and the broker's queue lengths) at each scrape, so every web process on every host
answers the same and nothing is lost when a process restarts.

Counters are totals of stored rows — Prometheus's `rate()` turns them into per-second figures
(`rate(huiying_comments_processed_total[5m])` is comments analysed per second). Pure reading.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterator
from datetime import datetime, timedelta

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from huiying.crawl_health import health
from huiying.heartbeat import SCHEDULER, last_beat
from huiying.models import Case, Comment, Notification, utcnow
from huiying.workflow import OPEN_STATUSES, overdue

LATENCY_WINDOW = timedelta(minutes=15)
LATENCY_SAMPLE = 5000  # the newest processed comments of the window, at most


def collect(session: Session, queue_depths: dict[str, int | None], now: datetime | None = None
            ) -> Iterator[Metric]:
    """Every metric family; `queue_depths`: messages waiting per queue (None: unknown, the
    broker could not be asked)."""
    now = now or utcnow()
    stored = session.scalar(select(func.count()).select_from(Comment)) or 0
    waiting = session.scalar(select(func.count()).select_from(Comment)
                             .where(Comment.processed_at.is_(None))) or 0
    failed = session.scalar(select(func.count()).select_from(Comment)
                            .where(Comment.analysis_error.is_not(None))) or 0
    yield _counter("huiying_comments_stored", "Comments stored (crawled or imported).", stored)
    yield _counter("huiying_comments_processed", "Comments analysed.", stored - waiting)
    yield _counter("huiying_analysis_failures", "Comments whose analysis failed (kept, marked).", failed)
    yield _gauge("huiying_comments_waiting", "Stored comments not analysed yet.", waiting)

    latency = GaugeMetricFamily(
        "huiying_processing_latency_seconds",
        f"Seconds from stored to analysed, comments analysed in the last {LATENCY_WINDOW.seconds // 60} min.",
        labels=["quantile"])
    seconds = [(done - stored_at).total_seconds() for done, stored_at in session.execute(
        select(Comment.processed_at, Comment.fetched_at)
        .where(Comment.processed_at >= now - LATENCY_WINDOW)
        .order_by(Comment.processed_at.desc()).limit(LATENCY_SAMPLE))]
    if seconds:
        p95 = statistics.quantiles(seconds, n=20, method="inclusive")[18] if len(seconds) > 1 else seconds[0]
        latency.add_metric(["0.5"], statistics.median(seconds))
        latency.add_metric(["0.95"], p95)
    yield latency
    yield _gauge("huiying_processing_latency_sample", "Comments the latency quantiles are taken over.",
                 len(seconds))

    queue = GaugeMetricFamily("huiying_queue_depth", "Messages waiting in a broker queue.", labels=["queue"])
    for name, depth in queue_depths.items():
        if depth is not None:
            queue.add_metric([name], depth)
    yield queue
    yield _gauge("huiying_broker_up", "1 when the broker answered this scrape.",
                 int(all(depth is not None for depth in queue_depths.values())))

    yield _gauge("huiying_cases_open", "Cases not closed, set aside or merged.",
                 session.scalar(select(func.count()).select_from(Case)
                                .where(Case.status.in_(list(OPEN_STATUSES)))) or 0)
    yield _gauge("huiying_cases_overdue", "Cases awaiting an answer past their due time.",
                 session.scalar(select(func.count()).select_from(Case).where(overdue(now))) or 0)

    notifications = GaugeMetricFamily(
        "huiying_notifications", "Notification rows by channel (email, wecom, dingtalk, inapp), kind and "
        "status (sent, pending, failed; an in-app row is sent when made).",
        labels=["channel", "kind", "status"])
    for channel, kind, status, count in session.execute(
            select(Notification.channel, Notification.kind, Notification.status, func.count())
            .group_by(Notification.channel, Notification.kind, Notification.status)
            .order_by(Notification.channel, Notification.kind, Notification.status)):
        notifications.add_metric([channel, kind, status], count)
    yield notifications

    yield from _crawl(session, now)

    scheduler = last_beat(session, SCHEDULER)
    yield _gauge("huiying_scheduler_heartbeat_age_seconds", "Seconds since the scheduler's last "
                 "heartbeat (absent: it never ran).",
                 None if scheduler is None else (now - scheduler.at).total_seconds())


def _crawl(session: Session, now: datetime) -> Iterator[Metric]:
    sources = health(session)
    families = {
        "items": GaugeMetricFamily("huiying_crawl_last_items", "Comments read by the source's last crawl.",
                                   labels=["source"]),
        "errors": GaugeMetricFamily("huiying_crawl_last_errors", "Errors of the source's last crawl.",
                                    labels=["source"]),
        "age": GaugeMetricFamily("huiying_crawl_last_run_age_seconds", "Seconds since the source's last "
                                 "crawl started.", labels=["source"]),
        "seconds": GaugeMetricFamily("huiying_crawl_last_duration_seconds", "How long the source's last "
                                     "crawl took.", labels=["source"]),
        "incident": GaugeMetricFamily("huiying_crawl_incident", "1 while the source has an incident "
                                      "(empty, failing, robots).", labels=["source", "kind"]),
    }
    total = CounterMetricFamily("huiying_crawl_errors", "Crawl errors recorded against the source.",
                                labels=["source"])
    for source in sources:
        total.add_metric([source.name], source.errors_total)
        if source.last_started_at is None:
            continue
        families["items"].add_metric([source.name], source.last_items or 0)
        families["errors"].add_metric([source.name], source.last_errors or 0)
        families["age"].add_metric([source.name], (now - source.last_started_at).total_seconds())
        families["seconds"].add_metric([source.name], source.last_seconds or 0)
        if source.incident is not None:
            families["incident"].add_metric([source.name, source.incident.kind], 1)
    yield total
    yield from families.values()


def _counter(name: str, documentation: str, value: float) -> CounterMetricFamily:
    return CounterMetricFamily(name, documentation, value=value)


def _gauge(name: str, documentation: str, value: float | None) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, documentation)
    if value is not None:
        family.add_metric([], value)
    return family
