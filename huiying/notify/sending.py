"""Rows become messages: pending → sent, or retried with backoff, or failed; each row once.

`send_pending` goes through the outgoing channels (email, the group robots) one after the
other. A row is committed as soon as its fate is known, so a crash never sends a row twice.
When a channel's server cannot be reached, every due row of that channel counts a failed
attempt marked `outage` and backs off; a probe finds the server back and releases them, so they
go at once instead of after their backoff. Nothing here sleeps or waits on the broker.
"""

from __future__ import annotations

import logging
from collections import Counter
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from huiying.models import Case, Notification, utcnow
from huiying.notify.channels import Connection, Driver, Failed, Unreachable, drivers
from huiying.notify.kinds import ASKS_FOR_ACTION, OUTGOING, Channel
from huiying.settings import Settings
from huiying.workflow import DONE_STATUSES

log = logging.getLogger(__name__)

# Retries after 1, 2, 4, 8 and 16 minutes; the sixth failure gives up.
MAX_ATTEMPTS = 6
FIRST_RETRY = timedelta(minutes=1)
SEND_BATCH = 200

_warned: set[str] = set()  # channels whose missing setting was logged, once per process


def send_pending(session: Session, settings: Settings, now: datetime | None = None,
                 limit: int = SEND_BATCH) -> dict[str, int]:
    """Send the pending rows that are due; return how many were sent, will retry, gave up."""
    now = now or utcnow()
    result = {"sent": 0, "retrying": 0, "failed": 0, "skipped": 0}
    for driver in drivers():
        if driver.configured(settings):
            _send_channel(session, settings, driver, now, limit, result)
        elif driver.channel not in _warned and session.scalar(
                _due_query(session, now, driver.channel).limit(1)) is not None:
            log.warning("%s is not set: %s notifications stay pending until it is.",
                        driver.setting, driver.channel)
            _warned.add(driver.channel)
    if any(result.values()):
        log.info("notifications: %s", result)
    return result


def _send_channel(session: Session, settings: Settings, driver: Driver, now: datetime, limit: int,
                  result: dict[str, int]) -> None:
    channel = driver.channel
    connection: Connection | None = None
    tried: list[int] = []
    if _outage_waiting(session, now, channel) and session.scalar(
            _due_query(session, now, channel).limit(1)) is None:
        # Rows back off for minutes after an outage; probe the server so they go once it is back.
        if not driver.probe(settings):
            return  # still down: a probe is not an attempt of any row
        release(session, now, unreachable_only=True, channel=channel)
        session.commit()
    try:
        while len(tried) < limit:
            query = _due_query(session, now, channel)
            if tried:
                query = query.where(Notification.id.not_in(tried))
            row = session.scalar(query.limit(1))
            if row is None:
                break
            tried.append(row.id)
            if _outdated(session, row):
                row.status, row.next_attempt_at = "skipped", None
                result["skipped"] += 1
                session.commit()
                continue
            try:
                if connection is None:
                    connection = driver.open(session, settings, now)
                    # The server is back: what waited out the outage goes now, not after its backoff.
                    release(session, now, unreachable_only=True, channel=channel)
                connection.send(row)
            except Unreachable as exc:
                # No server, no message: every due row counts one failed attempt and backs off.
                others = _due_query(session, now, channel).where(Notification.id != row.id).limit(limit - 1)
                for waiting in [row, *session.scalars(others)]:
                    result[_failed(waiting, str(exc), now, outage=True)] += 1
                session.commit()
                break
            except Failed as exc:
                result[_failed(row, str(exc), now, permanent=exc.permanent)] += 1
                if exc.reconnect and connection is not None:
                    connection.close()
                    connection = None  # connect again for the next row
            else:
                row.status, row.sent_at, row.attempts = "sent", now, row.attempts + 1
                row.last_error, row.next_attempt_at, row.outage = None, None, False
                result["sent"] += 1
            session.commit()  # one row at a time: a crash never sends a row twice
    finally:
        if connection is not None:
            connection.close()


def _outdated(session: Session, row: Notification) -> bool:
    """A request to act on a case that is done by now (rows wait while a channel is down or unset)."""
    if row.kind not in ASKS_FOR_ACTION or row.case_id is None:
        return False
    case = session.get(Case, row.case_id)
    return case is None or case.status in DONE_STATUSES


def _due_query(session: Session, now: datetime, channel: Channel):
    query = (select(Notification)
             .where(Notification.channel == channel, Notification.status == "pending",
                    or_(Notification.next_attempt_at.is_(None), Notification.next_attempt_at <= now))
             .order_by(Notification.id))
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)  # two senders never share a row
    return query


def release(session: Session, now: datetime, unreachable_only: bool = False,
            include_failed: bool = False, channel: Channel | None = None) -> dict[str, int]:
    """Make waiting rows due now (of one channel, or of all); with `include_failed` also give
    up-for-good rows a new series of attempts. Returns how many rows of each were released."""
    channels = [channel] if channel else list(OUTGOING)
    waiting = (update(Notification)
               .where(Notification.channel.in_(channels), Notification.status == "pending",
                      Notification.next_attempt_at > now)
               .values(next_attempt_at=now))
    if unreachable_only:
        waiting = waiting.where(Notification.outage.is_(True))
    released = {"waiting": session.execute(waiting.execution_options(synchronize_session=False)).rowcount}
    if include_failed:
        failed = (update(Notification).where(Notification.channel.in_(channels),
                                             Notification.status == "failed")
                  .values(status="pending", attempts=0, next_attempt_at=now)
                  .execution_options(synchronize_session=False))
        released["failed"] = session.execute(failed).rowcount
    return released


def _outage_waiting(session: Session, now: datetime, channel: Channel) -> bool:
    return session.scalar(select(Notification.id).where(
        Notification.channel == channel, Notification.status == "pending",
        Notification.next_attempt_at > now, Notification.outage.is_(True)).limit(1)) is not None


def _failed(row: Notification, reason: str, now: datetime, outage: bool = False,
            permanent: bool = False) -> str:
    row.attempts += 1
    row.last_error, row.outage = reason[:2000], outage
    if permanent or row.attempts >= MAX_ATTEMPTS:
        row.status, row.next_attempt_at = "failed", None
        log.error("notification %s (%s) to %s failed after %d attempts, giving up: %s",
                  row.id, row.channel, row.recipient, row.attempts, row.last_error)
        return "failed"
    row.next_attempt_at = now + FIRST_RETRY * 2 ** (row.attempts - 1)
    log.warning("notification %s (%s) to %s failed (attempt %d), retrying at %s: %s", row.id, row.channel,
                row.recipient, row.attempts, row.next_attempt_at.isoformat(), row.last_error)
    return "retrying"


def counts(session: Session) -> dict[str, int]:
    """Outgoing rows (email and group robots) by status: pending, sent, failed."""
    found = Counter(dict(session.execute(
        select(Notification.status, func.count(Notification.id))
        .where(Notification.channel.in_(list(OUTGOING))).group_by(Notification.status)).all()))
    return {status: found[status] for status in ("pending", "sent", "failed")}
