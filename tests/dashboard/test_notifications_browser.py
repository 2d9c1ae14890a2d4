"""The 通知 page in Debian's chromium (Playwright): the badge, marking one read, the unread
filter; screenshots go to $HUIYING_TEST_SHOTS_DIR when set (else the test's tmp_path)."""

from __future__ import annotations

from playwright.sync_api import expect
from sqlalchemy import func, select

from huiying.models import Notification

from .test_annual_browser import shots
from .test_browser import browser, live_server, log_in, page, pytestmark  # noqa: F401 (fixtures, marks)
from .test_notifications_page import scanned


def test_the_notifications_page(page, live_server, app, db, cases, tmp_path):  # noqa: F811
    scanned(app, db, wecom_webhook="https://qyapi.example.cn/cgi-bin/webhook/send?key=k")
    unread = db.scalar(select(func.count(Notification.id)).where(
        Notification.channel == "inapp", Notification.recipient == "admin"))
    assert unread >= 2
    folder = shots(tmp_path)
    errors = log_in(page, live_server)
    badge = page.locator(".nav-notifications .badge")
    expect(badge).to_contain_text(str(unread))
    page.get_by_role("link", name=f"通知 {unread}").click()
    expect(page.get_by_role("heading", name="通知")).to_be_visible()
    expect(page.locator(".notification-unread")).to_have_count(unread)
    page.locator("details summary").first.click()
    page.screenshot(path=str(folder / "notify-page.png"), full_page=True)

    page.locator(".notification-unread").first.get_by_role("button").click()
    expect(badge).to_contain_text(str(unread - 1))
    expect(page.locator(".notification-read")).to_have_count(1)
    page.get_by_role("link", name="仅未读").click()
    expect(page.locator(".notification-unread")).to_have_count(unread - 1)
    expect(page.locator(".notification-read")).to_have_count(0)
    page.screenshot(path=str(folder / "notify-unread.png"), full_page=True)
    assert errors == []
