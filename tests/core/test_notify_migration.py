"""Migration 0014 (notification channels) on SQLite and PostgreSQL: old rows become email
rows with their fact and outage flag; a downgrade keeps the email rows and the old prefix."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

from huiying.db import engine_for
from huiying.migrate import alembic_config

OLD_ROWS = [  # (key, recipient, last_error)
    ("assign:5:jichu@edu.example.cn", "Jichu@edu.example.cn", None),
    ("alert:9:重大:press@edu.example.cn", "press@edu.example.cn",
     "SMTP server unreachable: ConnectionRefusedError: [Errno 111] Connection refused"),
    ("brief:2026-12-01:" + "0" * 64, "a-very-long-address@edu.example.cn", "SMTPDataError: 451 try later"),
]


def insert_old(connection):
    for n, (key, recipient, error) in enumerate(OLD_ROWS):
        connection.execute(text(
            "INSERT INTO notification (key, kind, recipient, subject, body, status, attempts, last_error, "
            "created_at) VALUES (:key, :kind, :recipient, 's', 'b', 'pending', :n, :error, :at)"),
            {"key": key, "kind": key.split(":")[0], "recipient": recipient, "n": n, "error": error,
             "at": "2026-12-01 00:00:00+00:00"})


def notifications(connection, columns):
    # `columns` is a literal of this file.
    return connection.execute(text(f"SELECT {columns} FROM notification ORDER BY id")).all()  # noqa: S608


def test_upgrade_and_downgrade_keep_the_email_rows(any_database):
    url = any_database
    engine = engine_for(url)
    command.downgrade(alembic_config(url), "0013")
    engine.dispose()
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM notification"))
        insert_old(connection)

    command.upgrade(alembic_config(url), "0014")
    engine.dispose()
    with engine.begin() as connection:
        assert notifications(connection, "channel, fact, outage, last_error, read_at, user_id") == [
            ("email", "assign:5", False, None, None, None),
            ("email", "alert:9:重大", True, "ConnectionRefusedError: [Errno 111] Connection refused",
             None, None),
            ("email", OLD_ROWS[2][0], False, "SMTPDataError: 451 try later", None, None),  # its own key
        ]
        # The same key by another channel is another row; twice by one channel is refused.
        connection.execute(text(
            "INSERT INTO notification (channel, key, fact, kind, recipient, subject, body, status, attempts, "
            "outage, created_at) VALUES ('inapp', :key, 'assign:5', 'assign', 'jichu', 's', 'b', 'sent', 0, "
            ":no, :at)"), {"key": OLD_ROWS[0][0], "no": False, "at": "2026-12-01 00:00:00+00:00"})
    with pytest.raises(IntegrityError), engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO notification (channel, key, fact, kind, recipient, subject, body, status, attempts, "
            "outage, created_at) VALUES ('email', :key, 'x', 'assign', 'x', 's', 'b', 'pending', 0, "
            ":no, :at)"),
            {"key": OLD_ROWS[0][0], "no": False, "at": "2026-12-01 00:00:00+00:00"})

    command.downgrade(alembic_config(url), "0013")
    engine.dispose()
    columns = {c["name"] for c in inspect(engine).get_columns("notification")}
    assert not columns & {"channel", "fact", "outage", "read_at", "user_id"}
    with engine.begin() as connection:
        assert notifications(connection, "key, last_error") == [(key, error) for key, _, error in OLD_ROWS]
    with pytest.raises(IntegrityError), engine.begin() as connection:  # the key alone is unique again
        insert_old(connection)

    command.upgrade(alembic_config(url), "head")
    engine.dispose()
    with engine.begin() as connection:
        assert [row[0] for row in notifications(connection, "outage")] == [False, True, False]
