"""Exactly one scheduler: the lock `huiying scheduler` takes before celery beat (huiying/scheduler_lock.py),
on SQLite (a file lock in the data dir) and PostgreSQL (an advisory lock on a connection of its own)."""

from __future__ import annotations

import logging
import subprocess
import sys
import threading

import pytest

from huiying.scheduler_lock import STANDBY_MESSAGE, SchedulerLock
from tests.conftest import PG_URL, clean_env, wait_until
from tests.e2e.test_production import start, stop


@pytest.fixture(params=["sqlite", "postgresql"] if PG_URL else ["sqlite"])
def lock_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'data' / 'huiying.sqlite3'}"
    return request.getfixturevalue("pg_url")


def new_lock(url, tmp_path):
    return SchedulerLock(url, tmp_path / "data")


def test_one_holder_at_a_time(lock_url, tmp_path):
    first, second = new_lock(lock_url, tmp_path), new_lock(lock_url, tmp_path)
    try:
        assert first.try_acquire() and first.held()
        assert first.try_acquire()  # taking it again is a no-op
        assert not second.try_acquire() and not second.held()
        first.release()
        assert not first.held()
        assert second.try_acquire() and second.held()
        assert not first.try_acquire()
    finally:
        first.release()
        second.release()


HOLD = ("import sys, time; from pathlib import Path; from huiying.scheduler_lock import SchedulerLock; "
        "lock = SchedulerLock(sys.argv[1], Path(sys.argv[2])); assert lock.try_acquire(); "
        "print('held', flush=True); time.sleep(120)")


def test_a_standby_takes_over_when_the_holder_dies(lock_url, tmp_path, caplog):
    holder = subprocess.Popen([sys.executable, "-c", HOLD, lock_url, str(tmp_path / "data")],
                              stdout=subprocess.PIPE, text=True)
    standby = new_lock(lock_url, tmp_path)
    try:
        assert holder.stdout.readline().strip() == "held"
        taken = threading.Event()
        caplog.set_level(logging.INFO, logger="huiying.scheduler")
        thread = threading.Thread(target=lambda: standby.wait(poll=0.1) and taken.set(), daemon=True)
        thread.start()
        wait_until(lambda: STANDBY_MESSAGE in caplog.text, timeout=10, interval=0.05,
                   message="the standby did not say it stands by")
        assert not taken.wait(0.5), "the lock was taken while its holder lives"
        holder.kill()  # dies without a word: the kernel / the server frees the lock
        holder.wait()
        assert taken.wait(10), "the standby did not take over from a dead holder"
        thread.join(5)
        assert standby.held()
        assert caplog.text.count(STANDBY_MESSAGE) == 1  # said once, however long it waits
        assert "taking over" in caplog.text
    finally:
        holder.kill()
        holder.wait()
        holder.stdout.close()
        standby.release()


def test_wait_gives_up_when_told(lock_url, tmp_path):
    first, second = new_lock(lock_url, tmp_path), new_lock(lock_url, tmp_path)
    try:
        assert first.try_acquire()
        calls = iter([False, False, True])
        assert second.wait(poll=0.01, stop=lambda: next(calls)) is False
        assert not second.held()
    finally:
        first.release()
        second.release()


@pytest.mark.skipif(not PG_URL, reason="HUIYING_TEST_DATABASE_URL is not set")
def test_postgresql_holder_stops_when_its_connection_is_gone(tmp_path, pg_url):
    """The server frees an advisory lock when its session ends: the holder must stop beating
    then, or two schedulers would run once a standby takes the lock."""
    import psycopg

    holder, standby = new_lock(pg_url, tmp_path), new_lock(pg_url, tmp_path)
    lost = threading.Event()
    try:
        assert holder.try_acquire()
        holder.watch(every=0.1, on_lost=lost.set)
        assert not lost.wait(0.5)
        backend = holder._connection.info.backend_pid
        admin_url = pg_url.replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(admin_url, autocommit=True) as admin:
            assert admin.execute("SELECT pg_terminate_backend(%s)", (backend,)).fetchone()[0]
        assert lost.wait(10), "the holder did not notice that its lock is gone"
        assert not holder.held()
        assert standby.try_acquire()
    finally:
        holder.release()
        standby.release()


def test_a_second_scheduler_command_stands_by_then_takes_over(tmp_path):
    """Two `huiying scheduler` on one installation (SQLite, file broker): one beat at a time."""
    env = clean_env(HUIYING_DATA_DIR=str(tmp_path / "data"), HUIYING_LOG_LEVEL="INFO")
    logs = [tmp_path / "first.log", tmp_path / "second.log"]
    processes = []
    try:
        with open(logs[0], "wb") as log:
            processes.append(start(env, "scheduler", log=log))
        wait_until(lambda: "beat: Starting" in logs[0].read_text(), timeout=60,
                   message="the first scheduler did not start beat")
        with open(logs[1], "wb") as log:
            processes.append(start(env, "scheduler", log=log))
        wait_until(lambda: STANDBY_MESSAGE in logs[1].read_text(), timeout=60,
                   message="the second scheduler did not stand by")
        assert "beat: Starting" not in logs[1].read_text()
        processes[0].kill()
        processes[0].wait()
        wait_until(lambda: "beat: Starting" in logs[1].read_text(), timeout=30,
                   message="the second scheduler did not take over")
        assert logs[1].read_text().count(STANDBY_MESSAGE) == 1
    finally:
        for process in processes:
            stop(process)


@pytest.mark.skipif(not PG_URL, reason="HUIYING_TEST_DATABASE_URL is not set")
def test_a_scheduler_that_loses_its_lock_stops_with_an_error(tmp_path, pg_url):
    """Its lock's session ended (the database restarted, the host was cut off): beat stops,
    and the exit status is not 0, so systemd's Restart=on-failure starts it again."""
    import psycopg

    env = clean_env(HUIYING_DATA_DIR=str(tmp_path / "data"), HUIYING_DATABASE_URL=pg_url,
                    HUIYING_LOG_LEVEL="INFO")
    log_path = tmp_path / "scheduler.log"
    with open(log_path, "wb") as log:
        process = start(env, "scheduler", log=log)
    try:
        wait_until(lambda: "beat: Starting" in log_path.read_text(), timeout=60,
                   message="the scheduler did not start beat")
        database = pg_url.rsplit("/", 1)[1]
        admin_url = pg_url.replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(admin_url, autocommit=True) as admin:
            ended = admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s "
                                  "AND application_name = 'huiying scheduler lock'", (database,)).fetchall()
        assert ended == [(True,)]
        assert process.wait(timeout=30) == 3
        text = log_path.read_text()
        assert "scheduler lock lost" in text and "it lost the scheduler lock" in text
    finally:
        stop(process)
