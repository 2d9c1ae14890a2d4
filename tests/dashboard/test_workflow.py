"""The 办理 panel through the test client, on SQLite and PostgreSQL: who sees which action,
what each does, and what is refused."""

import re

import pytest
from sqlalchemy import select

from huiying.models import Case, CaseEvent, CaseStatus, Department
from huiying.users import create_user

from .conftest import PASSWORD, csrf_token

EN = {"Accept-Language": "en"}


def action_forms(html: str) -> list[str]:
    return re.findall(r'<form method="post" action="/cases/\d+/act/([a-z_]+)"', html)


def act(client, case, action, headers=None, **fields):
    """Submit the panel's form of `action` as a browser would (its own CSRF token)."""
    page = client.get(f"/cases/{case.id}", headers=headers).text
    token = re.search(rf'name="{action}-csrf_token"[^>]*value="([^"]+)"', page)
    assert token, f"no {action} form on the page"
    data = {f"{action}-csrf_token": token.group(1), **{f"{action}-{k}": v for k, v in fields.items()}}
    return client.post(f"/cases/{case.id}/act/{action}", data=data, headers=headers, follow_redirects=True)


def reload(db, case):
    db.expire_all()
    return db.get(Case, case.id)


def department_id(db, name):
    return db.scalar(select(Department.id).where(Department.name == name))


def test_full_path_from_triage_to_closed(client, auth, users, cases, db):
    case = cases["fees"]
    auth.login("press", PASSWORD)
    page = client.get(f"/cases/{case.id}").text
    assert action_forms(page) == ["assign", "reject", "merge", "set_due"]
    response = act(client, case, "assign", department=department_id(db, "基础教育股"), note="属招生收费")
    assert "已派单。" in response.text and reload(db, case).status == CaseStatus.ASSIGNED
    auth.logout()

    auth.login("jichu", PASSWORD)
    assert action_forms(client.get(f"/cases/{case.id}").text) == ["accept", "return", "request_extension"]
    assert "已签收。" in act(client, case, "accept").text
    response = act(client, case, "reply", text="经核实，该园已退还兴趣班费用。")
    assert "已回复。" in response.text and reload(db, case).status == CaseStatus.REPLIED
    auth.logout()

    auth.login("press", PASSWORD)
    assert "已记录回访。" in act(client, case, "follow_up", text="家长表示满意").text
    response = act(client, case, "close")
    assert "已办结。" in response.text
    case = reload(db, case)
    assert case.status == CaseStatus.CLOSED and case.department.name == "基础教育股"
    assert action_forms(response.text) == []
    events = db.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id)).all()
    assert [e.action for e in events] == [
        "create", "triage", "assign", "accept", "reply", "follow_up", "close"]
    assert events[4].data["on_time"] is True
    history = response.text.split("办理记录", 1)[1]
    for label in ("派单", "签收", "回复", "回访", "办结", "经核实，该园已退还兴趣班费用。", "按时",
                  "派至基础教育股：属招生收费", "已回复 → 已回访"):
        assert label in history, label


def test_department_user_cannot_act_on_another_departments_case(client, auth, users, cases, db):
    case = cases["enrolment"]  # 基础教育股's
    auth.login("anquan", PASSWORD)
    assert client.get(f"/cases/{case.id}").status_code == 404
    token = csrf_token(client.get("/cases/").text)
    for action, data in (("accept", {}), ("reply", {"reply-text": "这不是我们科室的案件哦。"}),
                         ("return", {"return-text": "不归我们"})):
        response = client.post(f"/cases/{case.id}/act/{action}",
                               data={f"{action}-csrf_token": token, **data})
        assert response.status_code == 404
    assert reload(db, case).status == CaseStatus.ASSIGNED


def test_missing_csrf_token_is_400(client, auth, users, cases, db):
    case = cases["enrolment"]
    auth.login("jichu", PASSWORD)
    response = client.post(f"/cases/{case.id}/act/accept", data={})
    assert response.status_code == 400
    assert reload(db, case).status == CaseStatus.ASSIGNED


def test_leader_sees_no_action_forms_and_cannot_post(client, auth, cases, db):
    create_user(db, "leader", PASSWORD, "leader")
    db.commit()
    auth.login("leader", PASSWORD)
    for case in cases.values():
        page = client.get(f"/cases/{case.id}").text
        assert action_forms(page) == [] and "办理</h2>" not in page
    token = csrf_token(client.get("/cases/").text)
    response = client.post(f"/cases/{cases['fees'].id}/act/reject",
                           data={"reject-csrf_token": token, "reject-text": "广告"})
    assert response.status_code == 403 and reload(db, cases["fees"]).status == CaseStatus.TRIAGE


def test_html_in_a_reply_is_escaped(client, auth, users, cases, db):
    case = cases["enrolment"]
    auth.login("jichu", PASSWORD)
    act(client, case, "accept")
    page = act(client, case, "reply", text='<script>alert("x")</script>已核实并处理，谢谢监督。').text
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;已核实并处理，谢谢监督。" in page


def test_refusals_are_flashed_as_one_sentence(client, auth, users, cases, db):
    case = cases["enrolment"]
    auth.login("jichu", PASSWORD)
    act(client, case, "accept")
    page = act(client, case, "reply", text="太短")
    assert page.status_code == 200 and "回复内容至少 10 个字。" in page.text
    assert reload(db, case).status == CaseStatus.ACCEPTED
    token = csrf_token(client.get(f"/cases/{case.id}").text)
    # A form the panel does not offer (already accepted): refused with the reason.
    page = client.post(f"/cases/{case.id}/act/accept", data={"accept-csrf_token": token},
                       follow_redirects=True)
    assert "案件当前状态为“已签收”，不能执行“签收”。" in page.text
    assert client.post(f"/cases/{case.id}/act/nonsense", data={"csrf_token": token}).status_code == 404


