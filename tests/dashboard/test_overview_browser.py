"""The overview in Debian's chromium: the charts draw (pixels on their canvases), the 需要处理
panel takes a newly processed 重大 case without a reload, and the page fits 1280 and 390 px.

Screenshots go to $HUIYING_TEST_SHOTS when set (to look at them), else to the test's tmp dir.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect

from huiying.cases import process_comments
from huiying.models import Comment, Source, utcnow
from huiying.workflow import CLOSED_STATUSES as CLOSED

from .conftest import PASSWORD
from .test_browser import CHROMIUM, browser, live_server, log_in, page  # noqa: F401  (fixtures)
from .test_overview import NOW, build

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM),
                       reason=f"{CHROMIUM} is missing (apt-get install chromium)"),
]
CHARTS = ["new-cases", "negative-share", "volume", "sources", "topics", "departments", "response-times"]

# Pixels a chart's canvas has drawn (alpha > 0): an empty or missing canvas has none.
DRAWN = """(name) => {
  const canvas = document.querySelector(`#chart-${name} canvas`);
  if (!canvas || !canvas.width || !canvas.height) return 0;
  const pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  let drawn = 0;
  for (let i = 3; i < pixels.length; i += 4) if (pixels[i] > 0) drawn++;
  return drawn;
}"""


@pytest.fixture
def recent(db):
    """The overview fixture moved so that its 'now' is the real present."""
    return build(db, shift=utcnow() - NOW)


def shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("HUIYING_TEST_SHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def charts_drawn(tab) -> dict[str, int]:
    for name in CHARTS:
        tab.wait_for_function(f"({DRAWN})('{name}') > 500", timeout=15_000)
    return {name: tab.evaluate(DRAWN, name) for name in CHARTS}


@pytest.mark.parametrize("username", ["ov-press", "leader"])
def test_the_charts_draw_for_press_and_leaders(page, live_server, recent, tmp_path, username):  # noqa: F811
    errors = log_in(page, live_server, username, PASSWORD)
    expect(page.get_by_role("heading", level=1)).to_have_text("舆情态势")
    drawn = charts_drawn(page)
    assert all(count > 500 for count in drawn.values()), drawn
    # ECharts' aria: each chart describes itself (title, series, values) to screen readers.
    label = page.get_attribute("#chart-new-cases", "aria-label") or ""
    assert "新增案件（按严重程度）" in label and "重大" in label, label
    # The data tables are there, folded; opening one shows the numbers.
    page.locator("#h-volume ~ details summary").click()
    expect(page.locator("#h-volume ~ details table")).to_be_visible()
    folder = shots(tmp_path)
    page.screenshot(path=str(folder / f"overview-{username}-1280.png"), full_page=True)

    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    charts_drawn(page)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page is {width} px wide at a 390 px viewport"
    page.screenshot(path=str(folder / f"overview-{username}-390.png"), full_page=True)
    assert errors == []  # nothing blocked by the CSP, nothing failed to load


def test_a_newly_processed_major_case_appears_without_reload(app, page, live_server, recent, db,  # noqa: F811
                                                              tmp_path):
    app.config["OVERVIEW_POLL_SECONDS"] = 2
    errors = log_in(page, live_server, "ov-press", PASSWORD)
    panel = page.locator("section.attention table.due-cases")
    expect(panel).to_be_visible()
    before = int(page.locator("#attention-total").inner_text())
    due_soon = int(page.locator('[data-count="due_soon"]').inner_text())
    page.evaluate("window.__notReloaded = true")

    source = Source(name="county-board", title="县政府留言板", kind="board")
    db.add(source)
    db.flush()
    comment = Comment(source_id=source.id, external_id="urgent-1", title="城关中学食堂疑似食物中毒",
                      body="今天中午城关中学食堂饭菜导致多名学生食物中毒送医，家长要求教育局立即说明情况。",
                      published_at=utcnow() - timedelta(minutes=3), content_hash="urgent-1")
    db.add(comment)
    db.commit()
    assert process_comments(db, [comment.id]) == 1
    db.refresh(comment)
    case = comment.case
    assert case.severity == "重大"
    # Due in under an hour (as if the press office had shortened it): it counts down in seconds.
    case.due_at = utcnow() + timedelta(seconds=150)
    db.commit()

    row = panel.locator(f'tr[data-case="{comment.case_id}"]')
    expect(row).to_be_visible(timeout=20_000)
    expect(row).to_contain_text("城关中学食堂疑似食物中毒")
    expect(row).to_have_class("table-warning fresh")
    expect(page.locator("#attention-total")).to_have_text(str(before + 1))
    expect(page.locator('[data-count="due_soon"]')).to_have_text(str(due_soon + 1))
    expect(page.locator("#attention-news")).to_have_text("新增 1 件需要处理的案件")
    # The least time left among the cases still in time: first after the overdue ones.
    order = [int(i) for i in panel.locator("tbody tr").evaluate_all(
        "rows => rows.map(r => r.getAttribute('data-case'))")]
    assert order.index(case.id) == sum(1 for c in recent.values() if c.status not in CLOSED
                                       and c.due_at and c.due_at < utcnow() and not c.first_reply_at)
    page.screenshot(path=str(shots(tmp_path) / "overview-new-urgent-case.png"), full_page=False)
    # The countdown runs every second, and the highlight survives the next polls.
    countdown = f"tr[data-case='{case.id}'] .countdown"
    first = page.inner_text(countdown)
    assert first.startswith("剩余 2分") or first.startswith("剩余 1分"), first
    page.wait_for_function("([sel, t]) => document.querySelector(sel).textContent !== t",
                           arg=[countdown, first], timeout=5_000)
    polls = int(panel.get_attribute("data-polls"))
    page.wait_for_function("(n) => +document.querySelector('table.due-cases').dataset.polls > n", arg=polls)
    expect(row).to_have_class("table-warning fresh")
    assert page.evaluate("window.__notReloaded") is True
    assert errors == []


def test_a_department_sees_its_list_with_countdowns(page, live_server, recent, tmp_path):  # noqa: F811
    errors = log_in(page, live_server, "jichu", PASSWORD)
    expect(page.get_by_role("heading", level=1)).to_have_text("基础教育股 · 待办案件")
    expect(page.locator("section.on-time")).to_contain_text("按时回应率")
    expect(page.locator("table.due-cases tbody tr").first).to_contain_text("剩余 ")
    folder = shots(tmp_path)
    page.screenshot(path=str(folder / "department-1280.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=str(folder / "department-390.png"), full_page=True)
    assert errors == []
