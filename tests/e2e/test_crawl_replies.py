"""Incremental crawls: a post seen before is not analysed again, but a post the board answers
later has the answer recorded on its case — who, when, what — the next time it is crawled."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from huiying.cases import process_comments, unprocessed_ids
from huiying.cli.runner import demo_config
from huiying.db import session_scope
from huiying.models import Case, CaseEvent, CaseStatus, Comment
from tests.conftest import huiying, last_json
from tests.e2e.test_crawl_failures import serving, with_sources

POST = ('<html><head><meta charset="utf-8"></head><body><div class="msg">'
        '<h1 class="msg-title">{title}</h1><span class="msg-author">家长</span>'
        '<span class="msg-time">{written}</span><div class="msg-body"><p>{body}</p></div>{reply}'
        '</div></body></html>')
REPLY = ('<div class="reply"><p>答复单位：<span class="reply-dept">基础教育股</span> 答复时间：'
         '<span class="reply-time">{at}</span></p><div class="reply-body"><p>{text}</p></div></div>')
POSTS = {
    1: ("城关小学校车超载", "2026-11-20 09:00", "城关小学的校车每天都超载，孩子们挤在过道里，太危险了。"),
    2: ("青石镇中学食堂涨价", "2026-11-21 10:00", "青石镇中学食堂饭菜涨价了，学生吃不起，希望教育局管一管。"),
}


class Board:
    """A board whose answers the test adds between crawls."""

    def __init__(self) -> None:
        self.replies: dict[int, tuple[str, str]] = {}

    def __call__(self, environ, start_response):
        path = environ["PATH_INFO"]
        start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
        if path == "/robots.txt":
            return [b""]
        if path == "/board":
            links = "".join(f'<li class="msg-item"><a class="msg-title" href="/msg/{n}.html">x</a></li>'
                            for n in POSTS)
            return [f'<ul class="msg-list">{links}</ul>'.encode()]
        number = int(path.removeprefix("/msg/").removesuffix(".html"))
        title, written, body = POSTS[number]
        at, text = self.replies.get(number, (None, None))
        reply = REPLY.format(at=at, text=text) if at else ""
        return [POST.format(title=title, written=written, body=body, reply=reply).encode()]


@pytest.fixture
def board():
    site = Board()
    with serving(site) as site.url:
        yield site


def test_a_reply_given_on_the_board_after_a_crawl_is_recorded_on_its_case(migrated_env, board, tmp_path):
    config = demo_config(board.url).as_dict()
    config.update(name="county", title="县长信箱", start_urls=[board.url + "/board"], interval_minutes=60)
    env = with_sources(migrated_env, tmp_path, config)
    url = f"sqlite:///{tmp_path / 'data' / 'huiying.sqlite3'}"

    def crawl() -> dict:
        return last_json(huiying("crawl", env=env).stdout)["county"]

    def cases() -> dict[int, tuple[Case, list[CaseEvent]]]:
        with session_scope(url) as session:
            found = {}
            for comment in session.scalars(select(Comment).order_by(Comment.id)):
                events = list(session.scalars(select(CaseEvent).where(
                    CaseEvent.case_id == comment.case_id, CaseEvent.action == "source_reply")))
                found[int(comment.external_id)] = (comment.case, events)
            session.expunge_all()
            return found

    assert crawl()["new"] == 2
    with session_scope(url) as session:
        assert process_comments(session, unprocessed_ids(session)) == 2
        processed = dict(session.execute(select(Comment.external_id, Comment.processed_at)).all())
    before = cases()
    assert all(case is not None and case.first_reply_at is None for case, _ in before.values())

    board.replies[1] = ("2026-11-22 16:30", "已责成城关小学增加校车班次，严禁超载。")
    second = crawl()
    assert (second["new"], second["updated"], second["unchanged"]) == (0, 1, 1)
    after = cases()
    case, events = after[1]
    assert case.status == CaseStatus.REPLIED
    assert case.first_reply_at == datetime(2026, 11, 22, 8, 30, tzinfo=UTC)  # 16:30 in Shanghai
    assert case.replied_on_time is False  # a 舆情 clock of 48 h from 11-20 09:00 had run out
    assert [e.note for e in events] == ["已责成城关小学增加校车班次，严禁超载。"]
    assert after[2][0].status == before[2][0].status and after[2][1] == []
    with session_scope(url) as session:
        # Not analysed again: the text is what it was; nothing waits for the worker.
        assert unprocessed_ids(session) == []
        assert dict(session.execute(select(Comment.external_id, Comment.processed_at)).all()) == processed

    third = crawl()  # the same answer seen again records nothing more
    assert (third["updated"], third["unchanged"]) == (0, 2)
    with session_scope(url) as session:
        assert session.scalar(select(func.count()).select_from(CaseEvent)
                              .where(CaseEvent.action == "source_reply")) == 1
