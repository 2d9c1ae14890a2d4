"""Case workflow against a real SQLite database built by the migrations."""

from datetime import UTC, datetime

from sqlalchemy import func, select

from huiying.cases import process_comments
from huiying.db import session_scope
from huiying.models import Case, CaseEvent, CaseStatus, Comment, Source
from tests.core.conftest import add_comments


def test_reposts_fold_into_one_case_with_heat_and_events(database):
    ids = add_comments(database,
                       ("城关二小招生划片范围什么时候公布？", "孩子明年上一年级。"),
                       ("转发：城关二小招生划片范围什么时候公布", "孩子明年上一年级"),
                       ("贷款低息，加微信秒批", ""))
    with session_scope(database) as session:
        assert process_comments(session, ids) == 3
        cases = session.scalars(select(Case)).all()
        assert len(cases) == 1  # two reposts, one spam
        case = cases[0]
        assert case.heat == 2
        assert case.status == CaseStatus.ASSIGNED and case.department.name == "基础教育股"
        assert case.due_at is not None
        actions = [e.action for e in session.scalars(select(CaseEvent).order_by(CaseEvent.id))]
        assert actions == ["create", "assign", "merge_comment"]
        spam = session.scalar(select(Comment).where(Comment.title.like("贷款%")))
        assert spam.processed_at is not None and spam.case_id is None and spam.relevant is False


def test_processing_is_idempotent(database):
    ids = add_comments(database, ("学校食堂饭菜发霉，孩子吃了拉肚子", "青石镇中学"))
    with session_scope(database) as session:
        assert process_comments(session, ids) == 1
    with session_scope(database) as session:
        assert process_comments(session, ids) == 0  # a redelivered message changes nothing
        assert session.scalar(select(func.count(Case.id))) == 1
        case = session.scalar(select(Case))
        assert case.severity == "较大" and case.department.name == "安全稳定股"


def test_unclear_department_goes_to_triage(database):
    ids = add_comments(database, ("关于学校的一点建议", "希望教育局多听听家长的意见。"))
    with session_scope(database) as session:
        process_comments(session, ids)
        case = session.scalar(select(Case))
        assert case.status == CaseStatus.TRIAGE and case.department is None


def test_due_sources_follow_their_own_interval(database):
    from datetime import timedelta

    from huiying.sources import due_source_names

    now = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
    with session_scope(database) as session:
        session.add_all([
            Source(name="never", config={}),
            Source(name="fast", config={"interval_minutes": 2}, last_crawled_at=now - timedelta(minutes=3)),
            Source(name="slow", config={}, last_crawled_at=now - timedelta(minutes=10)),
            Source(name="off", config={}, enabled=False),
        ])
    with session_scope(database) as session:
        assert sorted(due_source_names(session, now, default_minutes=30)) == ["fast", "never"]
        assert sorted(due_source_names(session, now, default_minutes=5)) == ["fast", "never", "slow"]


def test_a_fast_growing_case_is_escalated_with_a_reason(database):
    base = ("城关二小门口聚集讨说法", "今天下午很多家长在城关二小门口，要求学校公开食堂账目。")
    ids = add_comments(database, base)
    with session_scope(database) as session:
        process_comments(session, ids)
        case = session.scalar(select(Case))
        assert case.severity == "重大"  # 聚集 is a major risk word on its own
    calm = ("城关二小课后服务时间能否调整", "希望课后服务延长到下午五点半，方便双职工家庭接孩子。")
    ids = add_comments(database, *[(f"转发{i}：" + calm[0], calm[1]) for i in range(11)])
    with session_scope(database) as session:
        process_comments(session, ids)
        case = session.scalar(select(Case).where(Case.title.like("%课后服务%")))
        assert case.heat == 11
        assert case.severity == "较大"
        assert case.severity_reasons[-1] == "热度：24小时内10条相关留言"
        escalations = [e for e in case.events if e.action == "escalate"]
        assert len(escalations) == 1 and escalations[0].data == {"from": "一般", "to": "较大"}
