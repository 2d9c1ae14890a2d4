"""Signs of life of the processes that must be running, kept in the database so that every
web process on every host sees them (`/readyz`).

The scheduler (celery beat, exactly one per installation) beats from its scheduling loop
(worker/beat.py), at least every BEAT_EVERY; it is taken for stopped when its last beat is
older than STALE_AFTER — its loop wakes at least once a minute, for the minute's tasks.
"""

from __future__ import annotations

import socket
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from huiying.models import Heartbeat, utcnow

SCHEDULER = "scheduler"
BEAT_EVERY = timedelta(seconds=15)
STALE_AFTER = timedelta(minutes=3)


def beat(session: Session, name: str, now: datetime | None = None) -> None:
    """Record that `name` is alive now, on this host (in the caller's transaction)."""
    row = session.get(Heartbeat, name) or Heartbeat(name=name)
    row.at, row.host = now or utcnow(), socket.gethostname()[:200]
    session.add(row)


def last_beat(session: Session, name: str) -> Heartbeat | None:
    return session.scalar(select(Heartbeat).where(Heartbeat.name == name))


def alive(row: Heartbeat | None, now: datetime | None = None) -> bool:
    return row is not None and (now or utcnow()) - row.at <= STALE_AFTER
