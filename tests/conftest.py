"""Shared fixtures: real PostgreSQL and Redis (own database / DB number), real processes."""

from __future__ import annotations

import json
import os
import re
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from contextlib import closing
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest


def _own_names_per_worker() -> None:
    """Under pytest-xdist (`make test` runs three workers) each worker process gets a PostgreSQL
    database name and a Redis DB number of its own, so no two tests share one at a time."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")  # gw0, gw1, …
    if not worker:
        return
    number = int(worker.removeprefix("gw"))
    database = os.environ.get("HUIYING_TEST_DATABASE_URL")
    if database:
        os.environ["HUIYING_TEST_DATABASE_URL"] = f"{database}_{worker}"
    base, _, db = os.environ.get("HUIYING_TEST_REDIS_URL", "redis://127.0.0.1:6379/13").rpartition("/")
    os.environ["HUIYING_TEST_REDIS_URL"] = f"{base}/{(int(db) + number) % 16}"


_own_names_per_worker()
PG_ADMIN_URL = os.environ.get("HUIYING_TEST_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_TEST_URL = os.environ.get("HUIYING_TEST_REDIS_URL", "redis://127.0.0.1:6379/13")
SQLITE_FILE = "huiying.sqlite3"  # the embedded database's name in a data dir (huiying/settings.py)


@pytest.fixture(scope="session", autouse=True)
def cheaper_password_hashes():
    """Passwords this process stores are hashed with scrypt at n=2**10 rather than 2**15.

    Still real scrypt hashes, created and checked by the code under test; only the work factor
    is lower, as each test makes and logs in users (about 0.2 s of a core per hash otherwise).
    `huiying` child processes keep the shipped factor (tests/e2e/test_cli.py checks it).
    """
    from huiying import users

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(users, "HASH_METHOD", "scrypt:1024:8:1")
        yield


def clean_env(**overrides: str) -> dict[str, str]:
    """The environment for a child `huiying` process: no HUIYING_* leaks from the caller."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUIYING_")}
    env.update(overrides)
    return env


def huiying(*args: str, env: dict[str, str], timeout: float = 300,
            check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, "-m", "huiying", *args], env=env,
                            capture_output=True, text=True, timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(f"huiying {' '.join(args)} failed ({result.returncode}):\n"
                             f"{result.stdout}\n{result.stderr}")
    return result


def last_json(output: str) -> dict:
    return json.loads(output.strip().splitlines()[-1])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def serve_in_thread(server) -> threading.Thread:
    """Serve a `socketserver` server (http.server, wsgiref, werkzeug) in a daemon thread; the
    thread, started. Its loop looks for `shutdown()` every 0.05 s, not every 0.5 s (the
    default), which each test's teardown otherwise spent waiting."""
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    return thread


def wait_until(predicate, timeout: float = 60, interval: float = 0.1, message: str = ""):
    """Poll `predicate` until it is truthy (its value) or `timeout` s have passed. The
    predicates are a query or a log read: polling often costs little, waiting long costs time."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s: {message}")


@pytest.fixture
def embedded_env(tmp_path: Path) -> dict[str, str]:
    return clean_env(HUIYING_DATA_DIR=str(tmp_path / "data"),
                     HUIYING_ADMIN_PASSWORD="admin-password-1")


def prepared_in(env: dict[str, str]) -> str:
    """Run `huiying db upgrade`'s work (migrations, defaults, first admin) in this process."""
    from huiying import bootstrap, settings
    from huiying.db import engine_for

    with pytest.MonkeyPatch.context() as patch:
        for name in [n for n in os.environ if n.startswith("HUIYING_") and not n.startswith("HUIYING_TEST_")]:
            patch.delenv(name)
        for name, value in env.items():
            patch.setenv(name, value)
        loaded = settings.load()
        bootstrap.prepare(loaded)
    engine_for(loaded.database_url).dispose()  # a template must have no open connection
    return loaded.database_url


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory):
    """`copy(data_dir, admin_password)`: the SQLite database `huiying db upgrade` leaves there.

    Migrating, seeding and hashing the first admin's password took seconds per test; this
    builds each password's database once per session and copies it (SQLite's backup API, so
    the copy is consistent whatever the journal mode). Returns the copy's URL.
    """
    templates: dict[str, Path] = {}

    def copy(data_dir: Path, admin_password: str) -> str:
        if admin_password not in templates:
            folder = tmp_path_factory.mktemp("migrated")
            prepared_in({"HUIYING_DATA_DIR": str(folder), "HUIYING_ADMIN_PASSWORD": admin_password})
            templates[admin_password] = folder / SQLITE_FILE
        data_dir.mkdir(parents=True, exist_ok=True)
        target = data_dir / SQLITE_FILE
        with closing(sqlite3.connect(templates[admin_password])) as source, \
                closing(sqlite3.connect(target)) as copied:
            source.backup(copied)
        return f"sqlite:///{target}"

    return copy


