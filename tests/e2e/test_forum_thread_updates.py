"""A forum thread crawled again: its floors are one case (the post's), a floor added since
joins that case, and the bureau's answer posted in the thread is recorded on it; nothing seen
before is analysed again."""

from __future__ import annotations

from datetime import UTC, datetime
from importlib.resources import files

import pytest
import yaml
from sqlalchemy import select

from huiying.cases import process_comments, unprocessed_ids
from huiying.db import session_scope
from huiying.models import Case, CaseEvent, CaseStatus, Comment
from tests.conftest import huiying, last_json
from tests.e2e.test_crawl_failures import serving, with_sources

LIST = ('<html><head><meta charset="utf-8"></head><body><table>'
        '<tr><td class="subject"><a href="/thread-601-1.html">城关中学食堂饭菜变质</a></td></tr>'
        '</table></body></html>')
THREAD = ('<html><head><meta charset="utf-8"></head><body><h1 id="thread_subject">城关中学食堂饭菜变质</h1>'
          '{floors}</body></html>')
FLOOR = ('<div class="post"><a class="xw1">{author}</a><em class="post-time">{at}</em>'
         '<table><tr><td class="t_f">{body}</td></tr></table></div>')
POST = ("家长甲", "2026-11-25 08:00",
        "城关中学食堂的饭菜已经变质发酸，孩子吃了肚子疼，请教育局查一查学校食堂。")
FLOORS = [("家长乙", "2026-11-25 09:00", "我家孩子也说学校食堂的菜有异味。"),
          ("家长丙", "2026-11-25 10:30", "学校食堂这个问题很久了，希望尽快处理。")]
LATER = ("家长丁", "2026-11-26 07:45", "今天学校食堂还是一样，没有任何改变。")
ANSWER = ("云溪县教育体育局", "2026-11-26 15:00", "已约谈城关中学校长，食堂停业整顿，今日起由配餐公司供餐。")


class Forum:
    def __init__(self) -> None:
        self.floors = [POST, *FLOORS]

    def __call__(self, environ, start_response):
        path = environ["PATH_INFO"]
        start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
        if path == "/robots.txt":
            return [b""]
        if path == "/forum-12-1.html":
            return [LIST.encode()]
        floors = "".join(FLOOR.format(author=a, at=t, body=b) for a, t, b in self.floors)
        return [THREAD.format(floors=floors).encode()]


@pytest.fixture
def forum():
    site = Forum()
    with serving(site) as site.url:
        yield site


def test_a_thread_is_one_case_and_its_later_floors_and_answer_join_it(migrated_env, forum, tmp_path):
    config = yaml.safe_load(files("crawler").joinpath("sources/examples/forum.yml").read_text("utf-8"))
    config.update(start_urls=[forum.url + "/forum-12-1.html"], encoding="utf-8", interval_minutes=60)
    env = with_sources(migrated_env, tmp_path, config)
    url = f"sqlite:///{tmp_path / 'data' / 'huiying.sqlite3'}"

    def crawl_and_process() -> tuple[dict, int]:
        stats = last_json(huiying("crawl", env=env).stdout)[config["name"]]
        with session_scope(url) as session:
            return stats, process_comments(session, unprocessed_ids(session))

    def the_case() -> tuple[Case, list[str]]:
        with session_scope(url) as session:
            case_ids = set(session.scalars(select(Comment.case_id)))
            assert len(case_ids) == 1, f"the thread's floors are in cases {case_ids}"
            case = session.get(Case, case_ids.pop())
            replies = list(session.scalars(select(CaseEvent.note).where(
                CaseEvent.case_id == case.id, CaseEvent.action == "source_reply")))
            session.expunge_all()
            return case, replies

    stats, processed = crawl_and_process()
    assert (stats["new"], processed) == (3, 3)
    case, replies = the_case()
    assert case.heat == 3 and case.first_reply_at is None and replies == []
    assert case.first_seen_at == datetime(2026, 11, 25, 0, 0, tzinfo=UTC)  # the post, 08:00 in Shanghai

    forum.floors = [POST, *FLOORS, LATER, ANSWER]  # a parent's new floor, then the bureau's answer
    stats, processed = crawl_and_process()
    assert (stats["new"], stats["updated"], stats["unchanged"]) == (1, 1, 2)
    assert processed == 1  # only the new floor is analysed; the post's text did not change
    case, replies = the_case()
    assert case.heat == 4
    assert case.status == CaseStatus.REPLIED
    assert case.first_reply_at == datetime(2026, 11, 26, 7, 0, tzinfo=UTC)  # 15:00 in Shanghai
    assert replies == [ANSWER[2]]

    stats, processed = crawl_and_process()  # nothing changed on the site: nothing happens
    assert (stats["new"], stats["updated"], processed) == (0, 0, 0)
    assert the_case()[0].heat == 4
