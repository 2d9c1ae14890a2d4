"""The case list's filters, sorting, ticket search, bulk actions and xlsx export, through
the test client on SQLite and PostgreSQL, per role."""

from __future__ import annotations

import io
import re
from datetime import datetime, timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from huiying.models import Case, CaseEvent, CaseStatus, Department, Severity, Source, utcnow
from huiying.users import create_user

from .conftest import PASSWORD, csrf_token
from .hotline import TICKET, hotline  # noqa: F401 (a fixture)


def shown(page, cases: dict) -> set[str]:
    return {key for key, case in cases.items() if f'href="/cases/{case.id}"' in page.text}


def order(page) -> list[int]:
    body = page.text.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return [int(n) for n in re.findall(r'href="/cases/(\d+)"', body)]


@pytest.fixture
def every(cases, hotline):  # noqa: F811
    return {**cases, "hotline": hotline}


def test_channel_source_and_ticket_search(client, auth, every, db):
    auth.login()
    assert shown(client.get("/cases/?channel=hotline"), every) == {"hotline"}
    assert shown(client.get("/cases/?channel=board"), every) == {"enrolment", "bus", "fees", "script"}
    assert shown(client.get("/cases/?channel=mailbox"), every) == set()
    board = db.scalar(select(Source).where(Source.name == "county-board"))
    assert shown(client.get(f"/cases/?source={board.id}"), every) == {"enrolment", "bus", "fees", "script"}
    # 工单编号: the imported comment's external id, exactly
    assert shown(client.get("/cases/", query_string={"q": TICKET}), every) == {"hotline"}
    assert shown(client.get("/cases/", query_string={"q": "m1"}), every) == set()  # a board's id is no ticket


def test_search_in_titles_and_summaries(client, auth, every, db):
    """On PostgreSQL through the token index, on SQLite with LIKE: the same answers."""
    auth.login()
    assert shown(client.get("/cases/", query_string={"q": "校车"}), every) == {"bus"}
    assert shown(client.get("/cases/", query_string={"q": "车校"}), every) == set()  # order counts
    assert shown(client.get("/cases/", query_string={"q": "校车超载"}), every) == {"bus"}
    assert shown(client.get("/cases/", query_string={"q": "超载校车"}), every) == set()
    assert shown(client.get("/cases/", query_string={"q": "幼"}), every) == {"fees"}
    assert shown(client.get("/cases/", query_string={"q": "划片"}), every) == {"enrolment"}
    # in the summary (the first comment's text), not the title
    assert shown(client.get("/cases/", query_string={"q": "兴趣班"}), every) == {"fees"}
    assert shown(client.get("/cases/", query_string={"q": "！"}), every) == set()
    # The total comes from the counts per status now: it still says 1, also with a status.
    assert "共 1 件" in client.get("/cases/", query_string={"q": "校车"}).text
    bus_status = db.get(Case, every["bus"].id).status
    assert "共 1 件" in client.get("/cases/", query_string={"q": "校车", "status": bus_status}).text
    assert "共 0 件" in client.get("/cases/", query_string={"q": "校车", "status": "办结"}).text


def test_topic_sentiment_and_severity(client, auth, every, db):
    for key, case in every.items():
        db.get(Case, case.id).sentiment_label = {"bus": "negative", "fees": "neutral"}.get(key, "positive")
    db.get(Case, every["bus"].id).severity = Severity.MAJOR
    db.get(Case, every["fees"].id).topic = None
    db.commit()
    auth.login()
    assert shown(client.get("/cases/?sentiment=negative"), every) == {"bus"}
    assert shown(client.get("/cases/?sentiment=neutral"), every) == {"fees"}
    assert shown(client.get("/cases/?topic=招生入学"), every) == {"enrolment"}
    assert shown(client.get("/cases/?topic=none"), every) == {"fees"}
    assert shown(client.get("/cases/?severity=重大"), every) == {"bus"}


