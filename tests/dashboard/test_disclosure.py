"""依申请公开 through the test client, on SQLite and PostgreSQL: the register form per role, its
refusals, the panel's transitions on the case page, and the clock and masking shown there."""

import re
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from huiying import workflow
from huiying.models import Case, CaseStatus, DisclosureRequest, utcnow
from huiying.users import create_user
from huiying.workdays import Notice, enter_notice

from .conftest import ADMIN_PASSWORD, PASSWORD, csrf_token
from .test_workflow import act, action_forms, reload

LOCAL = ZoneInfo("Asia/Shanghai")
NEW = "/cases/disclosure/new"


def recent(days_ago=1):
    """A receipt `days_ago` days back, as the form's datetime-local value."""
    return (utcnow().astimezone(LOCAL) - timedelta(days=days_ago)).strftime("%Y-%m-%dT%H:%M")


def register(client, **fields):
    page = client.get(NEW)
    assert page.status_code == 200
    data = {"csrf_token": csrf_token(page.text), "applicant_type": "natural", "applicant_name": "张三丰",
            "form": "网络", "received_at": recent(), "reference": "", "content": "申请公开本县学区划分依据",
            **fields}
    return client.post(NEW, data=data, follow_redirects=True)


@pytest.fixture
def people(db, users):
    create_user(db, "leader", PASSWORD, "leader")
    db.commit()


@pytest.mark.parametrize("username", ["leader", "jichu"])
def test_department_and_leader_cannot_register(client, auth, people, username):
    auth.login(username, PASSWORD)
    assert client.get(NEW).status_code == 403
    listing = client.get("/cases/").text
    assert "登记依申请公开申请" not in listing
    token = csrf_token(listing)  # a valid token: the role, not CSRF, refuses
    assert client.post(NEW, data={"csrf_token": token, "applicant_type": "natural"}).status_code == 403


@pytest.mark.parametrize("username, password", [("press", PASSWORD), ("admin", ADMIN_PASSWORD)])
def test_press_and_admin_register(client, auth, people, db, username, password):
    auth.login(username, password)
    assert "登记依申请公开申请" in client.get("/cases/").text
    response = register(client)
    assert "已登记依申请公开申请" in response.text
    request = db.scalar(select(DisclosureRequest))
    assert request.applicant_type == "natural" and request.case.status == CaseStatus.ACCEPTED
    assert request.due_at is not None and request.case.due_at == request.due_at
    assert "个工作日）" in response.text  # the working-day clock on the case page


def test_without_csrf_token_refused(client, auth, people, db):
    auth.login("press", PASSWORD)
    response = client.post(NEW, data={"applicant_type": "natural", "applicant_name": "张三", "form": "网络",
                                      "received_at": recent(), "content": "x"})
    assert response.status_code == 400 and db.scalar(select(DisclosureRequest)) is None


@pytest.mark.parametrize("fields, sentence", [
    ({"received_at": (utcnow().astimezone(LOCAL) + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")},
     "收到申请的时间不能晚于现在。"),
    ({"received_at": "明天"}, "收到申请的时间须写成日期和时间"),
    ({"applicant_type": "alien"}, "请选择申请人类型。"),
    ({"content": "  "}, "请填写申请内容。"),
])
def test_bad_input_is_one_sentence(client, auth, people, db, fields, sentence):
    auth.login("press", PASSWORD)
    response = register(client, **fields)
    assert response.status_code == 400 and sentence in response.text and "Traceback" not in response.text
    assert db.scalar(select(DisclosureRequest)) is None


def next_years_calendar(db):
    """The clocks run into next year, which the installed chinesecalendar may not know yet."""
    for year in (utcnow().year + 1, utcnow().year + 2):
        if not workflow.work_calendar(db).covers(year):
            enter_notice(db, Notice(year=year, holidays=[(date(year, 1, 1), "元旦")]), "test")
    db.commit()


def test_panel_correction_extension_answer(client, auth, people, db):
    next_years_calendar(db)
    auth.login("press", PASSWORD)
    register(client, received_at=recent(2))
    case = db.scalar(select(Case))
    page = client.get(f"/cases/{case.id}").text
    assert action_forms(page) == ["ask_correction", "extend_disclosure", "answer_disclosure"]
    assert "已告知申请人补正" in act(client, case, "ask_correction", text="请写明所需信息的年份").text
    case = reload(db, case)
    assert case.status == CaseStatus.CORRECTION and case.due_at is None
    page = client.get(f"/cases/{case.id}").text
    assert "暂停计算" in page and action_forms(page) == ["correction_received", "answer_disclosure"]
    assert "已收到补正" in act(client, case, "correction_received", received_at="").text
    case = reload(db, case)
    assert case.status == CaseStatus.ACCEPTED and case.due_at is not None
    first_due = case.due_at
    assert "ask_correction" not in action_forms(client.get(f"/cases/{case.id}").text)  # once
    refused = act(client, case, "extend_disclosure", text=" ")
    assert "延长答复期限须说明理由。" in refused.text
    act(client, case, "extend_disclosure", text="需征求第三方意见")
    case = reload(db, case)
    assert case.status == CaseStatus.EXTENDED and case.due_at > first_due + timedelta(days=20)
    assert "extend_disclosure" not in action_forms(client.get(f"/cases/{case.id}").text)
    refused = act(client, case, "answer_disclosure", result="")
    assert "请选择办理结果。" in refused.text
    done = act(client, case, "answer_disclosure", result="r04", note="部分涉及第三方")
    assert "已答复申请并办结。" in done.text and "部分公开" in done.text
    assert reload(db, case).status == CaseStatus.CLOSED


def test_second_extension_refused_with_a_clear_message(client, auth, people, db):
    auth.login("press", PASSWORD)
    register(client)
    case = db.scalar(select(Case))
    page = client.get(f"/cases/{case.id}").text
    act(client, case, "extend_disclosure", text="需征求第三方意见")
    # A stale page's form submitted again (its token is still valid): refused, one sentence.
    token = re.search(r'name="extend_disclosure-csrf_token"[^>]*value="([^"]+)"', page).group(1)
    response = client.post(f"/cases/{case.id}/act/extend_disclosure", follow_redirects=True,
                           data={"extend_disclosure-csrf_token": token, "extend_disclosure-text": "再延"})
    assert "不能执行“延长答复期限”" in response.text


def test_applicant_masked_for_other_roles(client, auth, people, db):
    auth.login("press", PASSWORD)
    register(client)
    case = db.scalar(select(Case))
    assert "张三丰" in client.get(f"/cases/{case.id}").text
    auth.logout()
    auth.login("leader", PASSWORD)
    page = client.get(f"/cases/{case.id}").text
    assert "张三丰" not in page and "张**" in page
    assert action_forms(page) == []


def test_requests_in_the_overdue_list(client, auth, people, db):
    auth.login("press", PASSWORD)
    old = (datetime.now(LOCAL) - timedelta(days=60)).strftime("%Y-%m-%dT%H:%M")
    register(client, received_at=old)
    case = db.scalar(select(Case))
    listing = client.get("/cases/?due=overdue").text
    assert f'/cases/{case.id}"' in listing
    assert "超期" in client.get(f"/cases/{case.id}").text
