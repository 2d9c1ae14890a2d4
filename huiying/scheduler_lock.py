"""Exactly one scheduler per installation: `huiying scheduler` holds a lock while celery beat runs.

On PostgreSQL the lock is a session-level advisory lock (`pg_try_advisory_lock`) on a
connection of its own, held for the life of the process: the server frees it when that
connection ends, so a scheduler that dies, or whose host drops off the network, frees it for
a standby. On SQLite (one machine) it is an OS file lock (`flock`) on `scheduler.lock` in the
data directory, freed by the kernel when the process ends.

A second scheduler logs one line ("another scheduler holds the lock; standing by") and tries
again every POLL_SECONDS; it starts beat when the lock is free. The holder checks its lock
connection every CHECK_SECONDS and stops (SIGTERM to itself: beat shuts down cleanly) when it
is gone, as the server then frees the lock for a standby; keepalives on both ends of that
connection (KEEPALIVE) make a host cut off from the network notice it, and the server free the
lock, within about half a minute — the holder first.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger("huiying.scheduler")

# pg_advisory_lock's key space is the database's: another installation on the same server
# (another database) does not share it. The first 8 bytes of sha256(b"huiying scheduler").
LOCK_KEY = 0x5AF13B753897D70C
LOCK_FILE = "scheduler.lock"
POLL_SECONDS = 5.0
CHECK_SECONDS = 5.0
STANDBY_MESSAGE = "another scheduler holds the lock; standing by"
# The holder checks its connection every CHECK_SECONDS and its client gives up on an unanswered
# one after 10 s (stopped within about 15 s); the server probes an idle connection after 10 s,
# every 5 s, 3 times (freed after about 25 s): the holder stops before it is replaced.
KEEPALIVE = {"keepalives": 1, "keepalives_idle": 5, "keepalives_interval": 2,
             "keepalives_count": 3, "tcp_user_timeout": 10_000}
SERVER_KEEPALIVE = ("SET tcp_keepalives_idle = 10", "SET tcp_keepalives_interval = 5",
                    "SET tcp_keepalives_count = 3", "SET tcp_user_timeout = 25000")


class SchedulerLock:
    """The installation's scheduler lock: `try_acquire()`, `held()`, `release()`."""

    def __init__(self, database_url: str, data_dir: Path) -> None:
        self.database_url = database_url
        self.data_dir = Path(data_dir)
        self.postgresql = database_url.startswith("postgresql")
        self._connection = None  # PostgreSQL: the lock's own connection
        self._file = None  # SQLite: the open lock file
        self.acquired = False
        self.lost = False  # set by `watch` when the lock went away under a running scheduler

    # --- PostgreSQL ---------------------------------------------------------------------------

    def _connect(self):
        import psycopg
        from sqlalchemy.engine import make_url

        url = make_url(self.database_url).set(drivername="postgresql")
        connection = psycopg.connect(url.render_as_string(hide_password=False), autocommit=True,
                                     connect_timeout=5, application_name="huiying scheduler lock",
                                     **KEEPALIVE)
        for statement in SERVER_KEEPALIVE:
            connection.execute(statement)
        return connection

    def _try_postgresql(self) -> bool:
        if self._connection is None or self._connection.closed:
            self._connection = self._connect()
        return bool(self._connection.execute("SELECT pg_try_advisory_lock(%s)", (LOCK_KEY,)).fetchone()[0])

    # --- SQLite -------------------------------------------------------------------------------

    def _try_file(self) -> bool:
        import fcntl

        if self._file is None:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            self._file = open(self.data_dir / LOCK_FILE, "a+")  # noqa: SIM115 - held for the process
        try:
            fcntl.flock(self._file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        self._file.seek(0)
        self._file.truncate()
        self._file.write(f"{os.getpid()}\n")
        self._file.flush()
        return True

    # --- both ---------------------------------------------------------------------------------

    def try_acquire(self) -> bool:
        """Take the lock if it is free; False when another scheduler holds it. A database
        that does not answer raises (psycopg.OperationalError): the caller tries again later."""
        if not self.acquired:
            self.acquired = self._try_postgresql() if self.postgresql else self._try_file()
        return self.acquired

    def held(self) -> bool:
        """Whether this process still holds the lock (PostgreSQL: its connection answers)."""
        if not self.acquired:
            return False
        if not self.postgresql:
            return True
        try:
            self._connection.execute("SELECT 1").fetchone()
        except Exception:  # the connection is gone, and with it the lock
            return False
        return True

    def release(self) -> None:
        if self._connection is not None:
            try:
                if self.acquired:  # at once; closing frees it too, but after the call returns
                    with contextlib.suppress(Exception):
                        self._connection.execute("SELECT pg_advisory_unlock(%s)", (LOCK_KEY,))
                self._connection.close()  # ends the session: the server frees the lock
            finally:
                self._connection = None
        if self._file is not None:
            self._file.close()  # closing the last descriptor frees the flock
            self._file = None
        self.acquired = False

    def wait(self, poll: float = POLL_SECONDS, stop: Callable[[], bool] = lambda: False) -> bool:
        """Block until the lock is ours (True) or `stop()` (False); say once that we stand by."""
        said = False
        while not stop():
            try:
                if self.try_acquire():
                    if said:
                        log.info("the scheduler lock is free; taking over")
                    return True
            except Exception as exc:  # the database is down or unreachable: stand by, try again
                self.release()
                log.warning("scheduler lock not taken (%s); trying again in %.0f s", exc, poll)
            else:
                if not said:
                    log.info(STANDBY_MESSAGE)
                    said = True
            time.sleep(poll)
        return False

    def watch(self, every: float = CHECK_SECONDS,
              on_lost: Callable[[], None] | None = None) -> threading.Thread:
        """A daemon thread that sets `lost` and calls `on_lost` (default: SIGTERM to this
        process, which stops beat) once the lock's connection is gone — the server has freed
        the lock for another scheduler."""
        def lost() -> None:
            log.error("scheduler lock lost (its database connection is gone); stopping this scheduler")
            os.kill(os.getpid(), signal.SIGTERM)

        def run() -> None:
            while True:
                time.sleep(every)
                if not self.held():
                    self.lost = True
                    (on_lost or lost)()
                    return

        thread = threading.Thread(target=run, name="scheduler-lock-watch", daemon=True)
        thread.start()
        return thread
