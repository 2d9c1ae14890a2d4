"""The in-app channel: a row per user account, delivered when created (huiying/notify/scan.py),
read on the 通知 page (dashboard/notifications.py), `read_at` set when the user marks it read."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from huiying.models import Notification
from huiying.notify.kinds import OUTGOING, Channel


def _own(user_id: int):
    return (Notification.channel == Channel.INAPP, Notification.user_id == user_id)


def latest(session: Session, user_id: int, limit: int, unread_only: bool = False) -> list[Notification]:
    """The user's newest in-app rows first."""
    query = select(Notification).where(*_own(user_id))
    if unread_only:
        query = query.where(Notification.read_at.is_(None))
    return list(session.scalars(query.order_by(Notification.id.desc()).limit(limit)))


def unread(session: Session, user_id: int) -> int:
    return session.scalar(select(func.count(Notification.id))
                          .where(*_own(user_id), Notification.read_at.is_(None))) or 0


def mark_read(session: Session, user_id: int, now: datetime, notification_id: int | None = None) -> int:
    """Mark one of the user's rows (or all of them) read; returns how many changed. Another
    user's row is never touched: the query names the user."""
    query = update(Notification).where(*_own(user_id), Notification.read_at.is_(None))
    if notification_id is not None:
        query = query.where(Notification.id == notification_id)
    return session.execute(query.values(read_at=now).execution_options(synchronize_session=False)).rowcount


def other_channels(session: Session, facts: list[str]) -> dict[str, dict[str, Counter]]:
    """For each fact: the outgoing channels' rows by status ({"email": {"sent": 2, …}, …})."""
    found: dict[str, dict[str, Counter]] = {}
    for start in range(0, len(facts), 500):
        rows = session.execute(
            select(Notification.fact, Notification.channel, Notification.status, func.count(Notification.id))
            .where(Notification.fact.in_(facts[start:start + 500]), Notification.channel.in_(list(OUTGOING)))
            .group_by(Notification.fact, Notification.channel, Notification.status))
        for fact, channel, status, n in rows:
            found.setdefault(fact, {}).setdefault(channel, Counter())[status] += n
    return found
