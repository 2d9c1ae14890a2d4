"""A 依申请公开 request registered and handled in Debian's chromium (Playwright), and table 三 of the
annual report counted from it; screenshots go to $HUIYING_TEST_SHOTS_DIR when set."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from playwright.sync_api import expect

from huiying.models import utcnow
from huiying.users import create_user

from .conftest import PASSWORD
from .test_annual_browser import shots
from .test_browser import browser, live_server, log_in, page, pytestmark  # noqa: F401 (fixtures, marks)
from .test_disclosure import next_years_calendar


def test_register_and_answer_a_request(page, live_server, db, tmp_path):  # noqa: F811
    create_user(db, "press", PASSWORD, "press")
    db.commit()
    next_years_calendar(db)
    folder = shots(tmp_path)
    errors = log_in(page, live_server, "press", PASSWORD)
    page.goto(live_server + "/cases/")
    page.get_by_role("link", name="登记依申请公开申请").click()
    page.get_by_label("申请人类型").select_option("business")
    page.get_by_label("申请人姓名或名称").fill("县城关某某餐饮有限公司")
    page.get_by_label("申请方式").select_option("信函")
    received = utcnow().astimezone(ZoneInfo("Asia/Shanghai")) - timedelta(days=3)
    page.get_by_label("收到申请的时间").fill(received.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_label("申请公开的政府信息").fill("申请公开2026年县城关中学食堂承包合同及招标文件。")
    page.screenshot(path=str(folder / "apply-register.png"), full_page=True)
    page.get_by_role("button", name="登记申请").click()
    expect(page.locator(".alert-success")).to_contain_text("已登记依申请公开申请")
    expect(page.locator(".legal-clock")).to_contain_text("个工作日")
    page.screenshot(path=str(folder / "apply-case.png"), full_page=True)

    page.locator("#act-ask_correction textarea").fill("请写明所需合同的签订年份")
    page.locator("#act-ask_correction button").click()
    expect(page.locator(".legal-clock")).to_contain_text("暂停计算")
    page.locator("#act-correction_received button").click()
    expect(page.locator(".alert-success")).to_contain_text("已收到补正")
    page.locator("#act-answer_disclosure select").select_option("r04")
    page.locator("#act-answer_disclosure button").click()
    expect(page.locator(".disclosure .result")).to_contain_text("部分公开")
    page.screenshot(path=str(folder / "apply-answered.png"), full_page=True)
    expect(page.locator("table.events")).to_contain_text("告知补正")  # the history's labels, no code names

    page.goto(live_server + f"/reports/annual?year={received.year}")
    expect(page.locator(".table3-source")).to_contain_text("由系统登记的依申请公开申请统计")
    page.locator(".annual-table3").screenshot(path=str(folder / "apply-annual-table3.png"))
    auth_errors = [e for e in errors if "favicon" not in e]
    assert auth_errors == []