def test_date_range_counts_from_when_the_public_wrote(client, auth, every, db):
    # The samples were written 2024-09-02 09:30–12:30 local; the ticket came in 2024-09-03 10:15.
    case = db.get(Case, every["enrolment"].id)
    case.created_at = datetime(2024, 9, 5, tzinfo=case.first_seen_at.tzinfo)  # processed later
    db.commit()
    auth.login()
    everything = set(every)
    assert shown(client.get("/cases/?from=2024-09-02&to=2024-09-02"), every) == everything - {"hotline"}
    assert shown(client.get("/cases/?from=2024-09-03"), every) == {"hotline"}
    assert shown(client.get("/cases/?to=2024-09-01"), every) == set()
    for name in ("department", "source"):  # beyond any id (SQLite refuses such integers)
        page = client.get("/cases/", query_string={name: "9" * 30})
        assert page.status_code == 200 and shown(page, every) == everything
    page = client.get("/cases/?from=2024-13-01")
    assert page.status_code == 200 and shown(page, every) == everything
    assert "“起始日期”应为 YYYY-MM-DD 格式的日期，“2024-13-01”已忽略。" in page.text


def test_overdue_and_due_soon(client, auth, every, db):
    now = utcnow()
    for key, due in (("enrolment", now - timedelta(hours=2)), ("bus", now + timedelta(hours=3)),
                     ("fees", now + timedelta(days=5)), ("script", now - timedelta(hours=1)),
                     ("hotline", now + timedelta(days=9))):
        db.get(Case, every[key].id).due_at = due
    # Answered: no longer overdue although its due time has passed.
    db.get(Case, every["script"].id).first_reply_at = now - timedelta(minutes=5)
    db.commit()
    auth.login()
    page = client.get("/cases/?due=overdue")
    assert shown(page, every) == {"enrolment"}
    assert "（已超时）" in page.text and "超时 2 小时" in page.text
    soon = client.get("/cases/?due=soon")
    assert shown(soon, every) == {"bus"} and "剩 2 小时" in soon.text
    listed = order(client.get("/cases/?sort=time_left"))
    ids = {key: case.id for key, case in every.items()}
    # still owed an answer, least time left first; then the answered one
    assert listed == [ids["enrolment"], ids["bus"], ids["fees"], ids["hotline"], ids["script"]]


def test_sort_by_severity_and_heat(client, auth, every, db):
    db.get(Case, every["fees"].id).severity = Severity.MAJOR
    db.get(Case, every["bus"].id).severity = Severity.SERIOUS
    db.get(Case, every["script"].id).heat = 9
    db.get(Case, every["enrolment"].id).heat = 4
    db.commit()
    auth.login()
    ids = {key: case.id for key, case in every.items()}
    assert order(client.get("/cases/?sort=severity"))[:2] == [ids["fees"], ids["bus"]]
    assert order(client.get("/cases/?sort=heat"))[:2] == [ids["script"], ids["enrolment"]]
    page = client.get("/cases/?sort=heat&channel=board")
    assert 'value="heat" selected' in page.text and 'value="board" selected' in page.text
    # the filters travel with the export link
    assert re.search(r'href="/cases/export\.xlsx\?[^"]*sort=heat', page.text)


def test_department_user_filters_stay_within_its_department(client, auth, users, every, db):
    own = db.scalar(select(Department).where(Department.name == "安全稳定股"))
    assert every["hotline"].department_id != own.id
    auth.login("anquan", users["anquan"])
    for params in ({"channel": "board"}, {"channel": "hotline"}, {"sort": "heat"}, {"due": "overdue"},
                   {"q": TICKET}, {"from": "2024-01-01"}, {"department": every["hotline"].department_id}):
        assert shown(client.get("/cases/", query_string=params), every) <= {"bus", "script"}
    assert shown(client.get("/cases/?sort=heat"), every) == {"bus", "script"}


def test_case_page_shows_ticket_number_and_request_type(client, auth, every):
    auth.login()
    text = client.get(f"/cases/{every['hotline'].id}").text
    assert "工单编号" in text and TICKET in text
    assert "诉求类型" in text and "投诉" in text
    assert "12345 热线" in text
    assert "13912345678" not in text and "139****5678" in text
    assert "工单编号" not in client.get(f"/cases/{every['bus'].id}").text  # a board post has none


# --- bulk actions --------------------------------------------------------------------------

def bulk(client, action, ids, **fields):
    page = client.get("/cases/")
    data = {"csrf_token": csrf_token(page.text), "action": action, "case": [str(i) for i in ids],
            "back": "/cases/?sort=heat", "department": "0", "text": "", **fields}
    return client.post("/cases/bulk", data=data)


