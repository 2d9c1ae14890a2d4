"""The Celery configuration every process shares, and enqueueing by task name.

Producers (crawler, CLI, dashboard) send by name, so they need not import the worker.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from urllib.parse import urlsplit

from celery import Celery

from huiying.settings import Settings

PROCESS_COMMENTS = "worker.tasks.process_comments"
RECLASSIFY_TOPICS = "worker.tasks.reclassify_topics"
BATCH = 100

# Three queues, so slow work never holds the slot fast work needs: a 30-minute crawl waits on
# its own queue, and analysis and mail go on (docs/operations.md, "Workers and queues").
ANALYSIS, CRAWL, MAIL = "analysis", "crawl", "mail"
QUEUES = (ANALYSIS, CRAWL, MAIL)
TASK_QUEUES = {
    "worker.tasks.process_comments": ANALYSIS,
    "worker.tasks.sweep_unprocessed": ANALYSIS,
    "worker.tasks.reclassify_topics": ANALYSIS,
    # The scheduling tick is quick (claim due sources, enqueue them): not behind a crawl.
    "worker.tasks.crawl_due_sources": ANALYSIS,
    "worker.tasks.crawl_source": CRAWL,
    "worker.tasks.scan_notifications": MAIL,
    "worker.tasks.send_notifications": MAIL,
    # `huiying bench pipeline`'s baseline: measured on the queue the comments go through.
    "worker.tasks.bench_noop": ANALYSIS,
}
FILESYSTEM_FOLDERS = ("queue", "processed", "control")


def celery_config(settings: Settings) -> dict:
    config: dict = {
        "broker_url": settings.broker_url,
        "task_ignore_result": True,
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "timezone": settings.timezone,
        "broker_connection_retry_on_startup": True,
        "task_serializer": "json",
        "accept_content": ["json"],
        "task_default_queue": ANALYSIS,
        "task_routes": {name: {"queue": queue} for name, queue in TASK_QUEUES.items()},
    }
    if settings.broker_url.startswith("filesystem"):
        for name in FILESYSTEM_FOLDERS:
            settings.broker_dir.joinpath(name).mkdir(parents=True, exist_ok=True)
        folder = str(settings.broker_dir / "queue")
        # kombu warns on every pooled connection of a URL without a host; the file transport
        # ignores the host, so name one.
        if urlsplit(settings.broker_url).hostname is None:
            config["broker_url"] = "filesystem://localhost/"
        config["broker_transport_options"] = {
            "data_folder_in": folder,
            "data_folder_out": folder,
            "processed_folder": str(settings.broker_dir / "processed"),
            "store_processed": False,
            # The exchange → queue bindings; kombu's default is `control/` in the current
            # directory, which producers and workers started elsewhere would not share.
            "control_folder": str(settings.broker_dir / "control"),
        }
        # The file transport has no broadcast: no remote control, gossip or mingle.
        config["worker_enable_remote_control"] = False
    return config


@cache
def producer(settings: Settings) -> Celery:
    app = Celery("huiying-producer")
    app.conf.update(celery_config(settings))
    return app


def enqueue_comments(settings: Settings, ids: Iterable[int]) -> int:
    """Send comment ids in batches; call only after the rows are committed."""
    ids = list(ids)
    app = producer(settings)
    for start in range(0, len(ids), BATCH):
        app.send_task(PROCESS_COMMENTS, args=[ids[start:start + BATCH]])
    return len(ids)


def enqueue_reclassify_topics(settings: Settings) -> bool:
    """Ask a worker to re-classify the stored comments after a topic edit; call after the
    edit is committed. False when the broker cannot be reached (the edit stands; then
    `huiying topics reclassify` does the same work)."""
    from kombu.exceptions import OperationalError

    try:
        producer(settings).send_task(RECLASSIFY_TOPICS, retry_policy={"max_retries": 1})
    except (OperationalError, OSError):
        return False
    return True


def check_broker(settings: Settings, timeout: float = 3.0) -> None:
    """Fail with one sentence naming the setting when the broker cannot be reached."""
    from huiying.errors import SettingsError
    from huiying.settings import mask_url

    try:
        with producer(settings).connection_for_write() as connection:
            connection.ensure_connection(max_retries=1, timeout=timeout)
    except Exception as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise SettingsError(
            f"HUIYING_BROKER_URL: cannot reach {mask_url(settings.broker_url)} ({reason}); "
            "start the broker or fix the setting."
        ) from None


def queue_depths(settings: Settings, timeout: float = 2.0) -> dict[str, int | None]:
    """Messages waiting in each queue, as the broker counts them (Redis: the list's length; the
    file transport: its files); every value None when the broker cannot be asked."""
    from amqp.exceptions import NotFound
    from kombu.exceptions import ChannelError

    try:
        with producer(settings).connection_for_read() as connection:
            connection.ensure_connection(max_retries=1, timeout=timeout)
            channel = connection.default_channel
            depths: dict[str, int | None] = {}
            for name in QUEUES:
                try:
                    depths[name] = channel.queue_declare(queue=name, passive=True).message_count
                except (ChannelError, NotFound):
                    depths[name] = 0  # never declared: nothing was ever sent to it
            return depths
    except Exception:
        return {name: None for name in QUEUES}


def parse_queues(value: str) -> list[str]:
    """`--queues analysis,mail` → the names, checked; one sentence on a typo."""
    from huiying.errors import InputError

    names = [n.strip() for n in value.split(",") if n.strip()]
    unknown = [n for n in names if n not in QUEUES]
    if unknown or not names:
        raise InputError(f"unknown queue {', '.join(unknown) or '(none)'}; "
                         f"the queues are {', '.join(QUEUES)}.")
    return list(dict.fromkeys(names))
