"""/admin/calendar: the admin enters a year's holiday notice; waiting cases get due times."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from huiying.cases import process_comments
from huiying.models import AuditEvent, CalendarNotice, CalendarOverride, Case, Comment, Source
from huiying.sources import IMPORT_KIND

from .conftest import PASSWORD, csrf_token

SHANGHAI = ZoneInfo("Asia/Shanghai")


def post(client, url, **fields):
    data = {"csrf_token": csrf_token(client.get("/admin/calendar/").text), **fields}
    return client.post(url, data=data)


def waiting_case(db):
    """A 投诉 from the hotline received 15 Dec 2026: 13 working days reach into 2027."""
    source = Source(name="hotline", title="12345", kind=IMPORT_KIND)
    db.add(source)
    db.flush()
    comment = Comment(source_id=source.id, external_id="GD1", title="学校食堂饭菜发霉",
                      body="青石镇中学食堂饭菜发霉，学生吃了拉肚子，请教育局处理。", content_hash="gd1",
                      request_type="投诉", published_at=datetime(2026, 12, 15, 2, 0, tzinfo=UTC))
    db.add(comment)
    db.commit()
    process_comments(db, [comment.id])
    db.refresh(comment)
    return db.get(Case, comment.case_id)


def test_only_the_admin_reaches_the_calendar(client, auth, users):
    assert client.get("/admin/calendar/").status_code == 302  # to the login page
    for name in ("press", "jichu"):
        auth.login(name, PASSWORD)
        assert client.get("/admin/calendar/").status_code == 403
        assert 'href="/admin/calendar/"' not in client.get("/cases/").text
        auth.logout()
    auth.login()
    page = client.get("/admin/calendar/")
    assert page.status_code == 200 and "<h1 class=\"h4 mb-3\">工作日历</h1>" in page.text
    assert 'href="/admin/calendar/">工作日历</a>' in client.get("/cases/").text


def test_a_post_without_the_csrf_token_is_refused(client, auth, db):
    auth.login()
    response = client.post("/admin/calendar/days", data={"days-first": "2027-01-04",
                                                        "days-kind": "holiday"})
    assert response.status_code == 400
    assert db.scalar(select(CalendarOverride)) is None


def test_entering_the_notice_gives_the_waiting_case_its_due_time(client, auth, db):
    case = waiting_case(db)
    assert case.due_at is None
    auth.login()
    detail = client.get(f"/cases/{case.id}").text
    assert "缺少工作日历" in detail and "工作日历缺少 2027 年的节假日安排" in detail
    assert "calendar_missing" not in detail and "chinesecalendar" not in detail
    assert "未覆盖" in client.get("/admin/calendar/").text

    response = post(client, "/admin/calendar/notice", **{
        "notice-year": "2027", "notice-title": "2027年节假日安排（测试）",
        "notice-holidays": "元旦 2027-01-01 ~ 2027-01-03\n春节 2027-02-06 ~ 2027-02-13",
        "notice-workdays": "春节 2027-02-14\n春节 2027-02-20"})
    assert response.status_code == 302
    page = client.get("/admin/calendar/").text
    assert "已录入 2027 年节假日安排：放假 11 天，调休上班 2 天。" in page
    assert "1 件等待工作日历的案件已计算出办理时限。" in page
    assert "已覆盖（已录入年度安排）" in page
    history = page.split('class="table table-sm calendar-history"', 1)[1]
    assert "<td>admin</td>" in history and "2027年节假日安排：春节调休上班" in history

    db.expire_all()
    assert db.get(Case, case.id).due_at == datetime(2027, 1, 4, 23, 59, 59, tzinfo=SHANGHAI)
    assert db.scalar(select(CalendarNotice.created_by)) == "admin"
    detail = client.get(f"/cases/{case.id}").text
    assert "工作日历已补录" in detail and "calendar_due" not in detail


def test_one_day_off_then_back_to_the_official_calendar(client, auth, db):
    auth.login()
    assert post(client, "/admin/calendar/days", **{
        "days-first": "2026-12-28", "days-last": "2026-12-29", "days-kind": "holiday",
        "days-note": "台风停课"}).status_code == 302
    page = client.get("/admin/calendar/").text
    assert "已保存 2 天的工作日历设置。" in page and page.count("台风停课") == 4  # in force + history
    post(client, "/admin/calendar/days", **{"days-first": "2026-12-29", "days-kind": "official"})
    in_force = client.get("/admin/calendar/").text.split("calendar-days", 1)[1].split("calendar-history")[0]
    assert "2026-12-28" in in_force and "2026-12-29" not in in_force
    assert db.scalar(select(CalendarOverride).order_by(CalendarOverride.id.desc())).is_working_day is None
    events = db.scalars(select(AuditEvent).where(AuditEvent.target_kind == "calendar")
                        .order_by(AuditEvent.id)).all()
    assert [(e.action, e.data["first"], e.data["last"], e.data["working"]) for e in events] == [
        ("calendar.days", "2026-12-28", "2026-12-29", False),
        ("calendar.days", "2026-12-29", "2026-12-29", None)]
    assert all(e.actor_id is not None for e in events)
    assert "2026-12-28 至 2026-12-29 设为放假" in client.get("/admin/audit/").text


@pytest.mark.parametrize(("url", "fields", "sentence"), [
    ("/admin/calendar/days", {"days-first": "2027-01-05", "days-last": "2027-01-04",
                              "days-kind": "holiday"}, "2027-01-05 至 2027-01-04：结束日期早于开始日期。"),
    ("/admin/calendar/days", {"days-kind": "holiday"}, "请选择日期。"),
    ("/admin/calendar/notice", {"notice-year": "2027", "notice-holidays": "春节"},
     "“春节”中没有日期，请写成“春节 2027-02-06 ~ 2027-02-13”。"),
    ("/admin/calendar/notice", {"notice-year": "2027", "notice-holidays": "元旦 2026-01-01"},
     "2026-01-01 不在 2027 年前后，请检查日期的年份。"),
    ("/admin/calendar/notice", {"notice-year": "2027", "notice-holidays": "元旦 2027-01-01",
                                "notice-workdays": "2027-01-01"}, "2027-01-01 既是放假日又是调休上班日。"),
    ("/admin/calendar/notice", {"notice-year": "2027", "notice-holidays": ""}, "请填写放假日期。"),
])
def test_bad_input_is_one_sentence_and_nothing_is_stored(client, auth, db, url, fields, sentence):
    auth.login()
    response = post(client, url, **fields)
    assert response.status_code == 400 and sentence in response.text
    assert db.scalar(select(CalendarOverride)) is None and db.scalar(select(CalendarNotice)) is None


def test_the_page_in_english(client, auth):
    auth.login()
    page = client.get("/admin/calendar/", headers={"Accept-Language": "en"}).text
    assert "Working-day calendar" in page and "工作日历" not in page.split("<main", 1)[1]
