"""huiying.store.upsert_comments (the crawler's batches) does what upsert_comment does one
comment at a time: the same outcomes, the same rows, the same reply recorded on a case."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from huiying.cases import process_comments, unprocessed_ids
from huiying.db import session_scope
from huiying.models import Case, CaseEvent, CaseStatus, Comment, Source
from huiying.store import CommentData, _insert_new, upsert_comment, upsert_comments

WRITTEN = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)
COLUMNS = ("external_id", "thread_id", "url", "title", "body", "author", "published_at",
           "official_reply", "replied_at", "content_hash", "processed_at")


def post(n: int, **changes) -> CommentData:
    fields = {"external_id": str(n), "title": f"第{n}号留言", "body": f"城关小学的校车问题（{n}）",
              "url": f"http://board.example/msg/{n}.html", "author": "家长", "published_at": WRITTEN}
    return CommentData(**{**fields, **changes})


FIRST = [post(1), post(2), post(3, thread_id="1"), post(4), post(4, body="改过的正文")]
SECOND = [
    post(1),  # unchanged
    post(2, body="家长补充：校车仍然超载"),  # the text changed: analysed again
    post(3, thread_id="1", reply="已回复", replied_at=WRITTEN + timedelta(hours=2)),  # answered
    post(4, body="改过的正文"),  # unchanged (the second of the first batch was kept)
    post(5),  # new
    post(5),  # seen twice in one batch: unchanged the second time
]


def sources(session) -> tuple[int, int]:
    one, batch = Source(name="one-by-one"), Source(name="batched")
    session.add_all([one, batch])
    session.flush()
    return one.id, batch.id


def rows(session, source_id: int) -> list[tuple]:
    comments = session.scalars(select(Comment).where(Comment.source_id == source_id)
                               .order_by(Comment.external_id))
    return [tuple(getattr(c, name) for name in COLUMNS) for c in comments]


def test_a_batch_has_the_outcomes_and_rows_of_one_upsert_per_comment(any_database):
    with session_scope(any_database) as session:
        one, batch = sources(session)
    outcomes: dict[str, list] = {"one": [], "batch": []}
    for round_ in (FIRST, SECOND):
        with session_scope(any_database) as session:
            outcomes["one"] += [upsert_comment(session, one, data)[0] for data in round_]
            results = upsert_comments(session, batch, round_)
            outcomes["batch"] += [r.outcome for r in results]
            assert all(r.comment_id for r in results)
        with session_scope(any_database) as session:  # as if the worker had analysed them all
            session.execute(update(Comment).values(processed_at=WRITTEN + timedelta(days=1)))
    assert outcomes["batch"] == outcomes["one"] == [
        "new", "new", "new", "new", "updated",
        "unchanged", "updated", "updated", "unchanged", "new", "unchanged"]
    with session_scope(any_database) as session:
        assert rows(session, batch) == rows(session, one)
        assert len(rows(session, batch)) == 5


def test_only_new_and_edited_texts_need_processing(any_database):
    with session_scope(any_database) as session:
        _, batch = sources(session)
        assert [r.needs_processing for r in upsert_comments(session, batch, FIRST)] == [True] * 5
        session.execute(update(Comment).values(processed_at=WRITTEN))
        needs = [r.needs_processing for r in upsert_comments(session, batch, SECOND)]
    # An answer alone is not analysed again; a new post and an edited text are.
    assert needs == [False, True, False, False, True, False]


def test_an_answer_in_a_batch_is_recorded_on_its_case(any_database):
    text = "城关小学的校车每天都超载，孩子们挤在过道里，太危险了，请教育局尽快处理。"
    asked = CommentData(external_id="77", title="城关小学校车超载", body=text, published_at=WRITTEN)
    with session_scope(any_database) as session:
        _, batch = sources(session)
        upsert_comments(session, batch, [asked])
    with session_scope(any_database) as session:
        process_comments(session, unprocessed_ids(session))
    answered = CommentData(**{**asked.__dict__, "reply": "已责成学校增加班次。",
                              "replied_at": WRITTEN + timedelta(hours=20)})
    with session_scope(any_database) as session:
        results = upsert_comments(session, batch, [post(90), answered, post(91)])
        assert [r.outcome for r in results] == ["new", "updated", "new"]
    with session_scope(any_database) as session:
        case = session.scalar(select(Case).join(Comment, Comment.case_id == Case.id)
                              .where(Comment.external_id == "77"))
        assert case.status == CaseStatus.REPLIED and case.first_reply_at == WRITTEN + timedelta(hours=20)
        notes = list(session.scalars(select(CaseEvent.note).where(CaseEvent.action == "source_reply")))
        assert notes == ["已责成学校增加班次。"]


def test_a_row_another_process_inserted_meanwhile_is_updated_not_lost(any_database, monkeypatch):
    """Between the batch's read and its INSERT another process stores one of its comments: the
    INSERT skips it (ON CONFLICT DO NOTHING) and the batch updates it instead."""
    with session_scope(any_database) as session:
        _, batch = sources(session)
    import huiying.store

    def insert_after_another_process(session, source_id, datas):
        with session_scope(any_database) as other:
            upsert_comment(other, source_id, post(1, body="另一个进程存的正文"))
        return _insert_new(session, source_id, datas)

    monkeypatch.setattr(huiying.store, "_insert_new", insert_after_another_process)
    with session_scope(any_database) as session:
        results = upsert_comments(session, batch, [post(1), post(2)])
        assert [r.outcome for r in results] == ["updated", "new"]
    with session_scope(any_database) as session:
        assert session.scalar(select(Comment.body).where(Comment.external_id == "1")) == post(1).body
        assert len(rows(session, batch)) == 2
