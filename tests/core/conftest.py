"""Core fixtures: a real SQLite database built by the migrations (and PostgreSQL for the
tests that ask for `any_database`), and stored comments."""

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from huiying import settings as settings_module
from huiying.cases import unprocessed_ids
from huiying.db import session_scope
from huiying.models import Comment, Source
from tests.conftest import PG_URL, pg_copy


@pytest.fixture
def database(tmp_path, monkeypatch, migrated_sqlite):
    """A data dir with the database `huiying db upgrade` makes (a copy of the session's)."""
    monkeypatch.setenv("HUIYING_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("HUIYING_ADMIN_PASSWORD", "admin-password-1")
    url = migrated_sqlite(tmp_path, "admin-password-1")
    assert url == settings_module.load().database_url
    return url


@pytest.fixture(params=["sqlite", "postgresql"] if PG_URL else ["sqlite"])
def any_database(request, tmp_path, monkeypatch):
    """`database` on SQLite, and the same on PostgreSQL when HUIYING_TEST_DATABASE_URL is set
    (a copy of the session's migrated template): the URL, also in HUIYING_DATABASE_URL."""
    if request.param == "sqlite":
        yield request.getfixturevalue("database")
        return
    monkeypatch.setenv("HUIYING_DATA_DIR", str(tmp_path))
    yield from pg_copy(request, monkeypatch)


def add_comments(url, *texts):
    with session_scope(url) as session:
        source = session.scalar(select(Source).where(Source.name == "t")) or Source(name="t")
        session.add(source)
        session.flush()
        start = session.scalar(select(func.count(Comment.id)))
        for n, (title, body) in enumerate(texts, start):
            session.add(Comment(source_id=source.id, external_id=str(n), title=title, body=body,
                                content_hash=str(n), published_at=datetime(2026, 11, 1, tzinfo=UTC)))
    with session_scope(url) as session:
        return unprocessed_ids(session)
