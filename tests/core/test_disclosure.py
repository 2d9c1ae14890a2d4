"""依申请公开 requests on SQLite and PostgreSQL: the 20-working-day clock, 补正 pausing and
restarting it, one extension, answers by result row, and table 三 counted from the requests."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from huiying import annual_format as fmt
from huiying import disclosure, workdays, workflow
from huiying.annual import annual
from huiying.annual_export import evidence
from huiying.db import new_session
from huiying.models import Case, CaseEvent, CaseStatus, Role
from huiying.users import create_user
from huiying.workflow import Action, WorkflowError

S = CaseStatus
TZ = "Asia/Shanghai"
LOCAL = ZoneInfo(TZ)
PW = "password-1234"


def local(*args):
    return datetime(*args, tzinfo=LOCAL)


def end_of(y, m, d):
    return datetime(y, m, d, 23, 59, 59, tzinfo=LOCAL)


@pytest.fixture
def session(any_database):
    session = new_session(any_database)
    yield session
    session.close()


@pytest.fixture
def people(session):
    users = {role: create_user(session, role, PW, role) for role in (Role.PRESS, Role.LEADER)}
    users[Role.DEPARTMENT] = create_user(session, "jichu", PW, Role.DEPARTMENT, department="基础教育股")
    session.commit()
    return users


def register(session, actor, received, applicant="natural", **kwargs):
    case = workflow.register_disclosure(
        session, actor, applicant_type=applicant, applicant_name="张三丰",
        content="申请公开2026年学区划分依据", form="网络", received_at=received,
        now=kwargs.pop("now", received + timedelta(minutes=5)), **kwargs)
    session.commit()
    return case


def test_due_twenty_working_days_after_receipt(session, people):
    case = register(session, people[Role.PRESS], local(2026, 11, 2, 10))  # a Monday
    # Day 1 is 3 November; November 2026 has no holiday: the 20th working day is 30 November.
    assert case.due_at == end_of(2026, 11, 30)
    assert case.disclosure.due_at == case.due_at
    assert case.status == S.ACCEPTED and case.request_type == "依申请公开"
    assert case.first_seen_at == local(2026, 11, 2, 10)


def test_calendar_override_moves_the_due_time(session, people):
    workdays.add_overrides(session, [datetime(2026, 11, 16).date()], False, "县里放假", "test")
    session.commit()
    case = register(session, people[Role.PRESS], local(2026, 11, 2, 10))
    assert case.due_at == end_of(2026, 12, 1)


def test_correction_pauses_then_restarts_from_its_receipt(session, people):
    press = people[Role.PRESS]
    case = register(session, press, local(2026, 11, 2, 10))
    workflow.ask_correction(session, case, press, "请写明所需信息的年份", now=local(2026, 11, 5, 9))
    session.commit()
    assert case.status == S.CORRECTION and case.due_at is None and case.disclosure.due_at is None
    # Paused: neither overdue nor due soon, whatever the time.
    far = local(2027, 3, 1)
    assert not session.scalar(select(Case.id).where(workflow.overdue(far), Case.id == case.id))
    workflow.correction_received(session, case, press, local(2026, 11, 20, 15), now=local(2026, 11, 20, 16))
    session.commit()
    # 20 working days from the completed request's receipt (a Friday), not from the first one.
    assert case.status == S.ACCEPTED and case.due_at == end_of(2026, 12, 18)
    assert case.disclosure.correction_received_at == local(2026, 11, 20, 15)
    with pytest.raises(WorkflowError, match="补正只能一次性告知"):
        workflow.ask_correction(session, case, press, "再补一次", now=local(2026, 11, 23, 9))
    assert Action.ASK_CORRECTION not in workflow.available_actions(case, press)


def test_correction_received_before_it_was_asked_is_refused(session, people):
    press = people[Role.PRESS]
    case = register(session, press, local(2026, 11, 2, 10))
    workflow.ask_correction(session, case, press, "请写明年份", now=local(2026, 11, 5, 9))
    with pytest.raises(WorkflowError, match="收到补正的时间不能早于告知补正的时间"):
        workflow.correction_received(session, case, press, local(2026, 11, 4, 9))
    with pytest.raises(WorkflowError, match="收到补正的时间不能晚于现在"):
        workflow.correction_received(session, case, press, datetime.now(UTC) + timedelta(days=2))


def test_extension_once_with_a_reason(session, people):
    press = people[Role.PRESS]
    case = register(session, press, local(2026, 11, 2, 10))
    with pytest.raises(WorkflowError, match="须说明理由"):
        workflow.extend_disclosure(session, case, press, "  ", now=local(2026, 11, 20, 9))
    workflow.extend_disclosure(session, case, press, "需征求第三方意见", now=local(2026, 11, 20, 9))
    session.commit()
    assert case.status == S.EXTENDED and case.due_at == end_of(2026, 12, 28)  # 20 more working days
    assert case.disclosure.extension_reason == "需征求第三方意见"
    with pytest.raises(WorkflowError) as refused:
        workflow.extend_disclosure(session, case, press, "还要延", now=local(2026, 12, 1, 9))
    assert str(refused.value) == "案件当前状态为“延期”，不能执行“延长答复期限”。"


def test_the_once_rule_refuses_a_second_extension(session, people):
    press = people[Role.PRESS]
    case = register(session, press, local(2026, 11, 2, 10))
    workflow.extend_disclosure(session, case, press, "需征求第三方意见", now=local(2026, 11, 20, 9))
    case.status = S.ACCEPTED  # as if back in hand: the once rule alone must refuse
    with pytest.raises(WorkflowError, match="该申请已延期一次，不能再次延期。"):
        workflow.extend_disclosure(session, case, press, "再延", now=local(2026, 11, 21, 9))
    session.rollback()


def test_answer_with_a_result_row(session, people):
    press = people[Role.PRESS]
    case = register(session, press, local(2026, 11, 2, 10))
    with pytest.raises(WorkflowError, match="请选择办理结果"):
        workflow.answer_disclosure(session, case, press, "r99", now=local(2026, 11, 10, 9))
    with pytest.raises(WorkflowError, match="只有等待补正的申请"):
        workflow.answer_disclosure(session, case, press, disclosure.NOT_CORRECTED, now=local(2026, 11, 10, 9))
    workflow.answer_disclosure(session, case, press, "r04", "部分涉及第三方", now=local(2026, 11, 10, 9))
    session.commit()
    assert case.status == S.CLOSED and case.disclosure.result == "r04"
    assert case.first_reply_at == local(2026, 11, 10, 9) and case.replied_on_time is True
    event = session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id)
                            .order_by(CaseEvent.id.desc())).first()
    assert event.action == Action.ANSWER_DISCLOSURE and event.note.startswith("（二）部分公开")
    assert workflow.available_actions(case, press) == []


def test_late_answer_and_not_corrected(session, people):
    press = people[Role.PRESS]
    late = register(session, press, local(2026, 11, 2, 10))
    workflow.answer_disclosure(session, late, press, "r03", now=local(2026, 12, 1, 9))
    assert late.replied_on_time is False
    waiting = register(session, press, local(2026, 11, 3, 10))
    workflow.ask_correction(session, waiting, press, "请写明年份", now=local(2026, 11, 4, 9))
    with pytest.raises(WorkflowError, match="只能按“申请人无正当理由逾期不补正”办结"):
        workflow.answer_disclosure(session, waiting, press, "r03", now=local(2026, 11, 30, 9))
    workflow.answer_disclosure(session, waiting, press, disclosure.NOT_CORRECTED, now=local(2026, 11, 30, 9))
    assert waiting.status == S.CLOSED


def test_roles_and_other_cases(session, people):
    for role in (Role.LEADER, Role.DEPARTMENT):
        with pytest.raises(WorkflowError, match="您的角色不能登记依申请公开申请"):
            register(session, people[role], local(2026, 11, 2, 10))
    case = register(session, people[Role.PRESS], local(2026, 11, 2, 10))
    assert workflow.available_actions(case, people[Role.LEADER]) == []
    assert workflow.available_actions(case, people[Role.PRESS]) == [
        Action.ASK_CORRECTION, Action.EXTEND_DISCLOSURE, Action.ANSWER_DISCLOSURE]
    with pytest.raises(WorkflowError, match="不适用于这类案件"):
        workflow.close(session, case, people[Role.PRESS])


@pytest.mark.parametrize("change, message", [
    ({"applicant": "nobody"}, "请选择申请人类型"),
    ({"received": datetime.now(UTC) + timedelta(days=1)}, "收到申请的时间不能晚于现在"),
])
def test_bad_registrations(session, people, change, message):
    received = change.get("received", local(2026, 11, 2, 10))
    with pytest.raises(WorkflowError, match=message):
        workflow.register_disclosure(session, people[Role.PRESS],
                                     applicant_type=change.get("applicant", "natural"),
                                     applicant_name="张三", content="内容", form="网络", received_at=received)


def test_overdue_lists_include_requests(session, people):
    case = register(session, people[Role.PRESS], local(2026, 11, 2, 10))
    assert session.scalar(select(Case.id).where(workflow.overdue(local(2026, 12, 1, 9)))) == case.id
    soon = workflow.due_within(local(2026, 11, 30, 9), 24)
    assert session.scalar(select(Case.id).where(soon)) == case.id


# --- table 三 -----------------------------------------------------------------------------------

# (received, applicant, answered or None, result): carried over from 2025, new in 2026, into 2027.
SPECS = [
    (local(2025, 12, 20, 10), "natural", local(2026, 1, 8, 10), "r03"),  # 上年结转, answered 2026
    (local(2025, 11, 3, 10), "legal", local(2025, 11, 20, 10), "r03"),  # done in 2025: not counted
    (local(2026, 3, 2, 10), "natural", local(2026, 3, 20, 10), "r03"),
    (local(2026, 3, 3, 10), "business", local(2026, 3, 25, 10), "r04"),
    (local(2026, 4, 1, 10), "research", local(2026, 4, 20, 10), "r13"),
    (local(2026, 5, 6, 10), "natural", local(2026, 5, 20, 10), "r17"),
    (local(2026, 6, 1, 10), "nonprofit", None, None),  # still open: 结转下年
    (local(2026, 12, 20, 10), "other", local(2027, 1, 5, 10), "r03"),  # answered next year: 结转
]


def expected_table3():
    start, end = local(2026, 1, 1), local(2027, 1, 1)
    cells = {}

    def add(row, applicant):
        for column in (applicant, "total"):
            cells[(row, column)] = cells.get((row, column), 0) + 1

    for received, applicant, answered, result in SPECS:
        if answered is not None and answered < start:
            continue
        add("r01" if received >= start else "r02", applicant)
        if answered is not None and answered < end:
            add(result, applicant)
            add("r24", applicant)
        else:
            add("r25", applicant)
    return cells


def test_table3_counted_from_the_requests(session, people):
    press = people[Role.PRESS]
    ids = []
    for received, applicant, answered, result in SPECS:
        case = register(session, press, received, applicant)
        if answered is not None:
            workflow.answer_disclosure(session, case, press, result, now=answered)
        ids.append(case.id)
    session.commit()
    report = annual(session, 2026, TZ, now=local(2027, 2, 1))
    expected = expected_table3()
    for row in fmt.T3_ROWS:
        for column, _ in fmt.T3_COLUMNS:
            key = fmt.t3_key(row.id, column)
            assert report.cell(key) == expected.get((row.id, column), 0), key
    assert report.problems == []  # 一 + 二 = 三（七）+ 四, 总计 = the columns' sum
    data = report.as_dict()
    assert data["table3_counted"] is True
    assert data["table3_case_ids"]["t3.r02.natural"] == [ids[0]]
    assert ("表三", "二、上年结转政府信息公开申请数量 自然人", [ids[0]]) in evidence(data)
    assert data["table3_case_ids"]["t3.r25.total"] == sorted([ids[6], ids[7]])
    # Requests are table 三's: the 回应关切 figures leave them out.
    assert data["overview"]["all"]["received"]["count"] == 0


def test_table3_entered_when_no_request_concerns_the_year(session, people):
    register(session, people[Role.PRESS], local(2026, 3, 2, 10))
    report = annual(session, 2024, TZ, now=local(2027, 2, 1))
    assert report.table3_cases is None and report.cell("t3.r01.total") is None  # 未填报, not 0


def test_extension_into_a_year_without_calendar_waits_for_it(session, people):
    press = people[Role.PRESS]
    year = datetime.now(UTC).year + 1
    while workflow.work_calendar(session).covers(year):
        year += 1  # the first year the installed calendar does not know
    case = register(session, press, local(year - 1, 12, 1, 10), now=local(year - 1, 12, 1, 11))
    if case.due_at is None:
        pytest.skip("the last known year ends too early for this test")
    workflow.extend_disclosure(session, case, press, "需征求第三方意见", now=local(year - 1, 12, 10, 9))
    session.commit()
    assert case.due_at is None and case.disclosure.due_at is None  # not the old due time
    notice = workdays.Notice(year=year, holidays=[(datetime(year, 1, 1).date(), "元旦")])
    workdays.enter_notice(session, notice, "test")
    assert workdays.start_waiting_clocks(session, TZ) == 1
    assert case.due_at is not None and case.due_at.astimezone(LOCAL).year == year
    assert case.disclosure.due_at == case.due_at
