"""Hot words above the case list (the last 7 days) and on the overview (its chosen period), for
those who see every case; read from the terms the worker counts, never segmented in a request."""

import html
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from freezegun import freeze_time
from sqlalchemy import select

from analysis.hotwords import _tokenizer
from huiying import hot_terms
from huiying.models import Comment, Source, utcnow

TZ = "Asia/Shanghai"
NOW = datetime(2026, 10, 20, 12, 0, tzinfo=ZoneInfo(TZ)).astimezone(UTC)  # noon in the county


def add_recent(db, *texts, written=None):
    """Relevant comments, analysed and counted as the worker does it, written an hour apart
    before `written` (default: now)."""
    source = db.scalar(select(Source).where(Source.name == "week"))
    if source is None:
        source = Source(name="week", title="本周", kind="board")
        db.add(source)
        db.flush()
    written = written or utcnow()
    start = db.query(Comment).count()
    comments = [Comment(source_id=source.id, external_id=f"w{n}", title=text, content_hash=f"w{n}",
                        text_norm=text, relevant=True, processed_at=written,
                        published_at=written - timedelta(minutes=n + 1))
                for n, text in enumerate(texts, start)]
    db.add_all(comments)
    db.flush()
    hot_terms.count_comments(db, comments, TZ)
    db.commit()


def listed(page: str) -> str:
    """The hot words line above the case list."""
    return page.split('class="hot-words', 1)[1].split("</p>", 1)[0]


def card(page: str) -> str:
    """The hot words card of the overview, heading included."""
    return html.unescape(page.split('id="h-hot-words"', 1)[1].split("</section>", 1)[0])


def test_press_sees_hot_words_linking_to_a_search(client, auth, users, cases, db):
    add_recent(db, "校车停运了孩子怎么上学", "校车停运通知太晚", "校车司机换人了吗")
    auth.login("press", users["press"])
    page = client.get("/cases/").text
    assert "近7天热词" in page
    words = listed(page)
    assert 'href="/cases/?q=%E6%A0%A1%E8%BD%A6"' in words  # 校车
    assert ">校车<" in words and ">停运<" in words
    found = client.get("/cases/?q=校车").text
    assert f'href="/cases/{cases["bus"].id}"' in found


def test_department_users_do_not_see_everybodys_words(client, auth, users, cases, db):
    add_recent(db, "校车停运了孩子怎么上学", "校车停运通知太晚")
    auth.login("jichu", users["jichu"])
    assert "近7天热词" not in client.get("/cases/").text


def test_no_recent_comments_no_hot_words_line(client, auth, users, cases):
    auth.login("press", users["press"])
    assert "近7天热词" not in client.get("/cases/").text


def test_words_show_as_soon_as_their_comments_are_counted(client, auth, users, cases, db):
    auth.login("press", users["press"])
    assert "近7天热词" not in client.get("/cases/").text  # just started: nothing analysed yet
    add_recent(db, "校车停运了孩子怎么上学", "校车停运通知太晚", "校车司机换人了吗")
    assert ">校车<" in listed(client.get("/cases/").text)  # no cache to wait for


def test_the_pages_never_segment_text(client, auth, users, cases, db):
    add_recent(db, "校车停运了孩子怎么上学", "校车停运通知太晚", "校车司机换人了吗")
    auth.login("press", users["press"])
    _tokenizer.cache_clear()  # jieba's dictionary: built again by the first segmentation
    overview, listing = client.get("/").text, client.get("/cases/").text
    assert ">校车<" in card(overview) and ">校车<" in listed(listing)
    assert _tokenizer.cache_info().currsize == 0


@freeze_time(NOW)
def test_the_overview_shows_the_hot_words_of_its_period(client, auth, users, cases, db):
    add_recent(db, "流感来了学校是否停课", "流感停课通知", "孩子流感请假")  # this morning
    add_recent(db, "校车停运了孩子怎么上学", "校车停运通知太晚", "校车司机换人了吗",
               written=NOW - timedelta(days=20))  # 30 September
    auth.login("press", users["press"])

    def shown(query=""):
        section = card(client.get("/" + query).text)
        heading = section.split("</h2>", 1)[0].split(">", 1)[1]
        return heading, {w for w in ("流感", "停课", "校车", "停运") if f">{w}<" in section}

    assert shown() == ("热词（近7天）", {"流感", "停课"})
    assert shown("?period=today") == ("热词（今日）", {"流感", "停课"})
    assert shown("?period=30") == ("热词（近30天）", {"流感", "停课", "校车", "停运"})
    assert shown("?from=2026-09-28&to=2026-10-01") == ("热词（2026-09-28 至 2026-10-01）", {"校车", "停运"})
    assert shown("?from=2026-10-02&to=2026-10-10") == ("热词（2026-10-02 至 2026-10-10）", set())
    assert "所选时段没有热词。" in card(client.get("/?from=2026-10-02&to=2026-10-10").text)
    # The case list keeps the last 7 days whatever the overview shows.
    assert ">校车<" not in listed(client.get("/cases/?period=30").text)
