"""A processing batch folds its comments into cases from what it read once: cases it opened a
moment ago included, in a bounded number of statements, and without two cases of one text when
two workers meet the same new text at once."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import event, func, select

from crawler.demo import load_posts
from huiying.cases import process_comments
from huiying.db import engine_for, session_scope
from huiying.models import Case, CaseEvent, CaseStatus, Comment
from tests.conftest import PG_URL
from tests.core.conftest import add_comments

PLAYGROUND = ("城关二小操场塑胶跑道气味刺鼻", "城关二小新铺的塑胶跑道气味很刺鼻，孩子上完体育课头晕，"
              "家长担心跑道材料不合格，请教育局尽快检测并公布结果。")
# The same complaint in other words at its end: no repost word for word, a near-duplicate.
PLAYGROUND_AGAIN = (PLAYGROUND[0],
                    PLAYGROUND[1].replace("请教育局尽快检测并公布结果。", "希望有关部门马上来查一查。"))


def test_a_near_duplicate_joins_the_case_opened_earlier_in_its_batch(any_database):
    ids = add_comments(any_database, PLAYGROUND, PLAYGROUND_AGAIN)
    with session_scope(any_database) as session:
        assert process_comments(session, ids) == 2
        case = session.scalar(select(Case))
        assert session.scalar(select(func.count(Case.id))) == 1
        assert case.heat == 2
        assert [c.id for c in case.comments] == ids
        joined = session.scalar(select(CaseEvent).where(CaseEvent.action == "merge_comment"))
        assert joined.note == f"近似重复：留言 #{ids[1]}"


def test_a_near_duplicate_in_a_later_batch_joins_by_the_stored_signatures(any_database):
    first = add_comments(any_database, PLAYGROUND)
    with session_scope(any_database) as session:
        process_comments(session, first)
    later = add_comments(any_database, PLAYGROUND_AGAIN)
    with session_scope(any_database) as session:
        process_comments(session, later)
        assert session.scalar(select(func.count(Case.id))) == 1
        assert session.scalar(select(Case)).heat == 2


def demo_posts(count: int) -> list[tuple[str, str]]:
    """Distinct real requests of the demo board (no two near-duplicates of each other)."""
    posts, _ = load_posts()
    return [(post["title"], post["body"]) for post in posts[:count]]


def processed_counting_statements(url: str, ids: list[int]) -> list[str]:
    """Process `ids` as one batch; the SQL statements it sent."""
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    engine = engine_for(url)
    event.listen(engine, "before_cursor_execute", count)
    try:
        with session_scope(url) as session:
            assert process_comments(session, ids) == len(ids)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return statements


def test_a_batch_costs_a_few_statements_not_some_per_comment(any_database):
    """The statement count of a 100-comment batch (reposts, near-duplicates and new cases):
    set-based folding issues about twenty on PostgreSQL, whatever the batch's size; folding one
    comment at a time issued some 20 per comment (about 2,000 here). Counted, not timed."""
    posts = demo_posts(50)
    ids = add_comments(any_database, *posts, *[("转发：" + title, body) for title, body in posts])
    statements = processed_counting_statements(any_database, ids)
    with session_scope(any_database) as session:
        in_cases = session.scalar(select(func.count(Comment.id)).where(Comment.case_id.is_not(None)))
        heat = session.scalar(select(func.sum(Case.heat)))
        assert in_cases == heat and in_cases > 60  # the relevant posts and their reposts
        assert session.scalar(select(func.max(Case.heat))) >= 2
    reads = [statement for statement in statements if statement.lstrip().startswith("SELECT")]
    assert len(reads) <= 15, "\n".join(reads)  # none per comment
    if any_database.startswith("postgresql"):
        # The inserts too are one statement per table (SQLite's driver inserts the ORM's new
        # objects one row at a time; in process, each costs microseconds).
        assert len(statements) <= 40, "\n".join(statements)
        # Each comment's row is written once: its analysis, case and hot-word terms together
        # (rows read FOR UPDATE are current; a second UPDATE would rewrite every row and index).
        comment_updates = [s for s in statements if s.lstrip().startswith("UPDATE comment")]
        assert len(comment_updates) == 1, "\n".join(comment_updates)
        with session_scope(any_database) as session:
            counted = session.scalar(select(func.count(Comment.id)).where(Comment.terms_day.is_not(None)))
            assert counted == session.scalar(select(func.count(Comment.id)).where(Comment.relevant.is_(True)))


def test_comments_joining_existing_cases_write_each_case_once(any_database):
    """The join's event touches the case in the same UPDATE as its heat increment (one row
    version per case and batch, not an ORM UPDATE of updated_at and then the increment)."""
    posts = demo_posts(20)
    with session_scope(any_database) as session:
        process_comments(session, add_comments(any_database, *posts))
        before = {case.id: (case.heat, case.updated_at) for case in session.scalars(select(Case))}
    reposts = add_comments(any_database, *[("转发：" + title, body) for title, body in posts])
    statements = processed_counting_statements(any_database, reposts)
    case_updates = [s for s in statements if s.lstrip().startswith('UPDATE "case"')]
    assert len(case_updates) == 1, "\n".join(case_updates)
    with session_scope(any_database) as session:
        after = {case.id: (case.heat, case.updated_at) for case in session.scalars(select(Case))}
        joined = session.scalar(select(func.count(Comment.id)).where(Comment.id.in_(reposts),
                                                                     Comment.case_id.is_not(None)))
    assert sorted(after) == sorted(before) and joined > 10, (before, after)  # no new case: all joined
    assert sum(heat for heat, _ in after.values()) == sum(heat for heat, _ in before.values()) + joined
    assert all(after[case_id][1] > updated_at for case_id, (_, updated_at) in before.items())


@pytest.mark.skipif(not PG_URL, reason="needs HUIYING_TEST_DATABASE_URL (make test sets it)")
@pytest.mark.parametrize("any_database", ["postgresql"], indirect=True)
def test_two_workers_meeting_the_same_new_texts_open_one_case_each(any_database):
    stories = demo_posts(20)
    ids = add_comments(any_database, *stories, *[("转发：" + title, body) for title, body in stories])
    batches = [ids[:20], ids[20:]]  # each batch has every story: both open or join the same cases
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def work(batch: list[int]) -> None:
        try:
            start.wait()
            with session_scope(any_database) as session:
                process_comments(session, batch)
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(batch,)) for batch in batches]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert errors == []
    with session_scope(any_database) as session:
        heats = session.scalars(select(Case.heat)).all()
        in_cases = session.scalar(select(func.count(Comment.id)).where(Comment.case_id.is_not(None)))
        # A case opened twice would leave two of heat 1 (the story alone, its repost alone).
        assert len(heats) > 10 and min(heats) == 2 and sum(heats) == in_cases


def test_near_duplicates_opened_at_the_same_moment_by_two_workers_end_in_one_case(any_database):
    """Batch B reads while batch A's new case is not committed, so B opens a case of its own
    for the near-duplicate text; after its commit B compares its new case with those opened
    just before, and the newer case goes into the older, as the press office would merge it."""
    first, second = add_comments(any_database, PLAYGROUND), add_comments(any_database, PLAYGROUND_AGAIN)
    a_flushed, b_read = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def batch(ids: list[int], hook: str, on_hook) -> None:
        try:
            with session_scope(any_database) as session:
                event.listen(session, hook, on_hook)
                process_comments(session, ids)
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    def a_waits(session, _context) -> None:
        if not a_flushed.is_set():  # A's case is written, not committed: B reads now
            a_flushed.set()
            assert b_read.wait(30)

    def b_has_read(session, _context, _instances) -> None:
        b_read.set()  # B flushes what it decided from its reads, which did not see A's case

    a = threading.Thread(target=batch, args=(first, "after_flush", a_waits))
    b = threading.Thread(target=batch, args=(second, "before_flush", b_has_read))
    a.start()
    assert a_flushed.wait(30)
    b.start()
    for thread in (a, b):
        thread.join(60)
    assert errors == []
    with session_scope(any_database) as session:
        cases = session.scalars(select(Case).order_by(Case.id)).all()
        carrying = [case for case in cases if case.status != CaseStatus.MERGED]
        assert len(carrying) == 1 and carrying[0].heat == 2
        assert set(session.scalars(select(Comment.case_id))) == {carrying[0].id}
        if not any_database.startswith("postgresql"):
            # SQLite: B's write waits for A's commit, finds its read outdated and runs again,
            # joining A's case; no second case is opened.
            assert len(cases) == 1
            return
        older, newer = cases  # PostgreSQL: both were opened (the race happened), then folded
        assert newer.status == CaseStatus.MERGED and newer.merged_into_id == older.id
        folds = session.scalars(select(CaseEvent).where(CaseEvent.action.in_(["merge", "merge_in"]))
                                .order_by(CaseEvent.id)).all()
        assert [(e.case_id, e.action, e.actor_id) for e in folds] == [(newer.id, "merge", None),
                                                                       (older.id, "merge_in", None)]
