"""A topic edit in the dashboard re-classifies stored comments through a real worker
(PostgreSQL + Redis), and `huiying topics reclassify` does the same from the command line."""

import subprocess
import sys

import pytest
from sqlalchemy import select, text

from huiying.cases import process_comments
from huiying.db import engine_for, session_scope
from huiying.models import Case, Comment, Source
from tests.conftest import clean_env, empty_database, huiying, last_json, use_env, wait_until
from tests.dashboard.conftest import csrf_token

pytestmark = pytest.mark.integration

# Two cases, and one comment dismissed (low relevance score, no topic) until 研学 is a topic word.
TEXTS = [("初二年级研学活动安排太紧", "孩子很累"), ("县一中研学活动太多", ""), ("研学营地伙食很差", "")]
DISMISSED = TEXTS[2][0]


def store_and_process(url: str) -> None:
    with session_scope(url) as session:
        source = Source(name="board")
        session.add(source)
        session.flush()
        session.add_all(Comment(source_id=source.id, external_id=str(n), title=title, body=body,
                                content_hash=str(n)) for n, (title, body) in enumerate(TEXTS))
    with session_scope(url) as session:
        process_comments(session, list(session.scalars(select(Comment.id))))


def dismissed_case(url: str) -> int | None:
    with session_scope(url) as session:
        return session.scalar(select(Comment.case_id).where(Comment.title == DISMISSED))


def topics_of(url: str) -> dict[str, str | None]:
    with session_scope(url) as session:
        return dict(session.execute(select(Comment.title, Comment.topic)).all())


@pytest.fixture
def production_env(tmp_path, pg_url, redis_url, monkeypatch):
    env = clean_env(HUIYING_DATA_DIR=str(tmp_path / "data"), HUIYING_DATABASE_URL=pg_url,
                    HUIYING_BROKER_URL=redis_url, HUIYING_ADMIN_PASSWORD="admin-password-1",
                    HUIYING_SECRET_KEY="x" * 32)
    huiying("db", "upgrade", env=env)
    use_env(monkeypatch, env)  # the dashboard below runs in this process
    yield env
    empty_database(pg_url)


def test_a_dashboard_edit_is_applied_by_the_worker(production_env, pg_url, tmp_path):
    from dashboard import create_app

    store_and_process(pg_url)
    assert set(topics_of(pg_url).values()) == {None} and dismissed_case(pg_url) is None

    client = create_app({"TESTING": True}).test_client()
    page = client.get("/auth/login").text
    client.post("/auth/login", data={"csrf_token": csrf_token(page), "username": "admin",
                                     "password": "admin-password-1"})
    form = client.get("/admin/topics/new").text
    response = client.post("/admin/topics/new", data={
        "csrf_token": csrf_token(form), "name": "研学实践", "strong_words": "研学", "weak_words": "",
        "enabled": "y"})
    assert response.status_code == 302
    assert "正在按新的主题设置重新归类" in client.get(response.location).text

    with open(tmp_path / "worker.log", "wb") as log:
        worker = subprocess.Popen([sys.executable, "-m", "huiying", "worker", "--concurrency", "1"],
                                  env=production_env, stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_until(lambda: set(topics_of(pg_url).values()) == {"研学实践"}, timeout=120,
                       message="the worker did not re-classify the stored comments")
            wait_until(lambda: dismissed_case(pg_url) is not None, timeout=120,
                       message="the worker did not make the newly relevant comment a case")
        finally:
            worker.terminate()
            worker.wait(timeout=30)
    with session_scope(pg_url) as session:
        assert [c.topic for c in session.scalars(select(Case))] == ["研学实践"] * 3

    # Nothing left to do: the command line finds every comment already re-classified.
    summary = last_json(huiying("topics", "reclassify", "--json", env=production_env).stdout)
    assert summary == {"comments_checked": 3, "comments_changed": 0, "skipped_corrected": 0,
                       "comments_reanalysed": 0, "cases_changed": 0, "cases_routed": 0}


def test_the_command_line_reclassifies(migrated_env):
    url = f"sqlite:///{migrated_env['HUIYING_DATA_DIR']}/huiying.sqlite3"
    store_and_process(url)
    with session_scope(url) as session:
        session.execute(text("INSERT INTO topic (name, strong_words, weak_words, enabled, updated_at) "
                             """VALUES ('研学实践', '["研学"]', '[]', true, CURRENT_TIMESTAMP)"""))
    engine_for(url).dispose()
    summary = last_json(huiying("topics", "reclassify", "--json", env=migrated_env).stdout)
    assert summary == {"comments_checked": 3, "comments_changed": 3, "skipped_corrected": 0,
                       "comments_reanalysed": 1, "cases_changed": 2, "cases_routed": 0}
    assert dismissed_case(url) is not None  # analysed again by the command: now a case
    plain = huiying("topics", "reclassify", env=migrated_env).stdout
    assert "comments_changed: 0" in plain and "cases_changed: 0" in plain
    assert set(topics_of(url).values()) == {"研学实践"}
