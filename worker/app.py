"""The Celery app: `celery -A worker.app worker` or `huiying worker`."""

from __future__ import annotations

import logging
import os
import time
from datetime import timedelta

from celery import Celery
from celery.signals import worker_process_init

from huiying import settings as settings_module
from huiying.db import dispose_all
from huiying.queue import celery_config
from huiying.settings import Settings

log = logging.getLogger("worker")


def create_celery(settings: Settings) -> Celery:
    app = Celery("huiying", include=["worker.tasks"])
    app.conf.update(celery_config(settings))
    app.conf.beat_schedule = {
        "sweep-unprocessed": {
            "task": "worker.tasks.sweep_unprocessed",
            "schedule": timedelta(seconds=settings.sweep_interval_seconds),
            # After an outage do not replay a backlog of stale sweeps.
            "options": {"expires": settings.sweep_interval_seconds},
        },
        "crawl-due-sources": {
            "task": "worker.tasks.crawl_due_sources",
            "schedule": timedelta(seconds=60),
            "options": {"expires": 60},
        },
        # Notifications are rows: a skipped run only delays them to the next one.
        "scan-notifications": {
            "task": "worker.tasks.scan_notifications",
            "schedule": timedelta(seconds=60),
            "options": {"expires": 60},
        },
        "send-notifications": {
            "task": "worker.tasks.send_notifications",
            "schedule": timedelta(seconds=60),
            "options": {"expires": 60},
        },
    }
    return app


# Whether this worker's processes segment text (processing a comment counts its hot-word
# terms): set by `huiying worker` from its queues before the pool forks.
WARM_SEGMENTER = True


def warm_up_analysis() -> None:
    """Build jieba's dictionary (about a second of CPU) and load the analysis models: `huiying
    worker` does it before the pool forks, so each pool process starts with them (shared,
    copy-on-write) instead of building its own; in a pool process it is then a no-op."""
    from analysis import analyse_many
    from analysis.hotwords import warm_up

    start = time.perf_counter()
    warm_up()
    analyse_many([("", "学校")])
    log.info("process %d: jieba segmenter and analysis models ready in %.2f s", os.getpid(),
             time.perf_counter() - start)


@worker_process_init.connect
def _fresh_process(**_kwargs) -> None:
    # No database connection may cross a fork.
    dispose_all()
    if WARM_SEGMENTER:  # ready before a task waits (built here when the parent did not)
        warm_up_analysis()


# Settings come from the environment, fixed for the life of the process: read them once.
settings = settings_module.load()
app = create_celery(settings)
