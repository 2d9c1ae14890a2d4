"""The scheduler `huiying scheduler` runs: celery beat's own, beating a heartbeat from its
loop so /readyz can tell a stopped scheduler (no sweeps, no crawls, no notifications) from a
quiet one."""

from __future__ import annotations

import logging
import time

from celery.beat import PersistentScheduler

from huiying.db import session_scope
from huiying.heartbeat import BEAT_EVERY, SCHEDULER, beat
from worker.app import settings

log = logging.getLogger("worker.beat")


class HeartbeatScheduler(PersistentScheduler):
    _last_beat = 0.0

    def tick(self, *args, **kwargs):
        if time.monotonic() - self._last_beat >= BEAT_EVERY.total_seconds():
            try:
                with session_scope(settings.database_url) as session:
                    beat(session, SCHEDULER)
                self._last_beat = time.monotonic()
            except Exception as exc:  # the database is down: schedule on, say so, beat again later
                log.warning("scheduler heartbeat not recorded: %s", exc)
        return min(super().tick(*args, **kwargs), BEAT_EVERY.total_seconds())
