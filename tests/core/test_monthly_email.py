"""The monthly report emailed to the press office on the first working day of each month
(huiying.notify Kind.MONTHLY), sent through a real SMTP server (aiosmtpd) with the xlsx attached."""

import io
from dataclasses import replace
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from openpyxl import load_workbook
from sqlalchemy import select

from huiying import settings as settings_module
from huiying.clocks import WorkCalendar
from huiying.db import session_scope
from huiying.models import Notification
from huiying.monthly_export import MEDIA_TYPES
from huiying.notify import first_working_day, scan, send_pending
from huiying.users import create_user
from tests.core.test_figures import october

LOCAL = ZoneInfo("Asia/Shanghai")
PRESS_MAIL = "press@edu.example.cn"


def at(*args) -> datetime:
    return datetime(*args, tzinfo=LOCAL).astimezone(UTC)


def monthly_rows(url):
    with session_scope(url) as session:
        return [(n.key, n.subject, n.body, n.status) for n in session.scalars(
            select(Notification).where(Notification.kind == "monthly", Notification.channel == "email")
            .order_by(Notification.id))]


def scan_at(url, settings, now):
    with session_scope(url) as session:
        return scan(session, settings, now=now)["monthly"]


def press_office(url, monkeypatch):
    monkeypatch.setenv("HUIYING_BUREAU_NAME", "云溪县教育体育局")
    with session_scope(url) as session:
        october(session)
        create_user(session, "press", "password-123", "press", email=PRESS_MAIL)
    return replace(settings_module.load(), brief_hour=8)


def test_first_working_day_follows_the_official_calendar_and_the_overrides():
    official = WorkCalendar()
    assert first_working_day(2026, 11, official) == (datetime(2026, 11, 2).date(), True)  # the 1st: Sunday
    assert first_working_day(2026, 10, official) == (datetime(2026, 10, 8).date(), True)  # 国庆 1–7 October
    assert first_working_day(2026, 12, official) == (datetime(2026, 12, 1).date(), True)
    # A local day off the admin entered moves it on.
    local = WorkCalendar({datetime(2026, 12, 1).date(): False})
    assert first_working_day(2026, 12, local) == (datetime(2026, 12, 2).date(), True)
    # A year chinesecalendar does not know: the 1st, and the caller is told the calendar is missing.
    assert first_working_day(2099, 3, official) == (datetime(2099, 3, 1).date(), False)


def test_the_monthly_report_is_mailed_once_on_the_first_working_day(database, monkeypatch, smtp_server):
    mailbox, port = smtp_server
    settings = press_office(database, monkeypatch)
    assert scan_at(database, settings, at(2026, 11, 1, 10, 0)) == 0  # Sunday the 1st: not a working day
    assert scan_at(database, settings, at(2026, 11, 2, 7, 59)) == 0  # before HUIYING_BRIEF_HOUR
    assert scan_at(database, settings, at(2026, 11, 2, 8, 0)) == 1  # one press officer with an address
    assert scan_at(database, settings, at(2026, 11, 2, 15, 0)) == 0  # once a month
    assert scan_at(database, settings, at(2026, 11, 20, 9, 0)) == 0
    ((key, subject, body, status),) = monthly_rows(database)
    assert key == f"monthly:2026-10:{PRESS_MAIL}" and status == "pending"
    assert subject == "【回应】回应月报 2026年10月"
    assert "云溪县教育体育局2026年10月回应月报已生成" in body and "回应月报-2026-10.xlsx" in body
    assert "案件数：7 件" in body  # A–G of tests/core/test_figures.py's October
    assert "需回应：5 件，已回应 3 件，回应率 60.0%" in body
    assert "/reports/monthly?month=2026-10" in body

    with session_scope(database) as session:
        sent = send_pending(session, replace(settings, smtp_host="127.0.0.1", smtp_port=port),
                            now=at(2026, 11, 2, 8, 1))
    assert sent["sent"] >= 1
    (mail,) = [m for m in mailbox.to(PRESS_MAIL) if "回应月报" in m["Subject"]]
    (attachment,) = list(mail.iter_attachments())
    assert attachment.get_filename() == "回应月报-2026-10.xlsx"
    assert attachment.get_content_type() == MEDIA_TYPES["xlsx"]
    book = load_workbook(io.BytesIO(attachment.get_content()))
    assert book["汇总"]["A1"].value == "云溪县教育体育局回应月报（2026年10月）"
    assert [c.value for c in book["汇总"][3]][:4] == ["全部", 7, 5, 3]
    assert book["明细"].max_row == 2 + 7
    assert monthly_rows(database)[0][3] == "sent"


def test_a_month_starting_with_holidays_waits_for_its_first_working_day(database, monkeypatch):
    settings = press_office(database, monkeypatch)
    assert scan_at(database, settings, at(2026, 10, 1, 9, 0)) == 0  # 国庆
    assert scan_at(database, settings, at(2026, 10, 7, 23, 0)) == 0
    assert scan_at(database, settings, at(2026, 10, 8, 9, 0)) == 1
    assert monthly_rows(database)[0][0] == f"monthly:2026-09:{PRESS_MAIL}"


def test_a_month_the_calendar_does_not_cover_is_sent_on_the_first_and_says_so(database, monkeypatch):
    settings = press_office(database, monkeypatch)
    assert scan_at(database, settings, at(2099, 3, 1, 9, 0)) == 1
    ((key, _subject, body, _status),) = monthly_rows(database)
    assert key == f"monthly:2099-02:{PRESS_MAIL}"
    assert "工作日历未覆盖 2099 年，本月报于当月 1 日发送" in body
    assert "案件数：0 件" in body  # a month with no data is a report of zeros
