"""Alembic environment: the URL comes from Huiying's settings, never from an ini file."""

from alembic import context
from sqlalchemy import pool

from huiying.db import make_engine
from huiying.models import Base

config = context.config
target_metadata = Base.metadata


def run_migrations() -> None:
    url = config.get_main_option("sqlalchemy.url")
    connectable = config.attributes.get("connection")
    if connectable is None:
        engine = make_engine(url, poolclass=pool.NullPool)
        with engine.connect() as connection:
            _configure_and_run(connection)
        engine.dispose()
    else:
        _configure_and_run(connectable)


def _configure_and_run(connection) -> None:
    # Batch mode rebuilds a SQLite table by copying it and dropping the old one; with foreign
    # keys on, that DROP would cascade to every row pointing at it (a case's events and
    # comments). The pragma only takes effect outside a transaction.
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
        connection.commit()
    try:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=True,  # SQLite cannot ALTER most things; batch mode rebuilds tables
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
    finally:
        if sqlite:
            connection.commit()
            connection.exec_driver_sql("PRAGMA foreign_keys=ON")
            connection.commit()


run_migrations()
