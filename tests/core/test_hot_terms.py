"""Hot-word terms counted per local day as comments are processed (huiying/hot_terms.py),
on SQLite and on PostgreSQL."""

import json
import threading
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from alembic import command
from sqlalchemy import delete, select, update

from analysis.hotwords import _tokenizer
from huiying import hot_terms
from huiying.cases import process_comments
from huiying.db import engine_for, new_session, session_scope
from huiying.migrate import alembic_config
from huiying.models import Comment, Source, TermDay, TermDayTotal
from huiying.store import CommentData, upsert_comment
from tests.conftest import SQLITE_FILE, huiying

TZ = "Asia/Shanghai"
ZONE = ZoneInfo(TZ)
SPAM = "出售二手车，价格优惠，联系微信"
# (title, body, local time written): two local days, one comment 10 minutes before midnight
# (UTC 15:50, the previous UTC day would be wrong too), and one spam text.
WRITTEN = [
    ("校车停运了孩子怎么上学", "城关一小的校车停运三天了", datetime(2026, 11, 23, 9, 0)),
    ("校车司机换人了吗", "校车停运通知太晚", datetime(2026, 11, 23, 23, 50)),
    ("学校食堂饭菜价格又涨了", "孩子吃不饱，食堂价格太贵", datetime(2026, 11, 24, 0, 10)),
    ("幼儿园保教费什么时候公布", "保教费上涨了吗", datetime(2026, 11, 24, 12, 0)),
    (SPAM, "", datetime(2026, 11, 24, 13, 0)),
]


def store(url, rows=WRITTEN, source_name="t"):
    """Store comments as a crawl does (upsert_comment) and return their ids."""
    with session_scope(url) as session:
        source = session.scalar(select(Source).where(Source.name == source_name)) or Source(name=source_name)
        session.add(source)
        session.flush()
        ids = []
        for n, (title, body, local) in enumerate(rows):
            data = CommentData(external_id=f"{source_name}{n}", title=title, body=body,
                               published_at=local.replace(tzinfo=ZONE).astimezone(UTC))
            ids.append(upsert_comment(session, source.id, data)[1].id)
        return ids


def process(url, ids):
    with session_scope(url) as session:
        return process_comments(session, ids, tz=TZ)


def tables(url):
    """term_day and term_day_total as dicts, rows of 0 left out."""
    with session_scope(url) as session:
        terms = {(d, t): n for d, t, n in session.execute(select(TermDay.day, TermDay.term, TermDay.docs))
                 if n}
        totals = {d: n for d, n in session.execute(select(TermDayTotal.day, TermDayTotal.docs)) if n}
    return terms, totals


def expected(url):
    """The tables segmenting the stored comments afresh gives: what they must always hold."""
    terms, totals = Counter(), Counter()
    with session_scope(url) as session:
        for comment in session.scalars(select(Comment).where(Comment.relevant.is_(True),
                                                             Comment.processed_at.is_not(None))):
            day = comment.published_at.astimezone(ZONE).date()
            totals[day] += 1
            for term in set(hot_terms.terms_of(comment.text_norm)):
                terms[day, term] += 1
    return dict(terms), dict(totals)


def test_processing_counts_each_relevant_comment_on_its_local_day(any_database):
    ids = store(any_database)
    assert process(any_database, ids) == 5
    terms, totals = tables(any_database)
    assert (terms, totals) == expected(any_database)
    monday, tuesday = date(2026, 11, 23), date(2026, 11, 24)
    assert totals == {monday: 2, tuesday: 2}  # 23:50 local is Monday's, the spam is not counted
    assert terms[monday, "校车"] == 2 and terms[monday, "停运"] == 2  # texts, not occurrences
    assert terms[tuesday, "保教费"] == 1 and (tuesday, "二手车") not in terms
    with session_scope(any_database) as session:
        first = session.get(Comment, ids[0])
        assert first.terms_day == monday and first.terms == sorted(set(first.terms))
        assert "校车" in first.terms and "停运" in first.terms
        spam = session.get(Comment, ids[4])
        assert spam.relevant is False and spam.terms is None and spam.terms_day is None


