"""The annual report page and the admin's form in Debian's chromium (Playwright); screenshots go to
$HUIYING_TEST_SHOTS_DIR when set (else the test's tmp_path)."""

from __future__ import annotations

import os
from pathlib import Path

from playwright.sync_api import expect

from huiying import annual_format as fmt
from huiying.annual import save_inputs
from tests.core.test_annual import year_2026
from tests.core.test_annual_format import consistent

from .test_browser import browser, live_server, log_in, page, pytestmark  # noqa: F401 (fixtures, marks)


def shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("HUIYING_TEST_SHOTS_DIR") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def test_the_annual_report_and_its_form(page, live_server, db, tmp_path):  # noqa: F811
    cases = year_2026(db)
    values = consistent()
    values["overview.press_conferences"] = 4.0
    values.update({fmt.t4_key("review", o): None for o, _ in fmt.T4_OUTCOMES})  # 表四 not entered yet
    values[fmt.t3_key("r24", "total")] = 14.0  # does not add up
    save_inputs(db, 2026, values)
    db.commit()
    folder = shots(tmp_path)
    errors = log_in(page, live_server)
    page.goto(live_server + "/reports/annual?year=2026")
    expect(page.get_by_role("heading", name="政府信息公开工作年度报告")).to_be_visible()
    expect(page.locator(".annual-problems li").first).to_contain_text("表三“（七）总计”行“总计”列为 14")
    expect(page.locator(".annual-table4 .missing")).to_have_count(5)
    page.screenshot(path=str(folder / "annual.png"), full_page=True)

    page.get_by_role("link", name="填报年报数据").click()
    page.get_by_label("表三 （七）总计 总计").fill("12")
    page.get_by_label("表四 行政复议 结果维持").fill("abc")
    page.get_by_role("button", name="保存").click()
    expect(page.locator(".alert-danger")).to_contain_text("“表四 行政复议 结果维持”应填写数字，收到“abc”。")
    expect(page.get_by_label("表四 行政复议 结果维持")).to_have_value("abc")  # nothing typed is lost
    expect(page.get_by_label("表三 （七）总计 总计")).to_have_value("12")
    page.screenshot(path=str(folder / "annual-input-error.png"), full_page=True)

    page.get_by_label("表四 行政复议 结果维持").fill("")
    page.get_by_role("button", name="保存").click()
    expect(page.locator(".alert-success")).to_contain_text("已保存 2026 年的年报数据。")
    page.goto(live_server + "/reports/annual?year=2026")
    expect(page.locator(".annual-problems")).to_have_count(0)
    with page.expect_download() as download:
        page.get_by_role("link", name="下载 Word").click()
    assert download.value.suggested_filename == "政府信息公开年报-2026.docx"
    page.screenshot(path=str(folder / "annual-consistent.png"), full_page=True)

    # The 回访 form on a replied case: what the person said, and their verdict.
    page.goto(live_server + f"/cases/{cases['B4'].id}")
    page.get_by_label("回访情况").fill("家长表示基本满意。")
    page.get_by_label("群众评价").select_option("基本满意")
    page.locator("#act-follow_up").screenshot(path=str(folder / "case-follow-up.png"))
    page.get_by_role("button", name="回访").click()
    expect(page.locator(".alert-success")).to_contain_text("已记录回访。")
    page.goto(live_server + "/reports/annual?year=2026")
    expect(page.locator(".annual-satisfaction tr", has_text="基本满意").locator("td")).to_have_text("2")
    # The one refused save answered 400 (the form with its errors); nothing else went wrong.
    assert errors == ["Failed to load resource: the server responded with a status of 400 (BAD REQUEST)"]
