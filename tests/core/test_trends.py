"""Hot words of a period read from the counted terms rank as segmenting the period's texts did."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from analysis.hotwords import hot_words
from crawler.demo.server import load_posts
from huiying import hot_terms, trends
from huiying.cases import process_comments
from huiying.db import session_scope
from huiying.models import Comment, Source
from huiying.store import CommentData, upsert_comment
from huiying.trends import hot_words_of_days, hot_words_of_period

TZ = "Asia/Shanghai"
ZONE = ZoneInfo(TZ)
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)  # 20:00 on the 25th in Shanghai


def add_analysed(url, rows):
    """(text, when, relevant) rows stored as analysed, then counted as the worker counts them."""
    with session_scope(url) as session:
        source = Source(name="t")
        session.add(source)
        session.flush()
        comments = [Comment(source_id=source.id, external_id=str(n), title=text, content_hash=str(n),
                            text_norm=text, relevant=relevant, published_at=when, processed_at=NOW)
                    for n, (text, when, relevant) in enumerate(rows)]
        session.add_all(comments)
        session.flush()
        hot_terms.count_comments(session, comments, TZ)


def test_hot_words_of_the_week_against_the_weeks_before(database):
    old = ["城关一小报名需要哪些材料", "青石镇中学食堂价格太贵", "幼儿园保教费什么时候公布"] * 3
    new = ["校车停运了孩子怎么上学", "校车司机换人了吗", "校车停运通知太晚", "食堂价格太贵"]
    rows = [(t, NOW - timedelta(days=10 + i), True) for i, t in enumerate(old)]
    rows += [(t, NOW - timedelta(days=1, hours=i), True) for i, t in enumerate(new)]
    rows.append(("校车校车校车", NOW - timedelta(days=1), False))  # not relevant: ignored
    add_analysed(database, rows)
    with session_scope(database) as session:
        result = hot_words_of_period(session, NOW, days=7, top_k=5, tz=TZ)
    assert result["comments"] == 4 and result["background_comments"] == 9
    assert result["from"] == "2026-11-19T00:00:00+08:00" and result["to"] == "2026-11-26T00:00:00+08:00"
    words = [w["word"] for w in result["words"]]
    assert words[:2] == ["校车", "停运"]
    assert "价格" not in words[:2]


def test_a_period_is_whole_local_days(database):
    """The last day of the 1-day period "today" (the 25th, Shanghai) starts at 00:00 local:
    16:00 UTC on the 24th. A comment 10 minutes before is yesterday's, one of 00:10 today's."""
    midnight = datetime(2026, 11, 25, tzinfo=ZONE)
    add_analysed(database, [("校车停运了", midnight - timedelta(minutes=10), True),
                            ("校车停运通知太晚", midnight - timedelta(minutes=20), True),
                            ("食堂价格太贵", midnight + timedelta(minutes=10), True),
                            ("食堂价格又涨了", NOW, True)])
    with session_scope(database) as session:
        today = hot_words_of_period(session, NOW, days=1, tz=TZ)
        yesterday = hot_words_of_days(session, date(2026, 11, 24), date(2026, 11, 24), tz=TZ)
        in_utc = hot_words_of_period(session, NOW, days=1, tz="UTC")  # days as counted (Shanghai)
    assert today["comments"] == 2 and [w["word"] for w in today["words"]] == ["价格", "食堂"]
    assert today["background_comments"] == 2  # the four days before: the two of the 24th
    assert yesterday["comments"] == 2 and {w["word"] for w in yesterday["words"]} == {"校车", "停运"}
    assert in_utc["comments"] == 2  # the 25th in UTC too: a rebuild would move the counts


def _posts():
    """The demo board's 194 posts (2026-09-01 to 2026-11-25, spam and reposts included)."""
    base, later = load_posts()
    return base + later


def _local(created_at: str) -> datetime:
    return datetime.strptime(created_at, "%Y-%m-%d %H:%M").replace(tzinfo=ZONE)


def test_the_same_words_as_segmenting_the_texts_of_the_period(any_database, monkeypatch):
    """Processed as the worker processes them, the demo board's posts give the hot words
    analysis.hotwords.hot_words gives on the relevant texts of the same local days; also when
    the background is read for a few candidate terms at a time (and the rest is cut off)."""
    with session_scope(any_database) as session:
        source = Source(name="demo")
        session.add(source)
        session.flush()
        ids = [upsert_comment(session, source.id, CommentData(
            external_id=str(post["id"]), title=post["title"], body=post["body"],
            published_at=_local(post["created_at"]).astimezone(UTC)))[1].id for post in _posts()]
    with session_scope(any_database) as session:
        assert process_comments(session, ids, tz=TZ) == len(ids)
        relevant = [(c.published_at.astimezone(ZONE).date(), c.text_norm) for c in session.scalars(
            select(Comment).where(Comment.relevant.is_(True)))]
    now = datetime(2026, 11, 25, 20, 0, tzinfo=ZONE)
    for days, top_k in [(1, 20), (7, 20), (14, 10), (30, 50)]:
        last = now.date()
        first = last - timedelta(days=days - 1)
        start = first - timedelta(days=4 * days)
        with session_scope(any_database) as session:
            result = hot_words_of_period(session, now, days=days, top_k=top_k, tz=TZ)
            with monkeypatch.context() as patch:
                patch.setattr(trends, "CANDIDATES", 3)
                assert hot_words_of_period(session, now, days=days, top_k=top_k, tz=TZ) == result
        texts = [text for day, text in relevant if first <= day <= last]
        background = [text for day, text in relevant if start <= day < first]
        assert texts and background
        assert (result["comments"], result["background_comments"]) == (len(texts), len(background))
        assert [(w["word"], w["score"]) for w in result["words"]] == hot_words(texts, background, top_k)
        assert result["words"], days