def test_a_comment_processed_again_is_counted_once(any_database):
    ids = store(any_database)
    process(any_database, ids)
    before = tables(any_database)
    with session_scope(any_database) as session:  # processed again, text unchanged (a topic edit)
        session.execute(update(Comment).where(Comment.id.in_(ids)).values(processed_at=None))
    process(any_database, ids)
    assert tables(any_database) == before
    # The text edited on the board: the next crawl stores it, processing counts the new text.
    store(any_database, [("城关一小的校车", "校车恢复了，谢谢教育局", WRITTEN[0][2]), *WRITTEN[1:]])
    assert process(any_database, ids) == 1
    terms, totals = tables(any_database)
    assert (terms, totals) == expected(any_database)
    monday = date(2026, 11, 23)
    assert totals[monday] == 2 and terms[monday, "校车"] == 2
    assert terms[monday, "停运"] == 1 and terms[monday, "恢复"] == 1


def test_a_comment_turned_irrelevant_is_taken_away(any_database):
    ids = store(any_database)
    process(any_database, ids)
    store(any_database, [(SPAM, "", WRITTEN[0][2]), *WRITTEN[1:]])  # edited into an advert
    process(any_database, ids)
    terms, totals = tables(any_database)
    assert (terms, totals) == expected(any_database)
    monday = date(2026, 11, 23)
    assert totals[monday] == 1 and terms[monday, "校车"] == 1
    with session_scope(any_database) as session:
        edited = session.get(Comment, ids[0])
        assert edited.relevant is False and edited.terms is None and edited.terms_day is None


def test_a_relevance_correction_counts_without_segmenting(any_database):
    ids = store(any_database)
    process(any_database, ids)
    counted = tables(any_database)
    _tokenizer.cache_clear()
    with session_scope(any_database) as session:  # a press officer: not relevant
        comment = session.get(Comment, ids[0])
        comment.relevant = False
        assert hot_terms.count_comments(session, [comment], TZ, segment=False) == 0
    terms, totals = tables(any_database)
    monday = date(2026, 11, 23)
    assert totals[monday] == 1 and terms[monday, "校车"] == 1
    with session_scope(any_database) as session:  # changed back: the stored terms count again
        comment = session.get(Comment, ids[0])
        assert comment.terms_day is None and "校车" in comment.terms
        comment.relevant = True
        assert hot_terms.count_comments(session, [comment], TZ, segment=False) == 1
    assert _tokenizer.cache_info().currsize == 0  # jieba was never loaded
    assert tables(any_database) == counted


def test_a_comment_never_segmented_is_counted_by_the_sweep(any_database):
    ids = store(any_database)
    process(any_database, ids)
    counted = tables(any_database)
    _tokenizer.cache_clear()
    with session_scope(any_database) as session:  # the spam judged relevant by a person
        spam = session.get(Comment, ids[4])
        spam.relevant = True
        assert hot_terms.count_comments(session, [spam], TZ, segment=False) == 0
    assert tables(any_database) == counted and _tokenizer.cache_info().currsize == 0
    with session_scope(any_database) as session:
        assert hot_terms.count_uncounted(session, TZ) == 1
        assert hot_terms.count_uncounted(session, TZ) == 0
    terms, totals = tables(any_database)
    assert (terms, totals) == expected(any_database)
    assert totals[date(2026, 11, 24)] == 3 and terms[date(2026, 11, 24), "二手车"] == 1


