"""A comment seen again (huiying.store.upsert_comment, shared by the crawler and `huiying
import`): an answer that appeared since is recorded on its case through the workflow; a text
edit is analysed again without joining its case a second time."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from huiying import workflow
from huiying.cases import process_comments, unprocessed_ids
from huiying.db import session_scope
from huiying.models import Case, CaseEvent, CaseStatus, Comment, Role, Source
from huiying.store import CommentData, upsert_comment
from huiying.users import create_user

WRITTEN = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)
POST = CommentData(external_id="77", title="城关小学校车超载", published_at=WRITTEN,
                   body="城关小学的校车每天都超载，孩子们挤在过道里，太危险了，请教育局尽快处理。")


def store(url: str, data: CommentData) -> str:
    with session_scope(url) as session:
        source = session.scalar(select(Source).where(Source.name == "board")) or Source(name="board")
        session.add(source)
        session.flush()
        outcome, _ = upsert_comment(session, source.id, data)
        return outcome


def the_case(session) -> Case:
    return session.scalar(select(Case).join(Comment, Comment.case_id == Case.id)
                          .where(Comment.external_id == "77"))


def replies(session) -> list[str]:
    return list(session.scalars(select(CaseEvent.note).where(CaseEvent.action == "source_reply")
                                .order_by(CaseEvent.id)))


def test_a_later_answer_replies_an_open_case_once(any_database):
    store(any_database, POST)
    with session_scope(any_database) as session:
        process_comments(session, unprocessed_ids(session))
    answered = CommentData(**{**POST.__dict__, "reply": "已责成学校增加班次。", "reply_unit": "基础教育股",
                              "replied_at": WRITTEN + timedelta(hours=20)})
    assert store(any_database, answered) == "updated"
    assert store(any_database, answered) == "unchanged"
    with session_scope(any_database) as session:
        case = the_case(session)
        assert case.status == CaseStatus.REPLIED and case.first_reply_at == WRITTEN + timedelta(hours=20)
        assert case.replied_on_time is True  # within the 48 h of a 一般 舆情
        assert replies(session) == ["已责成学校增加班次。"]
        event = session.scalar(select(CaseEvent).where(CaseEvent.action == "source_reply"))
        assert event.data["unit"] == "基础教育股" and event.at == WRITTEN + timedelta(hours=20)
        assert unprocessed_ids(session) == []  # the text is the same: not analysed again


def test_a_closed_case_keeps_its_state_and_gains_the_answer_as_history(any_database):
    first = CommentData(**{**POST.__dict__, "reply": "已责成学校增加班次。",
                           "replied_at": WRITTEN + timedelta(hours=3)})
    store(any_database, first)  # answered on the board before it was first crawled
    with session_scope(any_database) as session:
        process_comments(session, unprocessed_ids(session))
        press = create_user(session, "later-press", "password-1234", Role.PRESS)
        workflow.close(session, the_case(session), press, now=WRITTEN + timedelta(days=1))
    amended = CommentData(**{**first.__dict__, "reply": "已责成学校增加班次，并通报批评。",
                             "replied_at": WRITTEN + timedelta(days=3)})
    assert store(any_database, amended) == "updated"
    with session_scope(any_database) as session:
        case = the_case(session)
        assert case.status == CaseStatus.CLOSED  # closed stays closed
        assert case.first_reply_at == WRITTEN + timedelta(hours=3)  # the first reply is still the first
        assert replies(session) == ["已责成学校增加班次。", "已责成学校增加班次，并通报批评。"]


def test_an_edited_text_is_analysed_again_without_counting_twice(any_database):
    store(any_database, POST)
    with session_scope(any_database) as session:
        process_comments(session, unprocessed_ids(session))
        heat = the_case(session).heat
    edited = CommentData(**{**POST.__dict__, "body": POST.body + "（补充：今天又超载了。）"})
    assert store(any_database, edited) == "updated"
    with session_scope(any_database) as session:
        assert len(unprocessed_ids(session)) == 1
        process_comments(session, unprocessed_ids(session))
    with session_scope(any_database) as session:
        case = the_case(session)
        assert case.heat == heat
        assert session.scalar(select(func.count()).select_from(CaseEvent)
                              .where(CaseEvent.action == "merge_comment")) == 0


def test_the_log_names_the_case_the_comment_and_the_source(any_database, caplog):
    store(any_database, POST)
    with caplog.at_level("INFO", logger="huiying.cases"), session_scope(any_database) as session:
        process_comments(session, unprocessed_ids(session))
        case, comment = the_case(session), session.scalar(select(Comment))
    assert f"case {case.id} opened from comment {comment.id} (source {comment.source_id})" in caplog.text
