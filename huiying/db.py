"""Engine and sessions for SQLite (embedded) and PostgreSQL (production)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import ARRAY, Engine, Table, bindparam, create_engine, event, func, select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from huiying.errors import SettingsError
from huiying.settings import mask_url


def make_engine(url: str, **engine_options) -> Engine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30}, **engine_options)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):  # pragma: no cover - trivial
            cursor = dbapi_connection.cursor()
            # WAL lets the web read while the worker writes; busy_timeout waits for locks.
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        return engine
    # JIT off: compiling a report's query took longer (about 120 ms) than running it; the
    # queries here are index look-ups and month-sized aggregates, never warehouse scans.
    return create_engine(
        url, pool_pre_ping=True, connect_args={"connect_timeout": 5, "options": "-c jit=off"},
        **engine_options
    )


_engines: dict[str, Engine] = {}


def engine_for(url: str) -> Engine:
    """One engine (and pool) per URL per process."""
    if url not in _engines:
        _engines[url] = make_engine(url)
    return _engines[url]


_sessionmakers: dict[str, sessionmaker[Session]] = {}


def _sessionmaker(url: str) -> sessionmaker[Session]:
    if url not in _sessionmakers:
        _sessionmakers[url] = sessionmaker(engine_for(url), expire_on_commit=False)
    return _sessionmakers[url]


def new_session(url: str) -> Session:
    return _sessionmaker(url)()


@contextmanager
def session_scope(url: str) -> Iterator[Session]:
    """A unit of work: commit on success, roll back on error."""
    session = new_session(url)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def is_postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def insert_rows(session: Session, table: Table, rows: Sequence[dict], *, on_conflict=None) -> None:
    """INSERT many rows of plain values in one statement. On PostgreSQL one array per column
    (`SELECT unnest(...), unnest(...)`): two parameters whatever the number of rows, so the
    statement is neither rendered nor parsed per row; elsewhere an executemany.
    `on_conflict(statement)` may add an ON CONFLICT clause (the dialect's `insert`)."""
    if not rows:
        return
    if is_postgresql(session):
        from sqlalchemy.dialects.postgresql import insert

        names = list(rows[0])
        arrays = select(*[func.unnest(bindparam(f"rows_{name}", [row[name] for row in rows],
                                                type_=ARRAY(table.c[name].type)))
                          for name in names])
        statement = insert(table).from_select(names, arrays)
        session.connection().execute(on_conflict(statement) if on_conflict else statement)
        return
    from sqlalchemy.dialects.sqlite import insert

    statement = insert(table)
    session.connection().execute(on_conflict(statement) if on_conflict else statement, list(rows))


def check_reachable(url: str) -> None:
    """Fail with one sentence naming the setting when the database cannot be reached."""
    try:
        with engine_for(url).connect() as connection:
            connection.execute(text("SELECT 1"))
    except OperationalError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        raise SettingsError(
            f"HUIYING_DATABASE_URL: cannot connect to {mask_url(url)} ({reason}); "
            "start the database or fix the setting."
        ) from None


def dispose_all() -> None:
    """Drop pooled connections after a fork: no connection may cross a process."""
    for engine in _engines.values():
        engine.dispose(close=False)
