"""`huiying import` of a larger export, run as a user runs it: batches committed and enqueued
one by one, on the embedded defaults and on PostgreSQL + Redis; a file that breaks part-way."""

import base64
import json
from pathlib import Path

import pytest
import redis
from sqlalchemy import create_engine, text

from tests.conftest import PG_URL, clean_env, huiying, last_json, pg_copy
from tests.core.test_import import HEADER, write_csv
from tests.core.test_import_batches import GOOD, export, ticket


def _ids(message: dict) -> list[int]:
    return json.loads(base64.b64decode(message["body"]))[0][0]


def _comment_ids(url: str) -> list[int]:
    engine = create_engine(url)
    try:
        with engine.connect() as db:
            return list(db.execute(text("SELECT id FROM comment ORDER BY id")).scalars())
    finally:
        engine.dispose()


def test_a_file_that_breaks_part_way_keeps_the_batches_stored_and_queued(migrated_env, tmp_path):
    rows = [ticket(n) for n in range(1, GOOD + 1)]
    broken = [*rows[:227], ticket(228, body="长" * 140_000), *rows[228:]]  # line 229: over csv's limit
    path = write_csv(tmp_path / "12345.csv", HEADER, broken, encoding="utf-8")
    result = huiying("import", str(path), "--json", env=migrated_env, check=False)
    assert result.returncode == 2 and "Traceback" not in result.stderr and result.stdout == ""
    assert result.stderr.strip() == (
        "error: 12345.csv: the import stopped (line 229 of 12345.csv is not valid CSV (field larger "
        "than field limit (131072))) after storing 200 good rows, up to line 201; importing the "
        "same file again is safe: stored rows that did not change are skipped.")
    database = f"sqlite:///{Path(migrated_env['HUIYING_DATA_DIR']) / 'huiying.sqlite3'}"
    stored = _comment_ids(database)
    queue = Path(migrated_env["HUIYING_DATA_DIR"]) / "broker" / "queue"
    messages = [json.loads(f.read_text("utf-8")) for f in sorted(queue.glob("*"))]
    # The two committed batches were enqueued as they were committed, before the file broke.
    assert [_ids(m) for m in messages] == [stored[:100], stored[100:]] and len(stored) == 200

    write_csv(path, HEADER, rows, encoding="utf-8")  # fixed: the same import finishes the job
    again = last_json(huiying("import", str(path), "--json", env=migrated_env).stdout)
    assert (again["new"], again["unchanged"], again["enqueued"]) == (50, 200, 50)
    assert len(list(queue.glob("*"))) == 3


@pytest.fixture
def pg_database(request, monkeypatch):
    if not PG_URL:
        pytest.skip("HUIYING_TEST_DATABASE_URL is not set")
    yield from pg_copy(request, monkeypatch)


def test_batches_reach_redis_with_their_committed_ids(pg_database, redis_url, tmp_path):
    env = clean_env(HUIYING_DATA_DIR=str(tmp_path / "data"), HUIYING_DATABASE_URL=pg_database,
                    HUIYING_BROKER_URL=redis_url)
    path = export(tmp_path / "h.csv")
    summary = last_json(huiying("import", str(path), "--json", env=env).stdout)
    assert (summary["rows"], summary["new"], summary["rejected"], summary["enqueued"]) == (GOOD + 4, GOOD,
                                                                                          4, GOOD)
    assert summary["rejects_file"] == str(tmp_path / "h.rejects.csv")
    broker = redis.Redis.from_url(redis_url)
    messages = [json.loads(m) for m in reversed(broker.lrange("analysis", 0, -1))]
    stored = _comment_ids(pg_database)
    assert [_ids(m) for m in messages] == [stored[:100], stored[100:200], stored[200:]]

    again = last_json(huiying("import", str(path), "--json", env=env).stdout)
    assert (again["new"], again["unchanged"], again["enqueued"]) == (0, GOOD, 0)
    assert broker.llen("analysis") == 3