def outcomes(page) -> dict[int, str]:
    body = page.text.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    found = {}
    for row in re.findall(r"<tr class=\"outcome-\w+\">(.*?)</tr>", body, re.S):
        case_id = int(re.search(r"<td[^>]*>(\d+)</td>", row).group(1))
        found[case_id] = re.sub(r"\s+", " ", re.search(r'class="outcome-message">(.*?)</span>', row,
                                                        re.S).group(1)).strip()
    return found


def test_bulk_assign_reports_each_refusal(client, auth, users, cases, db):
    department = db.scalar(select(Department).where(Department.name == "安全稳定股"))
    auth.login("press", users["press"])
    ids = [cases["fees"].id, cases["bus"].id, cases["enrolment"].id, 999999]
    page = bulk(client, "assign", ids, department=str(department.id), text="请核实")
    assert page.status_code == 200
    result = outcomes(page)
    assert result[cases["fees"].id] == "已派至安全稳定股。"
    assert result[cases["bus"].id] == "案件已派至安全稳定股。"  # the workflow's own refusal
    assert result[cases["enrolment"].id] == "已派至安全稳定股。"  # re-assigned from 基础教育股
    assert result[999999] == "没有这件案件，或您无权查看。"
    assert "共 4 件：已执行 2 件，未执行 2 件。" in page.text
    assert 'href="/cases/?sort=heat"' in page.text  # back to the list as it was
    db.expire_all()
    assert db.get(Case, cases["fees"].id).department_id == department.id
    assert db.get(Case, cases["fees"].id).status == CaseStatus.ASSIGNED
    events = db.scalars(select(CaseEvent).where(CaseEvent.case_id == cases["bus"].id,
                                                CaseEvent.action == "assign")).all()
    assert len(events) == 1  # the refused one left no event


def test_bulk_reject_and_close_follow_the_rules(client, auth, users, cases, db):
    auth.login("press", users["press"])
    page = bulk(client, "reject", [cases["fees"].id, cases["bus"].id], text="重复来信")
    result = outcomes(page)
    assert result[cases["fees"].id] == "已标记为不予处理。"
    assert result[cases["bus"].id] == "案件当前状态为“已派单”，不能执行“不予处理”。"
    page = bulk(client, "close", [cases["fees"].id, cases["bus"].id])
    result = outcomes(page)
    assert result[cases["fees"].id] == "案件当前状态为“不予处理”，不能执行“办结”。"
    assert result[cases["bus"].id] == "案件当前状态为“已派单”，不能执行“办结”。"
    db.expire_all()
    assert db.get(Case, cases["fees"].id).status == CaseStatus.REJECTED
    assert db.get(Case, cases["bus"].id).status == CaseStatus.ASSIGNED


def test_bulk_input_is_checked_once(client, auth, users, cases, db):
    auth.login("press", users["press"])
    for action, fields, message in (("reject", {}, "不予处理须说明理由。"),
                                    ("assign", {}, "请选择承办科室。"),
                                    ("merge", {}, "请选择一项批量操作。")):
        page = bulk(client, action, [cases["fees"].id], **fields)
        assert page.status_code == 302 and page.location == "/cases/?sort=heat"
        assert message in client.get(page.location).text
    page = bulk(client, "close", [])
    assert "请先勾选案件。" in client.get(page.location).text
    db.expire_all()
    assert db.get(Case, cases["fees"].id).status == CaseStatus.TRIAGE


def test_bulk_needs_the_csrf_token(client, auth, users, cases, db):
    auth.login("press", users["press"])
    page = client.post("/cases/bulk", data={"action": "reject", "case": [cases["fees"].id], "text": "x"})
    assert page.status_code == 400
    db.expire_all()
    assert db.get(Case, cases["fees"].id).status == CaseStatus.TRIAGE


