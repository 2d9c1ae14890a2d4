"""Private services, process groups and stored comments for the fault drills
(tests/e2e/test_fault_drills.py).

Each drill may stop and start its own Redis or PostgreSQL server without disturbing the
shared ones other tests use: a redis-server and a PostgreSQL cluster of its own, on a free
port, in a temporary directory. Processes are started in their own process group and ended
by that group's id (never by name), also when a test fails.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import select

from huiying.bench_pipeline import _texts
from huiying.db import session_scope
from huiying.models import Source
from huiying.queue import BATCH
from huiying.store import CommentData, upsert_comments
from tests.conftest import free_port, wait_until


class Process:
    """`python -m huiying ARGS…` in a process group of its own, logging to a file."""

    def __init__(self, env: dict[str, str], log: Path, *args: str) -> None:
        self.log = log
        self.args = args
        with open(log, "ab") as out:
            self.popen = subprocess.Popen([sys.executable, "-m", "huiying", *args], env=env,
                                          stdout=out, stderr=subprocess.STDOUT, start_new_session=True)

    @property
    def pid(self) -> int:
        return self.popen.pid

    def running(self) -> bool:
        return self.popen.poll() is None

    def output(self) -> str:
        return self.log.read_text("utf-8", errors="replace")

    def kill_group(self, sig: int = signal.SIGKILL) -> None:
        """Send `sig` to the whole group (a Celery worker and its pool's children)."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, sig)

    def stop(self) -> None:
        """End the whole group at once (the drill's work is counted by then; a warm shutdown
        would only wait for the pool)."""
        self.kill_group(signal.SIGKILL)
        if self.running():
            self.popen.wait(timeout=10)


class PrivateRedis:
    """A redis-server of this test's own, keeping nothing on disk: a restart loses every queue."""

    def __init__(self, folder: Path) -> None:
        if shutil.which("redis-server") is None:
            raise RuntimeError("redis-server is not installed")
        self.folder = folder
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.popen: subprocess.Popen | None = None
        self.starts = 0

    def start(self) -> None:
        self.starts += 1
        log = open(self.folder / f"redis-{self.starts}.log", "wb")  # noqa: SIM115
        self.popen = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.folder)],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        wait_until(self.answers, timeout=20, interval=0.05, message="the private redis-server did not start")

    def answers(self) -> bool:
        import redis

        try:
            return bool(redis.Redis.from_url(self.url, socket_timeout=1).ping())
        except redis.RedisError:
            return False

    def client(self):
        import redis

        return redis.Redis.from_url(self.url)

    def stop(self) -> None:
        if self.popen is not None and self.popen.poll() is None:
            self.popen.kill()  # nothing is saved either way (--save "", no AOF)
            self.popen.wait(timeout=10)
        self.popen = None


def postgres_bin() -> Path | None:
    """The PostgreSQL server binaries' folder (initdb, pg_ctl), or None."""
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(candidates[-1]).parent if candidates else None


class PrivatePostgres:
    """A PostgreSQL cluster of this test's own (initdb, trust authentication, a free port).

    Run as the `postgres` user when this process is root (the server refuses to run as root),
    in a temporary directory that user can write.
    """

    def __init__(self) -> None:
        binaries = postgres_bin()
        if binaries is None:
            raise RuntimeError("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
        self.bin = binaries
        self.root = Path(tempfile.mkdtemp(prefix="huiying-drill-pg-"))
        self.data = self.root / "data"
        self.logfile = self.root / "server.log"
        self.port = free_port()
        self.as_user: list[str] = []
        if os.geteuid() == 0:
            user = pwd.getpwnam("postgres")
            os.chown(self.root, user.pw_uid, user.pw_gid)
            self.as_user = ["runuser", "-u", "postgres", "--"]
        self._run(str(self.bin / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres",
                  "-E", "UTF8", "--locale=C", "--no-sync")
        with open(self.data / "postgresql.conf", "a") as conf:
            conf.write(f"\nport = {self.port}\nlisten_addresses = '127.0.0.1'\n"
                       f"unix_socket_directories = '{self.root}'\nfsync = off\n"
                       "synchronous_commit = off\nfull_page_writes = off\nshared_buffers = 32MB\n"
                       "max_connections = 60\n")

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def _run(self, *command: str) -> None:
        subprocess.run([*self.as_user, *command], check=True, capture_output=True, timeout=120)

    def _ctl(self, *args: str) -> None:
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.logfile), "-w",
                  "-t", "60", *args)

    def start(self) -> None:
        self._ctl("start")

    def stop(self, mode: str = "fast") -> None:
        """`fast`: the server ends every session (rolled back) and shuts down cleanly."""
        self._ctl("stop", "-m", mode)

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()

    def create_database(self, name: str) -> None:
        import psycopg

        with psycopg.connect(f"postgresql://postgres@127.0.0.1:{self.port}/postgres",
                             autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')

    def destroy(self) -> None:
        if self.running():
            try:
                self.stop("immediate")
            except subprocess.SubprocessError:
                pid = int((self.data / "postmaster.pid").read_text().split()[0])
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
                time.sleep(0.5)
        shutil.rmtree(self.root, ignore_errors=True)


def store_comments(url: str, count: int, first: int = 0, source: str = "drill-board") -> list[int]:
    """`count` comments stored the way `huiying import` stores them (committed per BATCH);
    about a third repost an earlier one word for word (huiying/bench_pipeline.py)."""
    texts = _texts(first + count)[first:]
    ids: list[int] = []
    with session_scope(url) as session:
        source_row = session.scalar(select(Source).where(Source.name == source))
        if source_row is None:
            source_row = Source(name=source, title="演练留言板", kind="board")
            session.add(source_row)
            session.flush()
        source_id = source_row.id
    for start in range(0, count, BATCH):
        with session_scope(url) as session:
            rows = upsert_comments(session, source_id, [
                CommentData(external_id=f"d{n}", title=title, body=body)
                for n, (title, body) in enumerate(texts[start:start + BATCH], first + start)])
        ids += [row.comment_id for row in rows]
    assert len(set(ids)) == count
    return ids