@pytest.fixture
def migrated_env(embedded_env, migrated_sqlite) -> dict[str, str]:
    """`embedded_env` whose data dir already holds what `huiying db upgrade` makes."""
    migrated_sqlite(Path(embedded_env["HUIYING_DATA_DIR"]), embedded_env["HUIYING_ADMIN_PASSWORD"])
    return embedded_env


PG_URL = os.environ.get("HUIYING_TEST_DATABASE_URL")  # app and core tests run on it too when set
PG_ADMIN_PASSWORD = "admin-password-123"  # the first admin of pg_template's database


def pg_database_name(url: str) -> str:
    name = urlsplit(url).path.lstrip("/")
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
        raise ValueError(f"HUIYING_TEST_DATABASE_URL: unsafe database name {name!r}")
    return name


def pg_server(*statements: str) -> None:
    """Run statements on the test server's `postgres` database, outside any transaction."""
    import psycopg

    parts = urlsplit(PG_URL.replace("postgresql+psycopg://", "postgresql://", 1))
    with psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True) as connection:
        for statement in statements:
            connection.execute(statement)


def recreate_pg_database(name: str, template: str | None = None) -> None:
    pg_server(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)',
              f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))


def pg_copy(request, monkeypatch):
    """Generator for a fixture: HUIYING_TEST_DATABASE_URL's database as the session's migrated
    `pg_template` holds it; yields its URL (also in HUIYING_DATABASE_URL)."""
    from huiying import settings
    from huiying.db import engine_for

    request.getfixturevalue("pg_seeded").reset()
    monkeypatch.setenv("HUIYING_DATABASE_URL", PG_URL)
    url = settings.load().database_url
    yield url
    engine_for(url).dispose()


def _sql(statement: str, table: str):
    """`statement` with the table's name quoted in place of {}."""
    from psycopg import sql

    return sql.SQL(statement).format(sql.Identifier(table))


class SeededDatabase:
    """HUIYING_TEST_DATABASE_URL's database, copied from the template once per session and
    put back to the template's rows before each test.

    A copy per test (`CREATE DATABASE … TEMPLATE`) waited 0.3–0.6 s on the disk each time;
    deleting every row and copying the few seeded ones back (binary COPY, kept in memory)
    takes milliseconds. A test that left the schema elsewhere (a migration test stopped part
    way) gets a new copy of the template.
    """

    def __init__(self, template: str) -> None:
        self.name = pg_database_name(PG_URL)
        self.template = template
        self.url = PG_URL.replace("postgresql+psycopg://", "postgresql://", 1)
        recreate_pg_database(self.name, template)
        with self._connect() as connection:
            self.schema = self._schema(connection)
            self.rows = {}
            for table in self.schema[1]:
                if connection.execute(_sql("SELECT EXISTS (SELECT FROM {})", table)).fetchone()[0]:
                    with connection.cursor().copy(_sql("COPY {} TO STDOUT (FORMAT binary)", table)) as copy:
                        self.rows[table] = b"".join(bytes(block) for block in copy)
            self.sequences = connection.execute(
                "SELECT schemaname || '.' || sequencename, last_value FROM pg_sequences "
                "WHERE schemaname = 'public'").fetchall()

    def _connect(self):
        import psycopg

        return psycopg.connect(self.url, autocommit=True)

    @staticmethod
    def _schema(connection) -> tuple[str, tuple[str, ...]]:
        version = connection.execute("SELECT version_num FROM alembic_version").fetchone()[0]
        tables = connection.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                                    "AND tablename <> 'alembic_version' ORDER BY tablename").fetchall()
        return version, tuple(name for (name,) in tables)

    def reset(self) -> None:
        with self._connect() as connection:
            # What DROP DATABASE … WITH (FORCE) did: no connection of the last test's processes stays.
            connection.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                               "WHERE datname = current_database() AND pid <> pg_backend_pid()")
            if self._schema(connection) != self.schema:
                connection.close()
                recreate_pg_database(self.name, self.template)
                return
            with connection.transaction():
                # Rows go in any order: the foreign keys hold again once every table is as seeded.
                connection.execute("SET LOCAL session_replication_role = replica")
                for table in self.schema[1]:
                    connection.execute(_sql("DELETE FROM {}", table))
                for table, data in self.rows.items():
                    with connection.cursor().copy(_sql("COPY {} FROM STDIN (FORMAT binary)", table)) as copy:
                        copy.write(data)
                for sequence, value in self.sequences:
                    connection.execute("SELECT setval(%s, %s, %s)", (sequence, value or 1, value is not None))


