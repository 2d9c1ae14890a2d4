"""Dashboard fixtures: a real database (SQLite, and PostgreSQL when configured), real logins."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from huiying import settings
from huiying.cases import process_comments
from huiying.db import engine_for, new_session
from huiying.models import Case, Comment, Source, utcnow
from huiying.users import create_user
from tests.conftest import PG_ADMIN_PASSWORD, PG_URL, pg_copy

ADMIN_PASSWORD = PG_ADMIN_PASSWORD  # the same first admin on SQLite and PostgreSQL
PASSWORD = "department-pw-123"


# Every app test runs on SQLite, and on PostgreSQL too when HUIYING_TEST_DATABASE_URL is set
# (test_app.py::test_postgresql_run_configured says so when it is not).
@pytest.fixture(params=["sqlite", "postgresql"] if PG_URL else ["sqlite"])
def database_url(request, tmp_path, monkeypatch, migrated_sqlite):
    """Environment for one test: data dir under tmp_path, a database of either kind as
    `huiying db upgrade` leaves it (migrated, default departments and topics, the admin)."""
    for name in list(os.environ):
        if name.startswith("HUIYING_") and not name.startswith("HUIYING_TEST_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("HUIYING_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("HUIYING_ADMIN_PASSWORD", ADMIN_PASSWORD)
    if request.param == "sqlite":
        url = migrated_sqlite(tmp_path, ADMIN_PASSWORD)
        assert url == settings.load().database_url
        yield url
        engine_for(url).dispose()
        return
    yield from pg_copy(request, monkeypatch)


@pytest.fixture
def app(database_url):
    # CSRF stays on: the auth helper reads the token from the form like a browser does.
    return create_app_for_tests()


def create_app_for_tests(**overrides):
    from dashboard import create_app

    return create_app({"TESTING": True, **overrides})


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def db(app):
    session = new_session(app.config["DATABASE_URL"])
    yield session
    session.close()


CSRF_INPUT = re.compile(r'<input[^>]*name="csrf_token"[^>]*value="([^"]+)"')


def csrf_token(html: str) -> str:
    match = CSRF_INPUT.search(html)
    assert match, "no csrf_token in the page"
    return match.group(1)


class AuthActions:
    def __init__(self, client):
        self.client = client

    def login(self, username="admin", password=ADMIN_PASSWORD, next_url=None):
        page = self.client.get("/auth/login" + (f"?next={next_url}" if next_url else ""))
        data = {"csrf_token": csrf_token(page.text), "username": username, "password": password}
        if next_url is not None:
            data["next"] = next_url
        return self.client.post("/auth/login", data=data)

    def logout(self):
        page = self.client.get("/cases/")
        return self.client.post("/auth/logout", data={"csrf_token": csrf_token(page.text)})


@pytest.fixture
def auth(client):
    return AuthActions(client)


@pytest.fixture
def users(db):
    """A 基础教育股 user and a 安全稳定股 user (both role department), and a press user."""
    create_user(db, "jichu", PASSWORD, "department", department="基础教育股")
    create_user(db, "anquan", PASSWORD, "department", department="安全稳定股")
    create_user(db, "press", PASSWORD, "press")
    db.commit()
    return {"jichu": PASSWORD, "anquan": PASSWORD, "press": PASSWORD}


@dataclass
class Sample:
    external_id: str
    title: str
    body: str
    author: str | None = None
    official_reply: str | None = None


SAMPLES = {
    # → 基础教育股 (招生入学)
    "enrolment": Sample(
        "m1", "城关小学招生入学划片不合理",
        "今年小学招生入学划片政策不公平，孩子上学要走很远。联系电话13812341234，"
        "身份证号110101199003071234。",
        author="张三丰", official_reply="已转基础教育股核实，请拨打0851-1234567咨询。"),
    # → 安全稳定股 (校车)
    "bus": Sample("m2", "校车超载严重", "学校的校车每天超载，孩子安全没有保障，请教育局尽快处理。",
                  author="李四"),
    # → 待研判 (two departments equally likely)
    "fees": Sample("m3", "幼儿园乱收费", "县第一幼儿园乱收费，每学期额外收取兴趣班费用，家长很不满。",
                   author="王"),
    # hostile text, → 安全稳定股 (校园安全)
    "script": Sample("m4", "学校食堂<script>alert(1)</script>",
                     "中学食堂饭菜质量差，学生吃了肚子疼，教育局管不管 <script>alert('x')</script>"),
}


@pytest.fixture
def cases(db):
    """Cases made the way production makes them: Source + Comments → process_comments."""
    source = Source(name="county-board", title="县政府留言板", kind="board")
    db.add(source)
    db.flush()
    published = datetime(2024, 9, 2, 1, 30, tzinfo=UTC)  # 09:30 in Asia/Shanghai
    comments = {}
    for key, sample in SAMPLES.items():
        comment = Comment(source_id=source.id, external_id=sample.external_id,
                          url=f"https://liuyan.example.gov.cn/{sample.external_id}",
                          title=sample.title, body=sample.body, author=sample.author,
                          published_at=published,
                          content_hash=f"hash-{sample.external_id}")
        db.add(comment)
        comments[key] = comment
        published += timedelta(hours=1)
    db.commit()
    process_comments(db, [c.id for c in comments.values()])
    # The board's reply appears on a later crawl (a post that carried one when first crawled
    # would open as already replied): these cases are still to be worked.
    for key, comment in comments.items():
        comment.official_reply = SAMPLES[key].official_reply
    db.commit()  # before the refresh below, which would drop the unsaved replies
    found = {}
    for key, comment in comments.items():
        db.refresh(comment)
        assert comment.case_id is not None, f"sample {key} made no case"
        found[key] = db.scalar(select(Case).where(Case.id == comment.case_id))
    # Their clocks ran from 2024, when the samples were written, and have long run out; the
    # screens are tested with cases that are still within time unless a test says otherwise.
    for case in found.values():
        case.due_at = utcnow() + timedelta(hours=48)
    db.commit()
    return found
