"""huiying/workflow.py as the one writer of case state: system steps, clocks from when the
public wrote, columns instead of event JSON, and the one definition of what is overdue."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from analysis.router import train_router
from huiying import workflow
from huiying.cases import process_comments
from huiying.clocks import due_after_working_days
from huiying.db import session_scope
from huiying.migrate import upgrade
from huiying.models import Case, CaseStatus, Comment, Department, Notification, Role, Source, Topic, User
from huiying.topics import reclassify_topics
from huiying.workflow import WorkflowError
from tests.core.conftest import add_comments

S = CaseStatus
WRITTEN = datetime(2026, 11, 1, tzinfo=UTC)  # add_comments' published time


def press(session):
    user = session.scalar(select(User).where(User.username == "press"))
    if user is None:
        user = User(username="press", password_hash="x", role=Role.PRESS)
        session.add(user)
        session.flush()
    return user


def test_a_new_case_is_opened_by_the_system_with_its_clock_from_when_the_public_wrote(database):
    ids = add_comments(database, ("城关二小招生划片范围什么时候公布？", "孩子明年上一年级。"),
                       ("转发：城关二小招生划片范围什么时候公布", "孩子明年上一年级"))
    with session_scope(database) as session:
        process_comments(session, ids)
        case = session.scalar(select(Case))
        assert [(e.action, e.actor_id) for e in case.events] == [
            ("create", None), ("assign", None), ("merge_comment", None)]
        assert case.first_comment_id == ids[0] and case.first_seen_at == WRITTEN
        # 48 h of 舆情 from the time written, not from the time processed.
        assert case.due_at == WRITTEN + timedelta(hours=48)
        assert case.heat == 2 and case.initial_severity == case.severity == "一般"
        assert case.first_reply_at is None and case.request_type is None


def test_heat_is_counted_in_sql_by_two_sessions_at_once(database):
    ids = add_comments(database, ("学校食堂饭菜发霉", "青石镇中学食堂饭菜发霉，孩子拉肚子"),
                       ("学校食堂饭菜发霉", "转发"), ("学校食堂饭菜发霉", "再转发"))
    with session_scope(database) as session:
        process_comments(session, ids[:1])
    with session_scope(database) as first, session_scope(database) as second:
        a, b = first.scalar(select(Case)), second.scalar(select(Case))
        assert a.heat == b.heat == 1  # both sessions read 1
        workflow.add_comments(second, [(b, second.get(Comment, ids[2]), "相同诉求")])
        second.commit()
        workflow.add_comments(first, [(a, first.get(Comment, ids[1]), "相同诉求")])
    with session_scope(database) as session:
        assert session.scalar(select(Case)).heat == 3  # not 2: no read-then-write


def hotline_case(session, request_type="咨询", received=datetime(2026, 11, 2, 2, 0, tzinfo=UTC)):
    source = session.scalar(select(Source).where(Source.name == "hotline")) or Source(
        name="hotline", kind="import")
    session.add(source)
    session.flush()
    case = Case(title="咨询", fingerprint=f"f{received.timestamp()}", first_seen_at=received,
                request_type=request_type, status=S.TRIAGE)
    session.add(case)
    session.flush()
    return case


def test_a_reassignment_without_due_time_uses_the_working_day_clock_of_a_hotline_request(database):
    with session_scope(database) as session:
        case = hotline_case(session)
        office = session.scalar(select(Department).where(Department.name == "基础教育股"))
        workflow.assign(session, case, press(session), office, now=datetime(2026, 11, 20, tzinfo=UTC))
        # 3 working days from the day it was received (a Monday), not 48 wall-clock hours.
        assert case.due_at == due_after_working_days(case.first_seen_at, 3)
        assert case.due_at.astimezone(UTC) == datetime(2026, 11, 5, 15, 59, 59, tzinfo=UTC)


def test_merge_is_a_column_and_new_reposts_join_the_case_that_carries_it_on(database):
    ids = add_comments(database, ("城关二小课后服务能否延长", "希望课后服务延长到下午五点半。"),
                       ("学校食堂饭菜发霉，孩子吃了拉肚子", "青石镇中学"),
                       ("转发：城关二小课后服务能否延长", "希望课后服务延长到下午五点半。"))
    with session_scope(database) as session:
        process_comments(session, ids[:2])
        first, second = session.scalars(select(Case).order_by(Case.id)).all()
        workflow.merge(session, first, press(session), second.id)
        assert first.merged_into_id == second.id and second.heat == 2
        # The event history still says it too, but nothing reads it back.
        first.events[-1].data = {}
    with session_scope(database) as session:
        process_comments(session, ids[2:])
        repost = session.get(Comment, ids[2])
        assert repost.case_id == second.id and session.get(Case, second.id).heat == 3


def test_awaiting_overdue_and_due_within_are_one_definition(database):
    now = datetime(2026, 11, 10, 8, 0, tzinfo=UTC)
    with session_scope(database) as session:
        def made(name, status, due, replied=None):
            case = Case(title=name, fingerprint=name, status=status, due_at=due, first_reply_at=replied,
                        first_seen_at=now - timedelta(days=1))
            session.add(case)
            return case

        made("late", S.ASSIGNED, now - timedelta(hours=1))
        made("soon", S.ACCEPTED, now + timedelta(hours=3))
        made("later", S.TRIAGE, now + timedelta(hours=40))
        made("answered-late", S.REPLIED, now - timedelta(hours=1), now - timedelta(hours=2))
        made("rejected", S.REJECTED, now - timedelta(hours=1))
        made("merged", S.MERGED, now + timedelta(hours=3))
        made("no-clock", S.TRIAGE, None)
        session.flush()

        def names(clause):
            return sorted(session.scalars(select(Case.title).where(clause)))

        assert names(workflow.awaiting_answer()) == ["late", "later", "no-clock", "soon"]
        assert names(workflow.overdue(now)) == ["late"]
        assert names(workflow.due_within(now, 24)) == ["soon"]
        assert names(workflow.due_within(now, 48)) == ["later", "soon"]
        cases = {case.title: case for case in session.scalars(select(Case))}
        assert {name for name, case in cases.items() if workflow.is_overdue(case, now)} == {"late"}


def test_set_due_needs_the_press_office_a_reason_and_a_future_time(database):
    now = datetime(2026, 11, 10, 8, 0, tzinfo=UTC)
    with session_scope(database) as session:
        office = session.scalar(select(Department).where(Department.name == "基础教育股"))
        case = Case(title="t", fingerprint="t", status=S.ASSIGNED, department=office,
                    first_seen_at=now, due_at=now + timedelta(hours=48))
        clerk = User(username="clerk", password_hash="x", role=Role.DEPARTMENT, department=office)
        session.add_all([case, clerk])
        session.flush()
        later = now + timedelta(days=5)
        with pytest.raises(WorkflowError, match="角色"):
            workflow.set_due(session, case, clerk, later, "家长同意延后答复", now=now)
        with pytest.raises(WorkflowError, match="理由"):
            workflow.set_due(session, case, press(session), later, "  ", now=now)
        with pytest.raises(WorkflowError, match="晚于当前时间"):
            workflow.set_due(session, case, press(session), now - timedelta(hours=1), "太晚", now=now)
        with pytest.raises(WorkflowError, match="一年"):
            workflow.set_due(session, case, press(session), now + timedelta(days=400), "太远", now=now)
        event = workflow.set_due(session, case, press(session), later, "家长同意延后答复", now=now)
        assert case.due_at == later and case.status == S.ASSIGNED
        assert (event.action, event.note, event.data) == ("set_due", "家长同意延后答复", {
            "from_due": (now + timedelta(hours=48)).isoformat(), "to_due": later.isoformat()})
        workflow.accept(session, case, _admin(session), now=now + timedelta(days=1))
        workflow.reply(session, case, _admin(session), "已答复家长的问题，谢谢关注。",
                       now=now + timedelta(days=4))
        assert case.first_reply_at == now + timedelta(days=4) and case.replied_on_time is True
        with pytest.raises(WorkflowError, match="不能执行"):  # answered: no clock to move
            workflow.set_due(session, case, press(session), later + timedelta(days=1), "再改", now=now)


def _admin(session):
    return session.scalar(select(User).where(User.username == "admin"))


ROUTER_TEXTS = {
    "办公室": ["研学活动安排太紧孩子很累", "研学活动太多", "初二研学活动时间太长", "研学活动路线太远",
                  "研学活动安排不合理", "研学活动孩子太累了", "研学活动能不能少一点", "年级研学活动太紧"],
    "基础教育股": ["一年级招生划片范围", "小学入学报名材料", "转学手续怎么办理", "初中学籍怎么转",
              "小升初划片学校", "入学登记什么时候开始", "插班生入学政策", "学区划分不合理"],
}


def test_topic_rerouting_uses_the_installations_router(database):
    texts = [t for ts in ROUTER_TEXTS.values() for t in ts]
    labels = [label for label, ts in ROUTER_TEXTS.items() for _ in ts]
    router = train_router(texts * 3, labels * 3, folds=2)
    ids = add_comments(database, ("初二年级研学活动安排太紧", "孩子很累"))
    with session_scope(database) as session:
        process_comments(session, ids)  # no router yet: 待研判
        case = session.scalar(select(Case))
        assert case.status == S.TRIAGE
        session.add(Topic(name="研学实践", strong_words=["研学"], weak_words=[]))
    assert router.predict(["初二年级研学活动安排太紧 孩子很累"])[0][1] >= 0.6
    with session_scope(database) as session:
        summary = reclassify_topics(session, router=router)
        case = session.scalar(select(Case))
        assert summary["cases_routed"] == 1
        assert case.status == S.ASSIGNED and case.department.name == "办公室"
        assert case.events[-1].actor_id is None and case.events[-1].data["reason"] == "topic_edit"


def test_migration_0006_fills_the_columns_from_the_events(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    upgrade(url, "0005")
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO source (id, name, title, kind, config, enabled, created_at) "
                          "VALUES (1, 'hotline', '', 'import', '{}', 1, '2026-11-01 00:00:00')"))
        for case_id, severity in ((1, "较大"), (2, "一般")):
            conn.execute(text(
                "INSERT INTO \"case\" (id, title, summary, fingerprint, match_text, status, severity, "
                "severity_reasons, heat, first_seen_at, created_at, updated_at) VALUES "
                "(:id, 't', '', :f, '', '合并', :s, '[]', 1, "
                "'2026-11-01 00:00:00', '2026-11-01 00:00:00', '2026-11-01 00:00:00')"),
                {"id": case_id, "f": f"f{case_id}", "s": severity})
        conn.execute(text("INSERT INTO comment (id, source_id, external_id, title, body, content_hash, "
                          "fetched_at, request_type, case_id) VALUES "
                          "(7, 1, 'a', '', 'x', 'h', '2026-11-01 00:00:00', '投诉', 1)"))
        events = [(1, "create", '{"comment_id": 7}', "2026-11-01 00:00:00"),
                  (1, "escalate", '{"from": "一般", "to": "较大"}', "2026-11-01 01:00:00"),
                  (1, "reply", '{"on_time": false}', "2026-11-03 00:00:00"),
                  (1, "reply", '{"on_time": true}', "2026-11-04 00:00:00"),
                  (1, "merge", '{"into": 2, "comment_ids": [7]}', "2026-11-05 00:00:00")]
        for case_id, action, data, at in events:
            conn.execute(text("INSERT INTO case_event (case_id, at, action, note, data) "
                              "VALUES (:c, :at, :a, '', :d)"),
                         {"c": case_id, "at": at, "a": action, "d": data})
    upgrade(url)  # 0006 fills the columns; the later migrations keep them (the model needs head)
    with session_scope(url) as session:
        one, two = session.get(Case, 1), session.get(Case, 2)
        assert (one.first_comment_id, one.merged_into_id, one.request_type) == (7, 2, "投诉")
        assert one.first_reply_at == datetime(2026, 11, 3, tzinfo=UTC) and one.replied_on_time is False
        assert (one.initial_severity, one.escalated_at) == ("一般", datetime(2026, 11, 1, 1, tzinfo=UTC))
        assert (two.first_comment_id, two.merged_into_id, two.first_reply_at, two.initial_severity) \
            == (None, None, None, "一般")
    engine.dispose()


def test_a_crawled_post_that_carries_its_official_reply_opens_replied_and_alerts_nobody(database):
    from huiying import settings as settings_module
    from huiying.notify import scan

    with session_scope(database) as session:
        session.add(User(username="press", password_hash="x", role=Role.PRESS, email="press@example.cn"))
        source = Source(name="board", kind="board")
        session.add(source)
        session.flush()
        written = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)
        session.add_all([
            Comment(source_id=source.id, external_id="answered", title="城关二小门口聚集讨说法",
                    body="很多家长在城关二小门口聚集，要求公开食堂账目。", content_hash="a",
                    published_at=written, official_reply="学校已公开食堂账目，欢迎家长监督。",
                    replied_at=written + timedelta(hours=3)),
            Comment(source_id=source.id, external_id="open", title="县一中门口家长聚集",
                    body="县一中门口家长聚集讨说法，要求学校说明校车停运原因。", content_hash="b",
                    published_at=written)])
    with session_scope(database) as session:
        process_comments(session, [c.id for c in session.scalars(select(Comment))])
        answered = session.scalar(select(Case).where(Case.title == "城关二小门口聚集讨说法"))
        still_open = session.scalar(select(Case).where(Case.title == "县一中门口家长聚集"))
        assert answered.severity == still_open.severity == "重大"
        assert answered.status == S.REPLIED and answered.first_reply_at == written + timedelta(hours=3)
        assert answered.replied_on_time is True  # within its 5 h, counted from when it was written
        assert answered.events[-1].action == "source_reply"
        created = scan(session, settings_module.load(), now=written + timedelta(hours=4))
        alerted = set(session.scalars(select(Notification.case_id).where(Notification.kind == "alert")))
    assert created["alert"] == 1 and alerted == {still_open.id}
