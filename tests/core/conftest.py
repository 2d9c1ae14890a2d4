"""Core fixtures: a real SQLite database built by the migrations, and stored comments."""

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from huiying import settings as settings_module
from huiying.bootstrap import prepare
from huiying.cases import unprocessed_ids
from huiying.db import session_scope
from huiying.models import Comment, Source


@pytest.fixture
def database(tmp_path, monkeypatch):
    monkeypatch.setenv("HUIYING_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("HUIYING_ADMIN_PASSWORD", "admin-password-1")
    settings = settings_module.load()
    prepare(settings)
    return settings.database_url


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
