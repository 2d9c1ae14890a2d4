"""The case workflow's state machine against a real SQLite database built by the migrations."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from huiying import workflow
from huiying.cases import process_comments
from huiying.db import new_session
from huiying.models import Case, CaseEvent, CaseStatus, Comment, Department, Role, Source
from huiying.users import create_user
from huiying.workflow import Action, WorkflowError
from tests.core.conftest import add_comments

S = CaseStatus
NOW = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)
PW = "password-1234"


@pytest.fixture
def session(database):
    session = new_session(database)
    yield session
    session.close()


@pytest.fixture
def people(session):
    users = {
        "admin": create_user(session, "boss", PW, Role.ADMIN),
        "press": create_user(session, "press", PW, Role.PRESS),
        "leader": create_user(session, "leader", PW, Role.LEADER),
        "jichu": create_user(session, "jichu", PW, Role.DEPARTMENT, department="基础教育股"),
        "anquan": create_user(session, "anquan", PW, Role.DEPARTMENT, department="安全稳定股"),
    }
    session.commit()
    return users


def department(session, name="基础教育股"):
    return session.scalar(select(Department).where(Department.name == name))


def make_case(session, status=S.TRIAGE, department_name=None, *, due_at=NOW + timedelta(hours=48),
              heat=1, comments=1, title="划片"):
    case = Case(title=title, fingerprint=f"fp-{title}-{session.query(Case).count()}", status=status,
                due_at=due_at, heat=heat,
                department=department(session, department_name) if department_name else None)
    session.add(case)
    source = session.scalar(select(Source).where(Source.name == "t")) or Source(name="t")
    session.add(source)
    session.flush()
    for n in range(comments):
        session.add(Comment(source_id=source.id, external_id=f"{case.id}-{n}", content_hash="h",
                            title=title, case_id=case.id))
    session.commit()
    return case


def events(session, case):
    return session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id)
                           .order_by(CaseEvent.id)).all()


# --- the whole path ------------------------------------------------------------------------

def test_triage_to_closed(session, people):
    case = make_case(session)
    workflow.assign(session, case, people["press"], department(session), now=NOW)
    assert case.status == S.ASSIGNED and case.department.name == "基础教育股"
    assert case.due_at == NOW + timedelta(hours=48)  # the clock that started with the case
    workflow.accept(session, case, people["jichu"], now=NOW + timedelta(hours=1))
    assert case.status == S.ACCEPTED
    workflow.reply(session, case, people["jichu"], "已核实，划片范围以县教育局公告为准。",
                   now=NOW + timedelta(hours=2))
    assert case.status == S.REPLIED
    workflow.follow_up(session, case, people["press"], "家长表示满意。", now=NOW + timedelta(hours=3))
    assert case.status == S.FOLLOWED_UP
    workflow.close(session, case, people["press"], now=NOW + timedelta(hours=4))
    assert case.status == S.CLOSED
    session.commit()

    rows = events(session, case)
    assert [(e.action, e.from_status, e.to_status) for e in rows] == [
        ("assign", S.TRIAGE, S.ASSIGNED), ("accept", S.ASSIGNED, S.ACCEPTED),
        ("reply", S.ACCEPTED, S.REPLIED), ("follow_up", S.REPLIED, S.FOLLOWED_UP),
        ("close", S.FOLLOWED_UP, S.CLOSED)]
    reply = rows[2]
    assert reply.note == "已核实，划片范围以县教育局公告为准。"
    assert reply.at == NOW + timedelta(hours=2) and reply.actor_id == people["jichu"].id
    assert reply.data["on_time"] is True
    assert rows[0].note == "派至基础教育股" and rows[0].data["department"] == "基础教育股"
    assert workflow.available_actions(case, people["admin"]) == []


def test_close_straight_after_the_reply(session, people):
    case = make_case(session, S.REPLIED, "基础教育股")
    workflow.close(session, case, people["press"], "已答复。")
    assert case.status == S.CLOSED


def test_assign_without_a_clock_starts_one_by_severity(session, people):
    case = make_case(session, due_at=None)
    case.severity = "重大"
    case.first_seen_at = NOW - timedelta(hours=2)  # the clock counts from when the public wrote
    workflow.assign(session, case, people["admin"], department(session), now=NOW)
    assert case.due_at == NOW + timedelta(hours=3)


def test_reassign_from_assigned_but_not_to_the_same_department(session, people):
    case = make_case(session, S.ASSIGNED, "基础教育股")
    with pytest.raises(WorkflowError, match="案件已派至基础教育股。"):
        workflow.assign(session, case, people["press"], department(session))
    event = workflow.assign(session, case, people["press"], department(session, "安全稳定股"),
                            note="属校园安全")
    assert case.department.name == "安全稳定股" and case.status == S.ASSIGNED
    assert event.note == "派至安全稳定股：属校园安全" and event.data["previous"] == "基础教育股"


def test_return_clears_the_department_and_goes_back_to_triage(session, people):
    case = make_case(session, S.ACCEPTED, "基础教育股")
    with pytest.raises(WorkflowError, match="退回须说明理由。"):
        workflow.return_case(session, case, people["jichu"], "  ")
    event = workflow.return_case(session, case, people["jichu"], "不属本股职责")
    assert case.status == S.RETURNED and case.department is None
    assert event.data == {"department": "基础教育股"} and event.note == "不属本股职责"
    workflow.assign(session, case, people["press"], department(session, "安全稳定股"))
    assert case.status == S.ASSIGNED


def test_reject_from_triage_and_returned(session, people):
    for status in (S.TRIAGE, S.RETURNED):
        case = make_case(session, status, title=f"广告{status}")
        with pytest.raises(WorkflowError, match="不予处理须说明理由。"):
            workflow.reject(session, case, people["press"], "")
        workflow.reject(session, case, people["press"], "广告")
        assert case.status == S.REJECTED


# --- refused actions -----------------------------------------------------------------------

# Every action and the states it is allowed from; every other state refuses it.
ALLOWED_FROM = {
    Action.ASSIGN: {S.TRIAGE, S.RETURNED, S.ASSIGNED},
    Action.ACCEPT: {S.ASSIGNED},
    Action.RETURN: {S.ASSIGNED, S.ACCEPTED},
    Action.REPLY: {S.ACCEPTED, S.EXTENDED},
    Action.REQUEST_EXTENSION: {S.ASSIGNED, S.ACCEPTED, S.EXTENDED},
    Action.APPROVE_EXTENSION: {S.ASSIGNED, S.ACCEPTED, S.EXTENDED},
    Action.REJECT_EXTENSION: {S.ASSIGNED, S.ACCEPTED, S.EXTENDED},
    Action.FOLLOW_UP: {S.REPLIED},
    Action.CLOSE: {S.REPLIED, S.FOLLOWED_UP},
    Action.REJECT: {S.TRIAGE, S.RETURNED},
    # 待补正 is open, but only 依申请公开 requests reach it, and they take neither action.
    Action.MERGE: {S.TRIAGE, S.ASSIGNED, S.ACCEPTED, S.REPLIED, S.FOLLOWED_UP, S.RETURNED, S.EXTENDED,
                   S.CORRECTION},
    Action.SET_DUE: {S.TRIAGE, S.ASSIGNED, S.ACCEPTED, S.RETURNED, S.EXTENDED, S.CORRECTION},
    # 依申请公开 requests only (tests/core/test_disclosure.py)
    Action.ASK_CORRECTION: {S.ACCEPTED},
    Action.CORRECTION_RECEIVED: {S.CORRECTION},
    Action.EXTEND_DISCLOSURE: {S.ACCEPTED},
    Action.ANSWER_DISCLOSURE: {S.ACCEPTED, S.EXTENDED, S.CORRECTION},
}
CASE_ACTIONS = {action for action in ALLOWED_FROM if not workflow.RULES[action].disclosure}


def test_the_rules_table_is_the_documented_one():
    assert {action: set(rule.from_statuses) for action, rule in workflow.RULES.items()} == ALLOWED_FROM


@pytest.mark.parametrize("status", list(S))
def test_every_state_refuses_what_it_does_not_allow(session, people, status):
    case = make_case(session, status, "基础教育股")
    for action, allowed in ALLOWED_FROM.items():
        if status in allowed or action not in CASE_ACTIONS:
            continue
        with pytest.raises(WorkflowError, match=f"案件当前状态为“{status}”"):
            workflow.check(case, people["admin"], action)


PRESS_ACTIONS = {Action.ASSIGN, Action.APPROVE_EXTENSION, Action.REJECT_EXTENSION, Action.FOLLOW_UP,
                 Action.CLOSE, Action.REJECT, Action.MERGE, Action.SET_DUE, Action.ASK_CORRECTION,
                 Action.CORRECTION_RECEIVED, Action.EXTEND_DISCLOSURE, Action.ANSWER_DISCLOSURE}
DEPARTMENT_ACTIONS = set(Action) - PRESS_ACTIONS


@pytest.mark.parametrize("action", list(Action))
def test_roles(session, people, action):
    case = make_case(session, S.ASSIGNED, "基础教育股")
    with pytest.raises(WorkflowError, match="您的角色不能"):
        workflow.check(case, people["leader"], action)
    if action in PRESS_ACTIONS:
        for name in ("jichu", "anquan"):
            with pytest.raises(WorkflowError, match="您的角色不能"):
                workflow.check(case, people[name], action)
    else:
        with pytest.raises(WorkflowError, match="您的角色不能"):
            workflow.check(case, people["press"], action)
        with pytest.raises(WorkflowError, match="只有承办科室才能"):
            workflow.check(case, people["anquan"], action)


def test_available_actions_per_role_and_state(session, people):
    assigned = make_case(session, S.ASSIGNED, "基础教育股", title="a")
    triage = make_case(session, S.TRIAGE, title="b")
    assert workflow.available_actions(assigned, people["jichu"]) == [
        Action.ACCEPT, Action.RETURN, Action.REQUEST_EXTENSION]
    assert workflow.available_actions(assigned, people["anquan"]) == []
    assert workflow.available_actions(assigned, people["leader"]) == []
    assert workflow.available_actions(assigned, people["press"]) == [
        Action.ASSIGN, Action.MERGE, Action.SET_DUE]
    assert workflow.available_actions(triage, people["press"]) == [
        Action.ASSIGN, Action.REJECT, Action.MERGE, Action.SET_DUE]
    assert workflow.available_actions(triage, people["jichu"]) == []
    assert set(workflow.available_actions(assigned, people["admin"])) == {
        Action.ASSIGN, Action.ACCEPT, Action.RETURN, Action.REQUEST_EXTENSION, Action.MERGE, Action.SET_DUE}


def test_refused_action_changes_nothing(session, people):
    case = make_case(session, S.ASSIGNED, "基础教育股")
    with pytest.raises(WorkflowError):
        workflow.reply(session, case, people["jichu"], "还没签收就回复了，这不行。")
    with pytest.raises(WorkflowError, match="回复内容至少 10 个字。"):
        workflow.accept(session, case, people["jichu"])
        workflow.reply(session, case, people["jichu"], " 太短了 ")
    session.commit()
    assert [e.action for e in events(session, case)] == ["accept"]


def test_error_message_is_one_sentence(session, people):
    case = make_case(session, S.CLOSED, "基础教育股")
    with pytest.raises(WorkflowError) as caught:
        workflow.accept(session, case, people["jichu"])
    assert str(caught.value) == "案件当前状态为“办结”，不能执行“签收”。"
    assert caught.value.template % caught.value.params == str(caught.value)


# --- on time -------------------------------------------------------------------------------

@pytest.mark.parametrize(("after", "on_time"), [(timedelta(hours=47), True), (timedelta(hours=48), True),
                                                 (timedelta(hours=49), False)])
def test_reply_on_time_flag(session, people, after, on_time):
    case = make_case(session, S.ACCEPTED, "基础教育股", due_at=NOW + timedelta(hours=48))
    event = workflow.reply(session, case, people["jichu"], "已经按政策处理完毕，感谢监督。", now=NOW + after)
    assert event.data["on_time"] is on_time and event.data["due_at"] == case.due_at.isoformat()


# --- extensions ----------------------------------------------------------------------------

def test_extension_request_approve_and_reply(session, people):
    case = make_case(session, S.ACCEPTED, "基础教育股", due_at=NOW + timedelta(hours=48))
    with pytest.raises(WorkflowError, match="没有待审批的延期申请。"):
        workflow.approve_extension(session, case, people["press"], 24)
    with pytest.raises(WorkflowError, match="申请延期须说明理由。"):
        workflow.request_extension(session, case, people["jichu"], "")
    request = workflow.request_extension(session, case, people["jichu"], "需要实地核查")
    assert case.status == S.ACCEPTED and request.from_status is None and request.to_status is None
    assert workflow.pending_extension(case) is request
    with pytest.raises(WorkflowError, match="已有一项延期申请等待审批。"):
        workflow.request_extension(session, case, people["jichu"], "再申请一次")
    for hours in (0, 721):
        with pytest.raises(WorkflowError, match="延期时长须为 1 至 720 小时。"):
            workflow.approve_extension(session, case, people["press"], hours)
    approval = workflow.approve_extension(session, case, people["press"], 72, now=NOW)
    assert case.status == S.EXTENDED and case.due_at == NOW + timedelta(hours=120)
    assert approval.data["request_id"] == request.id and approval.data["hours"] == 72
    assert approval.action == "extend" and workflow.pending_extension(case) is None
    event = workflow.reply(session, case, people["jichu"], "经实地核查，情况已处理完毕。",
                           now=NOW + timedelta(hours=100))
    assert case.status == S.REPLIED and event.data["on_time"] is True


def test_extension_of_an_overdue_case_counts_from_now(session, people):
    case = make_case(session, S.ACCEPTED, "基础教育股", due_at=NOW - timedelta(hours=10))
    workflow.request_extension(session, case, people["jichu"], "等待上级答复")
    workflow.approve_extension(session, case, people["admin"], 24, now=NOW)
    assert case.due_at == NOW + timedelta(hours=24)


def test_extension_rejected_keeps_the_state_and_allows_a_new_request(session, people):
    case = make_case(session, S.ASSIGNED, "基础教育股")
    due = case.due_at
    workflow.request_extension(session, case, people["jichu"], "人手不足")
    event = workflow.reject_extension(session, case, people["press"], "时限不能延")
    assert case.status == S.ASSIGNED and case.due_at == due and event.note == "时限不能延"
    assert workflow.pending_extension(case) is None
    workflow.request_extension(session, case, people["jichu"], "确需核查")
    assert workflow.pending_extension(case) is not None


def test_a_return_drops_the_pending_request(session, people):
    case = make_case(session, S.ASSIGNED, "基础教育股")
    workflow.request_extension(session, case, people["jichu"], "人手不足")
    workflow.return_case(session, case, people["jichu"], "不属本股")
    workflow.assign(session, case, people["press"], department(session))
    assert workflow.pending_extension(case) is None


# --- merge ---------------------------------------------------------------------------------

def test_merge_moves_comments_and_heat_with_events_on_both(session, people):
    target = make_case(session, S.ASSIGNED, "基础教育股", heat=3, comments=3, title="target")
    case = make_case(session, S.TRIAGE, heat=2, comments=2, title="dup")
    moved = [c.id for c in case.comments]
    workflow.merge(session, case, people["press"], target.id, now=NOW)
    session.commit()
    session.expire_all()
    assert case.status == S.MERGED and target.heat == 5
    assert case.comments == [] and len(target.comments) == 5
    mine, theirs = events(session, case)[-1], events(session, target)[-1]
    assert (mine.action, mine.from_status, mine.to_status) == ("merge", S.TRIAGE, S.MERGED)
    assert mine.data == {"into": target.id, "comment_ids": moved, "heat": 2}
    assert mine.note == f"并入案件 #{target.id}"
    assert (theirs.action, theirs.from_status, theirs.to_status) == ("merge_in", None, None)
    assert theirs.data["from"] == case.id and theirs.note == f"案件 #{case.id} 并入本案"


@pytest.mark.parametrize(("target_status", "message"), [
    (S.CLOSED, "已是“办结”，不能并入。"), (S.MERGED, "已是“合并”，不能并入。"),
    (S.REJECTED, "已是“不予处理”，不能并入。")])
def test_merge_refuses_closed_targets(session, people, target_status, message):
    target = make_case(session, target_status, title="t")
    case = make_case(session, title="c")
    with pytest.raises(WorkflowError, match=message):
        workflow.merge(session, case, people["press"], target.id)
    assert case.status == S.TRIAGE and len(case.comments) == 1


def test_merge_refuses_itself_and_missing_ids(session, people):
    case = make_case(session)
    with pytest.raises(WorkflowError, match="案件不能并入它自己。"):
        workflow.merge(session, case, people["press"], case.id)
    with pytest.raises(WorkflowError, match="没有编号为 9999 的案件。"):
        workflow.merge(session, case, people["press"], 9999)
    with pytest.raises(WorkflowError, match="请输入要并入的案件编号。"):
        workflow.merge(session, case, people["press"], None)
    with pytest.raises(WorkflowError, match="您的角色不能"):
        workflow.merge(session, case, people["jichu"], 9999)


def test_a_repost_of_a_merged_case_joins_the_case_it_went_into(database, session, people):
    process_comments(session, add_comments(database,
                                           ("城关二小招生划片范围什么时候公布？", "孩子明年上一年级。"),
                                           ("学校食堂饭菜发霉，孩子吃了拉肚子", "青石镇中学")))
    first, second = session.scalars(select(Case).order_by(Case.id)).all()
    workflow.merge(session, first, people["press"], second.id)
    session.commit()
    ids = add_comments(database, ("转发：城关二小招生划片范围什么时候公布", "孩子明年上一年级"))
    process_comments(session, ids)
    session.expire_all()
    comment = session.get(Comment, ids[0])
    assert comment.case_id == second.id and second.heat == 3 and first.heat == 1
    assert events(session, second)[-1].action == "merge_comment"