@pytest.fixture(scope="session")
def pg_template(tmp_path_factory):
    """The name of a PostgreSQL database migrated and seeded once per session, copied into
    HUIYING_TEST_DATABASE_URL's database (`pg_seeded`; the first admin's password:
    PG_ADMIN_PASSWORD).

    Named after HUIYING_TEST_DATABASE_URL's database, so parallel runs with their own names
    never share one.
    """
    template = f"{pg_database_name(PG_URL)}_template"
    recreate_pg_database(template)
    prepared_in({"HUIYING_DATA_DIR": str(tmp_path_factory.mktemp("pg-template")),
                 "HUIYING_DATABASE_URL": urlunsplit(urlsplit(PG_URL)._replace(path=f"/{template}")),
                 "HUIYING_ADMIN_PASSWORD": PG_ADMIN_PASSWORD})
    yield template
    pg_server(f'DROP DATABASE IF EXISTS "{template}" WITH (FORCE)')


@pytest.fixture(scope="session")
def pg_seeded(pg_template):
    seeded = SeededDatabase(pg_template)
    yield seeded
    pg_server(f'DROP DATABASE IF EXISTS "{seeded.name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def pg_url() -> str:
    """A PostgreSQL database of this test run's own, dropped afterwards."""
    import psycopg

    name = f"huiying_test_{uuid.uuid4().hex[:10]}"
    try:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as exc:
        pytest.fail(f"PostgreSQL is not reachable at {PG_ADMIN_URL} ({exc}); run `make services`")
    yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def use_env(monkeypatch, env: dict[str, str]) -> None:
    """Give this process the HUIYING_* settings of `env` (its child processes have them)."""
    for name, value in env.items():
        if name.startswith("HUIYING_"):
            monkeypatch.setenv(name, value)


def empty_database(url: str) -> None:
    """Leave the shared PostgreSQL test database empty; this process's pooled connections closed."""
    from sqlalchemy import create_engine, text

    from huiying.db import engine_for

    engine_for(url).dispose()
    engine = create_engine(url)
    try:
        with engine.begin() as db:
            db.execute(text('TRUNCATE comment, "case", case_event, source, crawl_error, "user", '
                            "department, routing_rule, notification, topic, label, audit_event, "
                            "annual_input, term_day, term_day_total CASCADE"))
    finally:
        engine.dispose()  # an engine dropped with open connections warns when collected


@pytest.fixture
def redis_url() -> str:
    """Redis DB number 13, empty before and after the test."""
    import redis

    client = redis.Redis.from_url(REDIS_TEST_URL)
    try:
        client.flushdb()
    except redis.ConnectionError as exc:
        pytest.fail(f"Redis is not reachable at {REDIS_TEST_URL} ({exc}); run `make services`")
    yield REDIS_TEST_URL
    client.flushdb()


@pytest.fixture
def demo_site():
    from crawler.demo import serve

    with serve(new_post_every=None) as server:
        yield server


def write_demo_source(sources_dir: Path, url: str) -> None:
    import yaml

    from huiying.cli.runner import demo_config

    sources_dir.mkdir(parents=True, exist_ok=True)
    config = demo_config(url).as_dict()
    (sources_dir / "demo.yml").write_text(yaml.safe_dump(config, allow_unicode=True), "utf-8")


class Mailbox:
    """An aiosmtpd handler that keeps every message it accepts, parsed; rejects some recipients."""

    def __init__(self) -> None:
        self.messages: list = []
        self.reject: set[str] = set()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.reject:
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        from email import message_from_bytes, policy

        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list:
        return [m for m in self.messages if m["To"] == address]


@pytest.fixture
def smtp_server():
    """A real SMTP server on 127.0.0.1 and a free port: (mailbox, port)."""
    from aiosmtpd.controller import Controller

    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield mailbox, controller.port
    controller.stop()


def pytest_collection_modifyitems(items):
    """The slow end-to-end tests first: the xdist workers (`--dist worksteal`) then end on short
    tests taken from each other's queues, not on one worker finishing a long one alone. Each
    group keeps its order."""
    items.sort(key=lambda item: 0 if "/e2e/" in str(item.path) or "browser" in item.path.name else 1)
