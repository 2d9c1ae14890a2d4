"""`import_file` stores an export in committed batches and hands each batch's ids over only
after its commit (seen here from a second connection), so workers start while the import goes
on; a failure part-way says how many rows are stored, and importing again finishes the job."""

import base64
import csv
import json
from dataclasses import replace

import pytest
import redis
from sqlalchemy import create_engine, func, select, text

from huiying import settings as settings_module
from huiying.cases import process_comments, unprocessed_ids
from huiying.db import session_scope
from huiying.errors import ImportStopped
from huiying.imports import import_file
from huiying.models import Case, Comment
from huiying.queue import BATCH, enqueue_comments
from tests.conftest import PG_URL, free_port, pg_database_name, pg_server
from tests.core.test_import import HEADER, HISTORY, write_csv

GOOD = 250


def ticket(n: int, body: str | None = None) -> list[str]:
    return [f"B{n:04d}", "2026-02-12 10:30", "", "", "投诉", f"第{n}号工单",
            body if body is not None else f"青石镇中学食堂饭菜发霉，孩子吃了拉肚子（{n}）。", ""]


def export(path, good: int = GOOD):
    """`good` tickets, and among them four rejects: no body (twice), a bad time, and in the
    second batch an external id of the first one again."""
    rows = [ticket(n) for n in range(1, good + 1)]
    rows.insert(50, [*ticket(9001)[:6], "", ""])
    rows.insert(120, [*ticket(9002)[:1], "下周二", *ticket(9002)[2:]])
    rows.insert(180, ticket(7, body="重复的编号"))
    rows.append([*ticket(9003)[:6], "", ""])
    return write_csv(path, HEADER, rows)


def committed(url: str):
    """What another connection sees: (count of comments, function: are these ids stored?)."""
    engine = create_engine(url)

    def look(ids):
        with engine.connect() as db:
            total = db.scalar(select(func.count()).select_from(Comment.__table__))
            found = db.scalar(select(func.count()).select_from(Comment.__table__)
                              .where(Comment.__table__.c.id.in_(ids)))
        return total, found == len(ids)

    return engine, look


def test_each_batch_is_committed_before_its_ids_are_handed_over(any_database, tmp_path):
    path = export(tmp_path / "12345.csv")
    engine, look = committed(any_database)
    seen = []
    try:
        with session_scope(any_database) as session:
            result = import_file(session, path, on_batch=lambda ids: seen.append((ids, *look(ids))))
    finally:
        engine.dispose()
    assert [(len(ids), total, stored) for ids, total, stored in seen] == [
        (100, 100, True), (100, 200, True), (50, 250, True)]
    assert result.to_process == [i for ids, _, _ in seen for i in ids]
    assert (result.rows, result.new, result.updated, result.unchanged) == (GOOD + 4, GOOD, 0, 0)
    assert [(r.line, r.reason) for r in result.rejects] == [
        (52, "内容为空。"), (122, "受理时间“下周二”不是日期和时间。"), (182, "编号 B0007 与第 8 行重复。"),
        (255, "内容为空。")]
    with open(result.rejects_file, encoding="utf-8-sig", newline="") as fh:
        assert [row[0] for row in list(csv.reader(fh))[1:]] == ["52", "122", "182", "255"]
    with session_scope(any_database) as session:
        assert unprocessed_ids(session) == sorted(result.to_process)
        assert session.scalar(select(Comment.body).where(Comment.external_id == "B0007")).endswith("（7）。")

    # Importing it again: every row unchanged, nothing handed over, the rejects written again.
    again_seen = []
    with session_scope(any_database) as session:
        again = import_file(session, path, on_batch=again_seen.append)
    assert (again.new, again.updated, again.unchanged, again.to_process, again_seen) == (0, 0, GOOD, [], [])
    assert len(again.rejects) == 4 and again.rejects_file == result.rejects_file


def test_each_batch_reaches_the_broker_once_committed(any_database, redis_url, tmp_path, monkeypatch):
    monkeypatch.setenv("HUIYING_BROKER_URL", redis_url)
    settings = settings_module.load()
    broker = redis.Redis.from_url(redis_url)
    engine, look = committed(any_database)
    queued = []

    def enqueue(ids):
        assert look(ids)[1], "ids handed over before their rows were committed"
        enqueue_comments(settings, ids)
        queued.append(broker.llen("analysis"))

    try:
        with session_scope(any_database) as session:
            result = import_file(session, export(tmp_path / "h.csv"), on_batch=enqueue)
    finally:
        engine.dispose()
    assert queued == [1, 2, 3]  # one message per batch, sent while the import went on
    messages = [json.loads(m) for m in reversed(broker.lrange("analysis", 0, -1))]
    batches = [json.loads(base64.b64decode(m["body"]))[0][0] for m in messages]
    assert [m["headers"]["task"] for m in messages] == ["worker.tasks.process_comments"] * 3
    assert batches == [result.to_process[i:i + BATCH] for i in range(0, GOOD, BATCH)]