def test_bulk_by_role(client, auth, users, cases, db):
    create_user(db, "leader", PASSWORD, "leader")
    db.commit()
    auth.login("jichu", users["jichu"])
    page = client.get("/cases/")
    assert 'action="/cases/bulk"' in page.text and 'name="case"' not in page.text  # no bulk bar
    # A department may take none of these actions: nothing happens whatever it posts.
    page = client.post("/cases/bulk", data={"csrf_token": csrf_token(page.text), "action": "close",
                                            "case": [cases["enrolment"].id]})
    assert page.status_code == 302
    auth.logout()
    auth.login("leader", PASSWORD)
    page = client.get("/cases/")
    assert 'name="case"' not in page.text
    assert client.post("/cases/bulk", data={"csrf_token": csrf_token(page.text), "action": "close",
                                            "case": [cases["enrolment"].id]}).status_code == 403
    auth.logout()
    auth.login()  # the admin may do everything the rules allow
    page = client.get("/cases/")
    assert page.text.count('name="case"') == len(cases)
    db.expire_all()
    assert db.get(Case, cases["enrolment"].id).status == CaseStatus.ASSIGNED


# --- export --------------------------------------------------------------------------------

def sheet_rows(response):
    assert response.status_code == 200
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert "filename*=UTF-8''" in response.headers["Content-Disposition"]
    book = load_workbook(io.BytesIO(response.data))
    return [list(row) for row in book["案件"].iter_rows(values_only=True)], book


def test_export_is_the_filtered_list(client, auth, every, db):
    bus = db.get(Case, every["bus"].id)
    bus.title = "=HYPERLINK(\"http://evil.example\") 校车 13812345678"
    db.commit()
    auth.login()
    rows, book = sheet_rows(client.get("/cases/export.xlsx?channel=board&sort=heat"))
    header, *data = rows
    assert header[:4] == ["编号", "标题", "状态", "严重程度"]
    assert {"工单编号", "诉求类型", "首次发现", "办理时限", "渠道"} <= set(header)
    board = ("enrolment", "bus", "fees", "script")
    assert sorted(row[0] for row in data) == sorted(every[k].id for k in board)
    title = next(row for row in data if row[0] == bus.id)[header.index("标题")]
    assert title.startswith("'=HYPERLINK") and "138****5678" in title and "13812345678" not in title
    first_seen = data[0][header.index("首次发现")]
    assert isinstance(first_seen, datetime)
    enrolment = next(row for row in data if row[0] == every["enrolment"].id)
    assert enrolment[header.index("首次发现")] == datetime(2024, 9, 2, 9, 30)  # local time
    assert "说明" in book.sheetnames


def test_export_shows_the_ticket_and_masks(client, auth, every):
    auth.login()
    rows, _ = sheet_rows(client.get("/cases/export.xlsx", query_string={"q": TICKET}))
    header, *data = rows
    assert len(data) == 1
    row = dict(zip(header, data[0], strict=True))
    assert row["工单编号"] == TICKET and row["诉求类型"] == "投诉" and row["渠道"] == "12345 热线"
    assert "13912345678" not in str(data) and "赵六" not in str(data)


def test_department_export_is_its_own_cases(client, auth, users, every):
    auth.login("anquan", users["anquan"])
    rows, _ = sheet_rows(client.get("/cases/export.xlsx"))
    assert sorted(row[0] for row in rows[1:]) == sorted([every["bus"].id, every["script"].id])
    rows, _ = sheet_rows(client.get("/cases/export.xlsx", query_string={"q": TICKET}))
    assert rows[1:] == []  # another department's ticket


def test_a_forum_case_is_filtered_and_named_by_its_channel(client, auth, cases, db):
    from huiying.cases import process_comments
    from huiying.models import Comment

    forum = Source(name="yunxi-forum", title="云溪论坛", kind="forum")
    db.add(forum)
    db.flush()
    comment = Comment(source_id=forum.id, external_id="501", title="实验中学食堂饭菜涨价了",
                      body="这学期食堂一份套餐从6元涨到8元，分量还少了，请教育局管一管。",
                      content_hash="hash-forum-501", published_at=utcnow())
    db.add(comment)
    db.commit()
    process_comments(db, [comment.id])
    db.refresh(comment)
    auth.login()
    listed = client.get("/cases/?channel=forum")
    assert order(listed) == [comment.case_id]
    assert '<option value="forum" selected>论坛</option>' in listed.text
    assert shown(client.get("/cases/?channel=board"), cases) == {"enrolment", "bus", "fees", "script"}
    assert "论坛" in client.get(f"/cases/{comment.case_id}").text
