"""Two real worker processes fold reposts into the same cases at once, on PostgreSQL + Redis:
no increment of a case's heat is lost (heat is an SQL increment, huiying/workflow.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import create_engine, func, select, text

from huiying.db import session_scope
from huiying.models import Case, Comment, Source
from tests.conftest import clean_env, empty_database, huiying, wait_until
from tests.e2e.test_production import start, stop

pytestmark = pytest.mark.integration

STORIES = [  # two cases that every batch touches: both workers write to them all the time
    ("城关二小招生划片范围什么时候公布", "孩子明年上一年级，想知道城关二小的招生划片范围什么时候公布。"),
    ("青石镇中学食堂饭菜发霉", "青石镇中学食堂的饭菜发霉了，孩子吃了拉肚子，请教育局管一管。"),
]
REPOSTS = 150  # per story, besides the first post
BATCH = 2  # comments per task (one of each story): both workers touch both cases at once


def story_comments(source_id: int, start: datetime) -> list[Comment]:
    comments = []
    for number in range(REPOSTS):
        for index, (title, body) in enumerate(STORIES):
            comments.append(Comment(
                source_id=source_id, external_id=f"r{index}-{number}",
                url=f"http://board.example/{index}/{number}",
                title=f"转发：{title}", body=body, author=f"网友{number}",
                published_at=start + timedelta(minutes=number), content_hash=f"repost-{index}-{number}"))
    return comments


def send_batches(env, ids: list[int]) -> None:
    code = ("import json, sys; from huiying import settings; from huiying.queue import producer, "
            "PROCESS_COMMENTS; app = producer(settings.load()); ids = json.load(sys.stdin); "
            f"[app.send_task(PROCESS_COMMENTS, args=[ids[i:i + {BATCH}]]) "
            f"for i in range(0, len(ids), {BATCH})]")

    subprocess.run([sys.executable, "-c", code], env=env, input=json.dumps(ids), text=True,
                   check=True, timeout=120)


def test_two_workers_lose_no_heat(request, tmp_path, pg_url, redis_url):
    # pg_url is the session's shared database: leave it empty for the next test, also on failure.
    request.addfinalizer(lambda: empty_database(pg_url))
    env = clean_env(HUIYING_DATA_DIR=str(tmp_path / "data"), HUIYING_DATABASE_URL=pg_url,
                    HUIYING_BROKER_URL=redis_url, HUIYING_SECRET_KEY="x" * 32)
    huiying("db", "upgrade", env=env)
    start_time = datetime.now(UTC) - timedelta(days=1)
    with session_scope(pg_url) as session:
        source = Source(name="board", title="留言板", kind="board")
        session.add(source)
        session.flush()
        firsts = [Comment(source_id=source.id, external_id=f"p{index}",
                          url=f"http://board.example/{index}",
                          title=title, body=body, published_at=start_time, content_hash=f"post-{index}")
                  for index, (title, body) in enumerate(STORIES)]
        session.add_all(firsts)
        session.flush()
        first_ids = [c.id for c in firsts]
        reposts = story_comments(source.id, start_time + timedelta(minutes=5))
        session.add_all(reposts)
        session.flush()
        repost_ids = [c.id for c in reposts]

    logs = [open(tmp_path / f"worker-{n}.log", "w") for n in range(2)]  # noqa: SIM115
    workers = [start(env, "worker", "--concurrency", "1", "--queues", "analysis", log=log) for log in logs]
    engine = create_engine(pg_url)
    try:
        send_batches(env, first_ids)  # one case per story first, then the reposts race into them

        def processed(count):
            with engine.connect() as db:
                return db.scalar(text("SELECT count(*) FROM comment WHERE processed_at IS NOT NULL")) >= count

        wait_until(lambda: processed(len(first_ids)), timeout=180, message="first posts not processed")
        send_batches(env, repost_ids)
        wait_until(lambda: processed(len(first_ids) + len(repost_ids)), timeout=600,
                   message="reposts not processed")
    finally:
        stop(*workers)
        for log in logs:
            log.close()
        engine.dispose()

    assert_heat_is_the_comment_count(pg_url)


def assert_heat_is_the_comment_count(pg_url: str) -> None:
    with session_scope(pg_url) as session:
        members = dict(session.execute(
            select(Comment.case_id, func.count()).where(Comment.case_id.is_not(None))
            .group_by(Comment.case_id)).all())
        heats = dict(session.execute(
            select(Case.id, Case.heat).where(Case.merged_into_id.is_(None))).all())
        folded = sum(members.values())
    assert folded >= len(STORIES) * REPOSTS, "most reposts should have folded into the story cases"
    wrong = {case: (heat, members.get(case, 0)) for case, heat in heats.items()
             if heat != members.get(case, 0)}
    assert wrong == {}, f"cases whose heat is not their comment count (heat, comments): {wrong}"
    assert max(members.values()) > REPOSTS / 2, "the reposts did not meet in shared cases"