@pytest.mark.skipif(not PG_URL, reason="needs HUIYING_TEST_DATABASE_URL (make test sets it)")
@pytest.mark.parametrize("any_database", ["postgresql"], indirect=True)  # stops a server's database
def test_the_database_going_away_part_way_says_what_is_stored(any_database, tmp_path):
    name = pg_database_name(PG_URL)
    path = export(tmp_path / "h.csv")

    def after(ids):
        if len(ids) == BATCH and after.calls == 1:  # the second batch is in: the database goes
            pg_server(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false',  # name: checked
                      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "  # noqa: S608
                      f"WHERE datname = '{name}'")
        after.calls += 1

    after.calls = 0
    try:
        with pytest.raises(ImportStopped) as stopped, session_scope(any_database) as session:
            import_file(session, path, on_batch=after)
    finally:
        pg_server(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
    message = str(stopped.value)
    assert (stopped.value.stored, stopped.value.last_line) == (200, 204)
    assert message.startswith("h.csv: the import stopped (the database failed: ")
    assert message.endswith(
        ") after storing 200 good rows, up to line 204; the 4 rows rejected so far are in "
        f"{tmp_path / 'h.rejects.csv'}; importing the same file again is safe: stored rows that did "
        "not change are skipped.")
    with open(tmp_path / "h.rejects.csv", encoding="utf-8-sig", newline="") as fh:
        assert [row[0] for row in list(csv.reader(fh))[1:]] == ["52", "122", "182", "255"]

    # The database is back: the same import stores the rest, the first 200 rows unchanged.
    seen = []
    with session_scope(any_database) as session:
        again = import_file(session, path, on_batch=seen.append)
        assert session.scalar(select(func.count(Comment.id))) == GOOD
    assert (again.new, again.unchanged, [len(ids) for ids in seen]) == (50, 200, [50])
    assert len(again.rejects) == 4


def test_ids_the_broker_did_not_take_are_stored_for_the_sweep(any_database, redis_url, tmp_path,
                                                              monkeypatch):
    monkeypatch.setenv("HUIYING_BROKER_URL", redis_url)
    settings = settings_module.load()
    dead = replace(settings, broker_url=f"redis://127.0.0.1:{free_port()}/0")  # nothing listens
    sent = []

    def enqueue(ids):
        enqueue_comments(settings if not sent else dead, ids)  # the broker goes after one batch
        sent.append(ids)

    with pytest.raises(ImportStopped) as stopped, session_scope(any_database) as session:
        import_file(session, export(tmp_path / "h.csv"), on_batch=enqueue)
    assert str(stopped.value).startswith(
        "h.csv: the import stopped (the stored rows could not be queued for processing: Error 111 ")
    assert ") after storing 200 good rows, up to line 204 (the ids of the last 100 are not queued: " \
        "the periodic sweep queues them); the 3 rows rejected so far" in str(stopped.value)
    assert len(sent) == 1 and redis.Redis.from_url(redis_url).llen("analysis") == 1
    with session_scope(any_database) as session:
        # Stored and unprocessed, so the sweep sends them; re-importing them is a no-op.
        assert len(unprocessed_ids(session)) == 200


def test_an_answer_in_a_later_batch_is_recorded_on_its_case(any_database, tmp_path):
    """A row imported before it was answered, re-imported with its answer in the second batch
    among unchanged rows, replies its case, as the one-row path did."""
    def rows(answer: bool):
        made = [[f"H{n}", "2026-02-12 10:30", "咨询", f"第{n}号", f"请问城关二小招生划片范围（{n}）？",
                 "", "", "", ""] for n in range(1, 151)]
        if answer:
            made[129][5:8] = ["划片范围已公布。", "2026-02-13 09:00", "基础教育股"]
        return made

    path = tmp_path / "history.csv"
    with session_scope(any_database) as session:
        import_file(session, write_csv(path, HISTORY, rows(False)))
    with session_scope(any_database) as session:
        one = session.scalar(select(Comment.id).where(Comment.external_id == "H130"))
        process_comments(session, [one])
    seen = []
    with session_scope(any_database) as session:
        result = import_file(session, write_csv(path, HISTORY, rows(True)), on_batch=seen.append)
    # Answered only: recorded on the case, not analysed again; the others are left alone.
    assert (result.updated, result.unchanged, result.to_process, seen) == (1, 149, [], [])
    with session_scope(any_database) as session:
        case = session.scalar(select(Case))
        assert session.scalar(select(func.count(Case.id))) == 1
        assert case.status == "已回复" and case.replied_on_time is True
        assert session.execute(text("SELECT count(*) FROM case_event WHERE action = 'source_reply'")
                               ).scalar() == 1
