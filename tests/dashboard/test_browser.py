"""One real browser run: Debian's chromium driven by Playwright against a served app."""

from __future__ import annotations

import os
import re

import pytest
from playwright.sync_api import expect, sync_playwright
from werkzeug.serving import make_server

from tests.conftest import serve_in_thread

from .conftest import ADMIN_PASSWORD, PASSWORD
from .hotline import TICKET, hotline  # noqa: F401 (a fixture)

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
    thread = serve_in_thread(server)
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.fixture(scope="module")
def browser():
    """One chromium per test module: starting Playwright's driver and the browser takes a
    couple of seconds. Not per session: between its calls Playwright's sync API leaves its
    event loop marked as running in this thread, where `asyncio.run` then refuses to start."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(browser, live_server):
    """A page in a browser context of the test's own: cookies, storage and cache start empty,
    as in a freshly started browser (what `browser.new_page` makes, closed after the test)."""
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    try:
        yield context.new_page()
    finally:
        context.close()


def log_in(page, live_server, username="admin", password=ADMIN_PASSWORD) -> list[str]:
    """Log in through the form; returns the list the page's console errors are added to."""
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(live_server + "/")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(live_server + "/")  # the home page: the overview, or a department's list
    return errors


def test_login_list_and_open_a_case(page, live_server, cases, tmp_path):
    errors = log_in(page, live_server)
    page.get_by_role("link", name="案件", exact=True).click()
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
    page.wait_for_url(live_server + "/")
    page.get_by_role("link", name="Cases", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Cases")
    expect(page.get_by_role("columnheader", name="Due")).to_be_visible()
    page.screenshot(path=str(tmp_path / "cases-en.png"), full_page=True)

    page.get_by_role("button", name="中文").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("案件列表")


def test_department_accepts_and_replies(page, live_server, users, cases, tmp_path):
    errors = log_in(page, live_server, "jichu", PASSWORD)
    page.get_by_role("link", name="案件", exact=True).click()
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


# Set HUIYING_TEST_SHOTS=DIR to keep the screenshots of the case list for a look.
SHOTS = os.environ.get("HUIYING_TEST_SHOTS")


def shot(page, tmp_path, name: str) -> None:
    folder = SHOTS or str(tmp_path)
    os.makedirs(folder, exist_ok=True)
    page.screenshot(path=os.path.join(folder, name), full_page=True)


def overflows(page) -> bool:
    """Whether the page body is wider than the window (a sideways-scrolling phone page)."""
    return page.evaluate("document.documentElement.scrollWidth > window.innerWidth"
                         " || document.body.scrollWidth > window.innerWidth")


OPEN = re.compile(r"(^|\s)show(\s|$)")  # a Bootstrap collapse done opening


def test_case_list_on_a_phone(page, live_server, users, cases, tmp_path):
    page.set_viewport_size({"width": 390, "height": 844})
    errors = log_in(page, live_server, "press", PASSWORD)
    page.goto(live_server + "/cases/")
    assert not overflows(page)
    # Each case is a card with labelled lines; the title link is on top.
    card = page.locator("table.cases tbody tr").first
    expect(card.locator("td.case-title a")).to_be_visible()
    expect(card.locator('td[data-label="办理时限"]')).to_be_visible()
    box = card.bounding_box()
    assert box["width"] <= 390 and box["height"] > 100  # stacked, not one squeezed line
    shot(page, tmp_path, "cases-list-390.png")

    # The filters fold away on a phone and open from their button.
    expect(page.get_by_label("渠道")).to_be_hidden()
    page.get_by_role("button", name="筛选与排序").click()
    expect(page.get_by_label("渠道")).to_be_visible()
    # Bootstrap's collapse is still sliding open (class "collapsing") when the fields show: a
    # click then can miss the moving button (seen with three test workers on two cores).
    expect(page.locator("#filters")).to_have_class(OPEN)
    page.get_by_label("排序").select_option("heat")
    page.get_by_label("状态", exact=True).select_option("已派单")
    shot(page, tmp_path, "cases-filters-390.png")
    page.get_by_role("button", name="筛选", exact=True).click()
    page.wait_for_url("**/cases/?*sort=heat*")
    assert page.locator("table.cases tbody tr").count() == 3
    assert not overflows(page)

    # Bulk: tick all on the page, 办结 — refused for each (not yet answered), said per case.
    expect(page.get_by_label("全选本页")).to_be_hidden()  # folded away like the filters
    page.get_by_role("button", name="批量操作").click()
    expect(page.locator("#bulk-bar")).to_have_class(OPEN)
    page.get_by_label("全选本页").check()
    assert page.locator('input[name="case"]:checked').count() == 3
    page.get_by_role("combobox", name="批量操作").select_option("close")
    page.get_by_role("button", name="对勾选的案件执行").click()
    expect(page.locator(".bulk-summary")).to_have_text("共 3 件：已执行 0 件，未执行 3 件。")
    expect(page.locator(".outcome-refused").first).to_contain_text("不能执行“办结”")
    assert not overflows(page)
    shot(page, tmp_path, "cases-bulk-390.png")
    page.get_by_role("link", name="返回案件列表").click()
    page.wait_for_url("**/cases/?*sort=heat*")
    assert errors == []


def test_case_list_on_a_desktop(page, live_server, users, cases, hotline, tmp_path):  # noqa: F811
    errors = log_in(page, live_server, "press", PASSWORD)
    page.get_by_role("link", name="案件", exact=True).click()
    expect(page.get_by_label("渠道")).to_be_visible()  # no fold on a wide screen
    expect(page.get_by_role("columnheader", name="办理时限")).to_be_visible()
    assert not overflows(page)
    shot(page, tmp_path, "cases-list-1280.png")
    page.get_by_label("关键词或工单编号").fill(TICKET)
    page.get_by_role("button", name="筛选", exact=True).click()
    expect(page.locator("table.cases tbody tr")).to_have_count(1)
    page.get_by_role("link", name=hotline.title).click()
    expect(page.locator(".case-facts")).to_contain_text(TICKET)
    expect(page.locator(".case-facts")).to_contain_text("投诉")
    shot(page, tmp_path, "case-detail-1280.png")
    page.set_viewport_size({"width": 390, "height": 844})
    assert not overflows(page)
    shot(page, tmp_path, "case-detail-390.png")
    assert errors == []