def test_rebuild_gives_the_tables_counting_gave(any_database):
    ids = store(any_database)
    process(any_database, ids)
    store(any_database, [("校车停运了孩子怎么上学", "城关一小的校车恢复了", WRITTEN[0][2]), *WRITTEN[1:]])
    process(any_database, ids)
    counted = tables(any_database)
    with session_scope(any_database) as session:  # a second rebuild changes nothing
        result = hot_terms.rebuild(session, TZ, batch=2)
    assert result == {"comments_checked": 4, "comments_counted": 4, "days": 2,
                      "day_terms": len(counted[0])}
    assert tables(any_database) == counted
    # An installation upgraded from schema 0010: comments processed, nothing counted.
    with session_scope(any_database) as session:
        session.execute(delete(TermDay))
        session.execute(delete(TermDayTotal))
        session.execute(update(Comment).values(terms=None, terms_day=None))
    with session_scope(any_database) as session:
        assert hot_terms.needs_rebuild(session)
        progress = []
        result = hot_terms.rebuild(session, TZ, batch=3, progress=lambda *p: progress.append(p))
        assert not hot_terms.needs_rebuild(session)
    assert progress == [(3, 4), (4, 4)] and result["comments_counted"] == 4
    assert tables(any_database) == counted == expected(any_database)


def test_rebuild_moves_the_counts_to_the_days_of_another_time_zone(any_database):
    ids = store(any_database)
    process(any_database, ids)
    with session_scope(any_database) as session:
        hot_terms.rebuild(session, "UTC")
    _terms, totals = tables(any_database)
    # 23:50 and 00:10 in Shanghai are 15:50 and 16:10 UTC on the 23rd; 09:00 is 01:00 UTC.
    assert totals == {date(2026, 11, 23): 3, date(2026, 11, 24): 1}


def test_two_workers_counting_at_once_lose_nothing(any_database):
    """Two transactions count comments with the same terms, the second while the first holds
    its rows: increments in SQL, so both count (a read-then-write would keep one)."""
    ids = store(any_database, [WRITTEN[0], WRITTEN[0][:2] + (WRITTEN[0][2] + timedelta(hours=1),)])
    with session_scope(any_database) as session:  # analysed (relevant), not counted yet
        process_comments(session, ids, tz=TZ)
        session.execute(delete(TermDay))
        session.execute(delete(TermDayTotal))
        session.execute(update(Comment).values(terms_day=None))
    first, second = new_session(any_database), new_session(any_database)
    done = threading.Event()
    try:
        hot_terms.count_comments(first, [first.get(Comment, ids[0])], TZ)
        first.flush()  # its rows are written and locked until it commits

        def other():
            hot_terms.count_comments(second, [second.get(Comment, ids[1])], TZ)
            second.commit()
            done.set()

        worker = threading.Thread(target=other)
        worker.start()
        assert not done.wait(1.0)  # waits for the first transaction's rows
        first.commit()
        worker.join(30)
        assert done.is_set()
    finally:
        first.close()
        second.close()
    terms, totals = tables(any_database)
    assert totals == {date(2026, 11, 23): 2} and terms[date(2026, 11, 23), "校车"] == 2


def test_db_upgrade_counts_the_comments_of_an_installation_once(migrated_env):
    """An installation at schema 0010 with processed comments: `huiying db upgrade` migrates
    and counts them once, saying so; `huiying hotwords rebuild` counts them again, the same."""
    url = f"sqlite:///{migrated_env['HUIYING_DATA_DIR']}/{SQLITE_FILE}"
    process(url, store(url))
    counted = tables(url)
    command.downgrade(alembic_config(url), "0010")  # as it was before this version
    engine_for(url).dispose()

    upgraded = huiying("db", "upgrade", env=migrated_env)
    assert "hot words: counting the terms of the stored relevant comments once" in upgraded.stderr
    assert "hot words: 4 comments counted over 2 days." in upgraded.stderr
    assert tables(url) == counted
    assert "hot words" not in huiying("db", "upgrade", env=migrated_env).stderr  # once

    rebuilt = huiying("hotwords", "rebuild", env=migrated_env)
    assert json.loads(rebuilt.stdout) == {"comments_checked": 4, "comments_counted": 4, "days": 2,
                                          "day_terms": len(counted[0])}
    assert "hot words: 4/4 comments counted" in rebuilt.stderr
    assert tables(url) == counted
    shown = json.loads(huiying("hotwords", "--days", "7", "--json", env=migrated_env).stdout)
    assert set(shown) == {"from", "to", "comments", "background_comments", "words"}
