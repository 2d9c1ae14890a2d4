"""Backup and restore as docs/operations.md tells an operator: pg_dump of a working
installation, pg_restore into a new database, and the service goes on from it — every row
there, the schema current, a case page served, new rows numbered after the restored ones."""

from __future__ import annotations

import subprocess
import uuid
from urllib.parse import urlsplit

import psycopg
import pytest
from sqlalchemy import create_engine, inspect, select, text

from huiying.cases import process_comments, unprocessed_ids
from huiying.db import engine_for, session_scope
from huiying.models import Case
from tests.conftest import PG_ADMIN_URL, clean_env, huiying, last_json

ROWS = [
    ("GD-1", "城关小学招生划片不合理", "孩子上学要走很远，希望教育局重新划片。", "2026-11-02 09:00", "投诉"),
    ("GD-2", "校车超载", "青石镇中学的校车每天超载，请尽快处理。", "2026-11-03 10:00", "投诉"),
    ("GD-3", "幼儿园收费", "县第一幼儿园额外收取兴趣班费用，家长很不满。", "2026-11-04 11:00", "咨询"),
]
HEADER = "工单编号,标题,内容,来电时间,诉求类型\n"


@pytest.fixture
def databases():
    names = [f"huiying_backup_{uuid.uuid4().hex[:8]}" for _ in range(2)]
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{names[0]}"')  # the restore target is made by the test
    urls = [f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}" for name in names]
    yield urls
    for url in urls:
        engine_for(url).dispose()
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        for name in names:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def export(path, rows):
    path.write_text(HEADER + "".join(",".join(row) + "\n" for row in rows), "utf-8")
    return path


def counts(url: str) -> dict[str, int]:
    engine = create_engine(url)
    with engine.connect() as db:
        found = {table: db.scalar(text(f'SELECT count(*) FROM "{table}"'))  # noqa: S608 (reflected names)
                 for table in inspect(db).get_table_names()}
    engine.dispose()
    return found


def test_a_dump_restored_into_a_new_database_carries_on(databases, tmp_path):
    source, restored = databases
    env = clean_env(HUIYING_DATA_DIR=str(tmp_path / "data"), HUIYING_DATABASE_URL=source,
                    HUIYING_ADMIN_PASSWORD="admin-password-1", HUIYING_SECRET_KEY="k" * 32)
    huiying("db", "upgrade", env=env)
    huiying("import", str(export(tmp_path / "hotline.csv", ROWS[:2])), env=env)
    with session_scope(source) as session:
        process_comments(session, unprocessed_ids(session))
    before = counts(source)
    assert before["case"] == 2 and before["case_event"] > 0 and before["user"] == 1

    # As docs/operations.md ("Backup and restore") says: a custom-format dump, a new database.
    dump = tmp_path / "huiying.dump"
    server = urlsplit(source.replace("+psycopg", ""))._replace(path="").geturl()
    subprocess.run(["pg_dump", "--format=custom", f"--file={dump}", source.replace("+psycopg", "")],
                   check=True, capture_output=True)
    target = urlsplit(restored).path.lstrip("/")
    subprocess.run(["createdb", f"--maintenance-db={server}/postgres", target], check=True,
                   capture_output=True)
    subprocess.run(["pg_restore", "--no-owner", f"--dbname={restored.replace('+psycopg', '')}", str(dump)],
                   check=True, capture_output=True)
    assert counts(restored) == before

    env = {**env, "HUIYING_DATABASE_URL": restored}
    upgrade = huiying("db", "upgrade", env=env)  # current already: nothing to do, nothing lost
    assert "First administrator created" not in upgrade.stdout + upgrade.stderr  # the restored one stands
    assert counts(restored) == before
    summary = last_json(huiying("import", str(export(tmp_path / "later.csv", ROWS[2:])), "--json",
                                env=env).stdout)
    assert summary["new"] == 1
    with session_scope(restored) as session:
        process_comments(session, unprocessed_ids(session))
        ids = list(session.scalars(select(Case.id).order_by(Case.id)))
    assert len(ids) == 3 and ids[-1] > max(ids[:-1])  # the sequences came along

    from dashboard import create_app
    from tests.dashboard.conftest import csrf_token

    app = create_app({"TESTING": True, "DATABASE_URL": restored})
    client = app.test_client()
    page = client.get("/auth/login")
    client.post("/auth/login", data={"csrf_token": csrf_token(page.text), "username": "admin",
                                     "password": "admin-password-1"})
    case_page = client.get(f"/cases/{ids[0]}")
    assert case_page.status_code == 200 and "城关小学招生划片不合理" in case_page.text