def test_refusals_in_english(client, auth, users, cases, db):
    auth.login("jichu", PASSWORD)
    case = cases["enrolment"]
    token = csrf_token(client.get(f"/cases/{case.id}").text)
    page = client.post(f"/cases/{case.id}/act/reply", data={"reply-csrf_token": token, "reply-text": "x"},
                       headers=EN, follow_redirects=True).text
    assert "The case is &#34;Assigned&#34;, so &#34;Reply&#34; is not possible." in page
    assert ">Actions</h2>" in page and ">Accept</button>" in page


def test_press_merges_and_sees_errors(client, auth, users, cases, db):
    auth.login("press", PASSWORD)
    bus, script = cases["bus"], cases["script"]
    assert "案件不能并入它自己。" in act(client, bus, "merge", into=bus.id).text
    assert "没有编号为 9999 的案件。" in act(client, bus, "merge", into=9999).text
    assert "请输入要并入的案件编号。" in act(client, bus, "merge", into="abc").text
    page = act(client, bus, "merge", into=script.id).text
    assert "已并入另一案件。" in page and f"并入案件 #{script.id}" in page
    assert reload(db, bus).status == CaseStatus.MERGED
    script_page = client.get(f"/cases/{script.id}").text
    assert "校车超载严重" in script_page and f"案件 #{bus.id} 并入本案" in script_page
    assert reload(db, script).heat == 2


def test_extension_request_and_approval(client, auth, users, cases, db):
    case = cases["enrolment"]
    due = case.due_at
    auth.login("jichu", PASSWORD)
    page = act(client, case, "request_extension", text="需要实地核查划片范围").text
    assert "已提交延期申请" in page and "延期申请待审批：需要实地核查划片范围" in page
    assert "request_extension" not in action_forms(page)
    auth.logout()

    auth.login("press", PASSWORD)
    page = client.get(f"/cases/{case.id}").text
    assert "延期申请待审批" in page
    assert action_forms(page) == ["assign", "extend", "reject_extension", "merge", "set_due"]
    assert 'name="extend-hours"' in page and 'max="720"' in page
    assert "延期时长须为 1 至 720 小时。" in act(client, case, "extend", hours=721).text
    assert "延期时长须为 1 至 720 小时。" in act(client, case, "extend", hours="两天").text
    page = act(client, case, "extend", hours=24).text
    assert "已批准延期。" in page and "延期申请待审批" not in page
    case = reload(db, case)
    assert case.status == CaseStatus.EXTENDED and (case.due_at - due).total_seconds() == 24 * 3600


def test_return_goes_back_to_the_press_office(client, auth, users, cases, db):
    case = cases["enrolment"]
    auth.login("jichu", PASSWORD)
    assert "退回须说明理由。" in act(client, case, "return", text=" ").text
    response = act(client, case, "return", text="不属本股职责")
    assert "已退回宣传办重新研判。" in response.text
    assert client.get(f"/cases/{case.id}").status_code == 404  # no longer the department's
    auth.logout()

    auth.login("press", PASSWORD)
    page = client.get("/cases/", query_string={"status": "退回"}).text
    assert f'href="/cases/{case.id}"' in page and "未派单" in page
    assert action_forms(client.get(f"/cases/{case.id}").text) == ["assign", "reject", "merge", "set_due"]


@pytest.mark.parametrize(("username", "count"), [("jichu", 1), ("anquan", 2)])
def test_department_sees_its_to_accept_count(client, auth, users, cases, username, count):
    auth.login(username, PASSWORD)
    page = client.get("/cases/", query_string={"status": "办结"}).text
    assert re.search(rf'待签收 <span class="badge text-bg-light">{count}</span>', page)


def test_press_sees_no_to_accept_count(client, auth, users, cases):
    auth.login("press", PASSWORD)
    assert "待签收" not in client.get("/cases/").text


def test_press_sets_the_due_time_with_a_reason_and_the_list_counts_it(client, auth, users, cases, db):
    from datetime import UTC, datetime, timedelta
    from zoneinfo import ZoneInfo

    case = cases["bus"]
    case.due_at = datetime.now(UTC) - timedelta(hours=1)
    db.commit()
    auth.login("press", PASSWORD)
    page = client.get("/cases/").text
    overdue = int(re.search(r'id="due-overdue"[^>]*>[^<]*?(\d+)</a>', page).group(1))
    assert overdue >= 1
    later = (datetime.now(UTC) + timedelta(days=3)).astimezone(ZoneInfo("Asia/Shanghai")).replace(
        second=0, microsecond=0)
    value = later.strftime("%Y-%m-%dT%H:%M")
    assert "调整办理时限须说明理由。" in act(client, case, "set_due", due_at=value, reason=" ").text
    assert "请填写新的办理时限。" in act(client, case, "set_due", due_at="明天", reason="家长同意").text
    page = act(client, case, "set_due", due_at=value, reason="家长同意延后答复").text
    assert "已调整办理时限。" in page and "家长同意延后答复" in page.split("办理记录", 1)[1]
    assert reload(db, case).due_at == later.astimezone(UTC)
    page = client.get("/cases/", query_string={"due": "overdue"}).text
    assert f'href="/cases/{case.id}"' not in page
    assert re.search(r'id="due-overdue"[^>]*>[^<]*?(\d+)</a>', page).group(1) == str(overdue - 1)
    # Without the form's CSRF token nothing changes.
    response = client.post(f"/cases/{case.id}/act/set_due",
                           data={"set_due-due_at": value, "set_due-reason": "x"})
    assert response.status_code == 400
    page = act(client, case, "set_due", due_at=value, reason="again", headers=EN).text
    assert "The new due time is the same as the current one." in page
