"""One real browser run: Debian's chromium driven by Playwright against a served app."""

from __future__ import annotations

import os
import threading

import pytest
from playwright.sync_api import expect, sync_playwright
from werkzeug.serving import make_server

from .conftest import ADMIN_PASSWORD, PASSWORD

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM),
                       reason=f"{CHROMIUM} is missing (apt-get install chromium)"),
]


@pytest.fixture
def live_server(app):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.fixture
def page(live_server):
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser.new_page(locale="zh-CN", viewport={"width": 1280, "height": 900})
        finally:
            browser.close()


def log_in(page, live_server, username="admin", password=ADMIN_PASSWORD) -> list[str]:
    """Log in through the form; returns the list the page's console errors are added to."""
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(live_server + "/")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url("**/cases/")
    return errors


def test_login_list_and_open_a_case(page, live_server, cases, tmp_path):
    errors = log_in(page, live_server)
    expect(page.get_by_role("columnheader", name="办理时限")).to_be_visible()
    page.screenshot(path=str(tmp_path / "cases.png"), full_page=True)

    title = cases["enrolment"].title
    page.get_by_role("link", name=title).click()
    page.wait_for_url(f"**/cases/{cases['enrolment'].id}")
    expect(page.get_by_role("heading", level=1)).to_have_text(title)
    expect(page.get_by_text("138****1234").first).to_be_visible()
    page.screenshot(path=str(tmp_path / "case.png"), full_page=True)

    # Nothing was blocked by the Content-Security-Policy or failed to load.
    assert errors == []


def test_switch_to_english_in_the_navbar(page, live_server, cases, tmp_path):
    page.goto(live_server + "/")
    page.get_by_role("button", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.get_by_label("Username").fill("admin")
    page.get_by_label("Password").fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="Log in").click()

    page.wait_for_url("**/cases/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Cases")
    expect(page.get_by_role("columnheader", name="Due")).to_be_visible()
    page.screenshot(path=str(tmp_path / "cases-en.png"), full_page=True)

    page.get_by_role("button", name="中文").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("案件列表")


def test_department_accepts_and_replies(page, live_server, users, cases, tmp_path):
    errors = log_in(page, live_server, "jichu", PASSWORD)
    expect(page.get_by_role("link", name="待签收 1")).to_be_visible()

    case = cases["enrolment"]
    page.get_by_role("link", name=case.title).click()
    page.wait_for_url(f"**/cases/{case.id}")
    page.get_by_role("button", name="签收").click()
    expect(page.get_by_role("alert")).to_have_text("已签收。")

    page.get_by_label("回复内容").fill("已核实，城关小学划片范围以县教育局公告为准。")
    page.get_by_role("button", name="回复", exact=True).click()
    expect(page.get_by_role("alert")).to_have_text("已回复。")
    expect(page.locator(".case-facts")).to_contain_text("已回复")
    expect(page.locator("table.events")).to_contain_text("已核实，城关小学划片范围以县教育局公告为准。")
    page.screenshot(path=str(tmp_path / "replied.png"), full_page=True)
    assert errors == []
