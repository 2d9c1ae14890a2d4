"""The home page: the bureau's overview (舆情态势) and a department's own view, per role, on
SQLite and PostgreSQL. Every figure on the page is compared with one computed here, in plain
Python, from the fixture's own description of its cases and comments."""

from __future__ import annotations

import html
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from freezegun import freeze_time
from sqlalchemy import select

from huiying import stats, workflow
from huiying.models import Case, Comment, Department, Role, Source
from huiying.users import create_user

from .conftest import PASSWORD

TZ = "Asia/Shanghai"
LOCAL = ZoneInfo(TZ)
NOW_LOCAL = datetime(2026, 10, 20, 12, 0, tzinfo=LOCAL)  # a Tuesday noon in the county
NOW = NOW_LOCAL.astimezone(UTC)
ANSWER = "已核实处理，感谢您的监督与关注。"
SEVERITIES = ("重大", "较大", "一般")


def local(month: int, day: int, hour: int = 9, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=LOCAL).astimezone(UTC)


@dataclass
class Spec:
    """One case of the fixture and what was done with it; comments: (source, sentiment,
    relevant, published) — published None: the source gave no time (fetched at `seen`)."""

    key: str
    seen: datetime
    severity: str
    topic: str | None
    department: str | None
    due_hours: float | None
    work: str = ""  # "", accept, reply_on_time, reply_late, reject, merge_into:X, close
    comments: list[tuple[str, str, bool, datetime | None]] = field(default_factory=list)
    reply_after: float = 0  # hours after `seen`


B, M = "县政府留言板", "局长信箱"
SPECS = [
    # 重大, assigned and accepted, not answered, due 14:00 today: due soon, needs attention
    Spec("A", local(10, 20, 9), "重大", "校园安全", "安全稳定股", 5, "accept",
         [(B, "negative", True, local(10, 20, 9)), (M, "negative", True, local(10, 20, 10)),
          (B, "neutral", False, local(10, 20, 10))]),
    # 较大, replied on time after 3 h
    Spec("B", local(10, 19, 23, 30), "较大", "招生入学", "基础教育股", 48, "reply_on_time",
         [(B, "negative", True, local(10, 19, 23, 30)), (B, "positive", True, None)], reply_after=3),
    # replied late (60 h after a 48 h clock), then closed by the press office
    Spec("C", local(10, 14, 0, 10), "一般", "招生入学", "基础教育股", 48, "reply_late",
         [(M, "neutral", True, local(10, 14, 0, 10))], reply_after=60),
    # in triage, no department, due passed: overdue
    Spec("D", local(10, 15, 8), "一般", None, None, 48, "",
         [(B, "negative", True, local(10, 15, 8))]),
    # 不予处理: a new case (by severity), but needs no answer
    Spec("E", local(10, 16, 10), "一般", "校园安全", None, 48, "reject",
         [(M, "neutral", True, local(10, 16, 10))]),
    # merged into B: not a new case of its own; its comment moved to B
    Spec("F", local(10, 17, 10), "较大", "招生入学", "基础教育股", 48, "merge_into:B",
         [(B, "negative", True, local(10, 17, 10))]),
    # 13 October, 23:59 local: outside the last 7 days (14–20 October), inside 30
    Spec("G", local(10, 13, 23, 59), "重大", "食品安全", "安全稳定股", 5, "accept",
         [(B, "negative", True, local(10, 13, 23, 59))]),
    # September: only in a custom range; replied on time within the hour
    Spec("H", local(9, 28, 9), "一般", "招生入学", "基础教育股", 48, "reply_on_time",
         [(M, "positive", True, local(9, 28, 9))], reply_after=0.5),
    # due in 30 h: not yet due soon; 一般: not in 需要处理
    Spec("I", local(10, 20, 10), "一般", "招生入学", "基础教育股", 32, "accept",
         [(B, "neutral", True, local(10, 20, 10))]),
]


def build(session, shift: timedelta = timedelta(0)) -> dict[str, Case]:
    """The fixture's cases, worked with the workflow's own functions, as in production; `shift`
    moves every time (the browser tests put NOW at the real present)."""
    press = create_user(session, "ov-press", PASSWORD, Role.PRESS)
    create_user(session, "leader", PASSWORD, Role.LEADER)
    people = {name: create_user(session, login, PASSWORD, Role.DEPARTMENT, department=name)
              for login, name in (("jichu", "基础教育股"), ("anquan", "安全稳定股"))}
    departments = {d.name: d for d in session.scalars(select(Department))}
    sources = {}
    for name in (B, M):
        sources[name] = Source(name=f"src-{len(sources)}", title=name, kind="board")
        session.add(sources[name])
    session.flush()
    cases: dict[str, Case] = {}
    for spec in SPECS:
        seen = spec.seen + shift
        case = Case(title=f"案件{spec.key}", fingerprint=f"ov-{spec.key}", topic=spec.topic,
                    severity=spec.severity, first_seen_at=seen, created_at=seen,
                    due_at=seen + timedelta(hours=spec.due_hours) if spec.due_hours else None)
        session.add(case)
        session.flush()
        cases[spec.key] = case
        for n, (source, label, relevant, published) in enumerate(spec.comments):
            session.add(Comment(source_id=sources[source].id, external_id=f"{spec.key}{n}",
                                title=case.title, body="", published_at=published and published + shift,
                                fetched_at=(published or spec.seen) + shift, relevant=relevant,
                                sentiment_label=label, content_hash=f"h-{spec.key}{n}",
                                processed_at=seen, case_id=case.id))
    session.flush()
    for spec in SPECS:
        case = cases[spec.key]
        at = spec.seen + shift + timedelta(minutes=5)
        if spec.department:
            workflow.assign(session, case, press, departments[spec.department], now=at)
        if spec.work in ("accept", "reply_on_time", "reply_late"):
            workflow.accept(session, case, people[spec.department], now=at)
        if spec.work.startswith("reply"):
            workflow.reply(session, case, people[spec.department], ANSWER,
                           now=spec.seen + shift + timedelta(hours=spec.reply_after))
        if spec.work == "reject":
            workflow.reject(session, case, press, "重复反映，已在其他案件中处理。", now=at)
        if spec.work.startswith("merge_into:"):
            workflow.merge(session, case, press, cases[spec.work.split(":")[1]].id, now=at)
    workflow.close(session, cases["C"], press, now=local(10, 18) + shift)
    session.commit()
    return cases


@pytest.fixture
def fixture_cases(db):
    return build(db)


# --- what the page should show, computed from SPECS alone --------------------------------

def expected(first: date, last: date) -> dict:
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]

    def day_of(moment: datetime) -> date:
        return moment.astimezone(LOCAL).date()

    in_range = [s for s in SPECS if first <= day_of(s.seen) <= last and s.seen <= NOW]
    new = [s for s in in_range if not s.work.startswith("merge")]
    per_day = {sev: [sum(1 for s in new if s.severity == sev and day_of(s.seen) == d) for d in days]
               for sev in SEVERITIES}
    comments = [(source, label, published or spec.seen) for spec in SPECS
                for source, label, relevant, published in spec.comments if relevant]
    comments = [c for c in comments if first <= day_of(c[2]) <= last]
    volume = [sum(1 for c in comments if day_of(c[2]) == d) for d in days]
    negative = [sum(1 for c in comments if day_of(c[2]) == d and c[1] == "negative") for d in days]
    answerable = [s for s in in_range if s.work != "reject" and not s.work.startswith("merge")]
    replied = [s for s in answerable if s.work.startswith("reply")]
    on_time = [s for s in replied if s.work == "reply_on_time"]
    departments = {}
    for s in answerable:
        row = departments.setdefault(s.department, Counter())
        row["needing"] += 1
        row["replied"] += s.work.startswith("reply")
        row["on_time"] += s.work == "reply_on_time"
    hours = sorted(s.reply_after for s in replied)
    return {
        "days": days, "new_per_day": per_day, "new_total": len(new),
        "topics": Counter(s.topic or "未归类" for s in new),
        "sources": Counter(c[0] for c in comments), "volume": volume, "negative": negative,
        "replied": len(replied), "on_time": len(on_time), "departments": departments,
        "response_classes": [sum(1 for h in hours if low <= h < high)
                             for low, high in zip((0, 1, 5, 24, 48, 168), (1, 5, 24, 48, 168, 1e9),
                                                  strict=True)],
    }


def unanswered_now() -> list[Spec]:
    return [s for s in SPECS if s.work in ("", "accept") and s.seen <= NOW]


def due(spec: Spec) -> datetime:
    return spec.seen + timedelta(hours=spec.due_hours)


# --- reading the page ---------------------------------------------------------------------

def chart(page: str, name: str) -> dict:
    match = re.search(rf'<script type="application/json" id="data-{name}">(.*?)</script>', page, re.S)
    assert match, f"no data block for chart {name}"
    return json.loads(match.group(1))


def figure_cards(page: str) -> dict[str, str]:
    cards = re.findall(r'<p class="small text-secondary mb-1">(.*?)</p>\s*'
                       r'<p class="h4 mb-0 figure-value"[^>]*>(.*?)</p>', page)
    return {html.unescape(label): html.unescape(value) for label, value in cards}


def panel_ids(page: str) -> list[int]:
    body = page.split('id="h-attention"', 1)[1].split("</table>", 1)[0]
    return [int(i) for i in re.findall(r'<tr data-case="(\d+)">', body)]


@freeze_time(NOW)
@pytest.mark.parametrize("role", ["admin", "press", "leader"])
def test_the_bureau_overview_shows_the_figures_of_the_fixture(client, auth, fixture_cases, role):
    if role == "admin":
        auth.login()
    else:
        auth.login({"press": "ov-press", "leader": "leader"}[role], PASSWORD)
    response = client.get("/")
    assert response.status_code == 200
    page = response.text
    want = expected(date(2026, 10, 14), date(2026, 10, 20))  # the default: the last 7 days

    new_cases = chart(page, "new-cases")
    assert new_cases["categories"] == [d.strftime("%m-%d") for d in want["days"]]
    assert [s["name"] for s in new_cases["series"]] == ["重大", "较大", "一般"]
    assert [s["data"] for s in new_cases["series"]] == [want["new_per_day"][k] for k in SEVERITIES]
    assert chart(page, "volume")["series"][0]["data"] == want["volume"]
    assert chart(page, "volume")["series"][1]["data"] == want["negative"]
    share = [None if v == 0 else round(n / v * 100, 1) for n, v in zip(want["negative"], want["volume"],
                                                                       strict=True)]
    assert chart(page, "negative-share")["series"][0]["data"] == share
    sources = chart(page, "sources")
    assert dict(zip(sources["categories"], sources["series"][0]["data"], strict=True)) == want["sources"]
    topics = chart(page, "topics")
    assert dict(zip(topics["categories"], topics["series"][0]["data"], strict=True)) == want["topics"]
    assert chart(page, "response-times")["series"][0]["data"] == want["response_classes"]

    ranked = chart(page, "departments")
    rates = {name: (row["on_time"] / row["replied"] * 100 if row["replied"] else None)
             for name, row in want["departments"].items() if name}
    assert dict(zip(ranked["categories"], ranked["series"][0]["data"], strict=True)) == {
        k: None if v is None else round(v, 1) for k, v in rates.items()}
    ordered = [r for r in ranked["series"][0]["data"] if r is not None]
    assert ordered == sorted(ordered, reverse=True)  # a ranking: best on-time rate first

    cards = figure_cards(page)
    assert cards["新增案件"] == str(want["new_total"])
    assert cards["负面留言占比"] == f"{sum(want['negative']) / sum(want['volume']) * 100:.1f}%"
    overdue = [s for s in unanswered_now() if due(s) < NOW]
    soon = [s for s in unanswered_now() if NOW <= due(s) < NOW + timedelta(hours=24)]
    assert cards["超时未回应"] == str(len(overdue))
    assert cards["24小时内到期"] == str(len(soon))
    assert cards["按时回应率"] == f"{want['on_time'] / want['replied'] * 100:.1f}%"

    # 需要处理: unanswered and 重大/较大, overdue or due within 24 h; least time left first
    urgent = [s for s in unanswered_now()
              if s.severity in ("重大", "较大") or due(s) < NOW + timedelta(hours=24)]
    urgent.sort(key=due)
    assert panel_ids(page) == [fixture_cases[s.key].id for s in urgent]
    assert "已超时 " in page and "剩余 " in page

    # Each chart has its table, and the page loads its script (and ECharts when installed).
    assert page.count('<details class="chart-data"') == 7
    assert '<th scope="row">' in page
    assert 'src="/static/overview.js"' in page
    assert "<script>" not in page  # no inline script: the CSP holds


@freeze_time(NOW)
def test_thirty_days_and_a_custom_range(client, auth, fixture_cases):
    auth.login("leader", PASSWORD)
    page = client.get("/?period=30").text
    want = expected(date(2026, 9, 21), date(2026, 10, 20))
    assert figure_cards(page)["新增案件"] == str(want["new_total"])
    assert [s["data"] for s in chart(page, "new-cases")["series"]] == [
        want["new_per_day"][k] for k in SEVERITIES]

    page = client.get("/?from=2026-09-28&to=2026-10-13").text
    want = expected(date(2026, 9, 28), date(2026, 10, 13))
    assert 'value="2026-09-28"' in page and 'value="2026-10-13"' in page
    assert figure_cards(page)["新增案件"] == str(want["new_total"]) == "2"  # H and G
    assert chart(page, "volume")["series"][0]["data"] == want["volume"]
    assert chart(page, "response-times")["series"][0]["data"] == want["response_classes"]

    page = client.get("/?period=today").text
    want = expected(date(2026, 10, 20), date(2026, 10, 20))
    assert figure_cards(page)["新增案件"] == str(want["new_total"]) == "2"  # A and I


@freeze_time(NOW)
@pytest.mark.parametrize(("query", "message", "invalid"), [
    ({"from": "2026-10-20", "to": "2026-10-01"}, "开始日期不能晚于结束日期。", "p-from"),
    ({"from": "2026-13-01", "to": "2026-10-01"}, "日期“2026-13-01”无效，格式应为 YYYY-MM-DD", "p-from"),
    ({"from": "2026-10-01", "to": "tomorrow"}, "日期“tomorrow”无效", "p-to"),
    ({"from": "2026-10-01", "to": ""}, "请填写开始日期和结束日期。", "p-to"),
    ({"from": "2024-01-01", "to": "2026-10-20"}, "时间范围最长 366 天，请缩短。", "p-to"),
    ({"from": "2026-10-21", "to": "2026-10-25"}, "开始日期不能晚于今天。", "p-from"),
])
def test_a_custom_range_that_cannot_be_shown_says_why(client, auth, fixture_cases, query, message, invalid):
    auth.login("ov-press", PASSWORD)
    response = client.get("/", query_string=query)
    assert response.status_code == 200
    page = html.unescape(response.text)
    assert message in page and "下面显示的是近7天。" in page
    field = re.search(rf'<input id="{invalid}"[^>]*>', page, re.S).group(0)
    assert "is-invalid" in field and 'aria-describedby="period-error"' in field
    # What was typed stays in the form; the figures are the last 7 days'.
    assert f'value="{query["from"]}"' in page
    last_week = expected(date(2026, 10, 14), date(2026, 10, 20))
    assert figure_cards(page)["新增案件"] == str(last_week["new_total"])


@freeze_time(NOW)
def test_a_department_sees_only_its_own_cases_and_figures(client, auth, fixture_cases):
    auth.login("jichu", PASSWORD)
    response = client.get("/")
    assert response.status_code == 200
    page = html.unescape(response.text)
    assert "基础教育股 · 待办案件" in page
    assert "data-new-cases" not in page and "舆情态势" not in page  # not the bureau's overview

    # Open cases of 基础教育股: unanswered by time left, then answered but not closed.
    closed = {"C"}  # replied late, then closed by the press office
    mine = [s for s in SPECS if s.department == "基础教育股" and s.key not in closed
            and not s.work.startswith("merge")]
    waiting = sorted((s for s in mine if s.work in ("", "accept")), key=due)
    answered = sorted((s for s in mine if s.work.startswith("reply")), key=due)
    assert panel_ids_of(page) == [fixture_cases[s.key].id for s in waiting + answered]
    for spec in SPECS:
        if spec.department != "基础教育股":
            assert f"案件{spec.key}<" not in page

    # This month (October): the department's cases first seen in it that need an answer.
    october = [s for s in SPECS if s.department == "基础教育股" and s.seen >= local(10, 1, 0)
               and not s.work.startswith("merge")]
    replied = [s for s in october if s.work.startswith("reply")]
    on_time = [s for s in replied if s.work == "reply_on_time"]
    assert "本月（2026-10）按时回应率" in page
    assert f"{len(on_time) / len(replied) * 100:.1f}%" in page
    assert (f"需回应 {len(october)} 件，已回应 {len(replied)} 件，其中按时 {len(on_time)} 件" in page)

    # The panel's JSON: the same cases, nobody else's.
    data = client.get("/overview/attention.json").get_json()
    assert [c["id"] for c in data["cases"]] == panel_ids_of(page)
    assert {c["department"] for c in data["cases"]} == {"基础教育股"}
    assert data["counts"] == {}  # the bureau's overdue and due-soon counts are not theirs
    # The bureau's reports stay closed to departments.
    assert client.get("/reports/monthly").status_code == 403


def panel_ids_of(page: str) -> list[int]:
    body = page.split("due-cases", 1)[1].split("</table>", 1)[0]
    return [int(i) for i in re.findall(r'<tr data-case="(\d+)">', body)]


@freeze_time(NOW)
def test_the_panel_json_has_a_new_urgent_case_at_once(client, auth, fixture_cases, db):
    auth.login("ov-press", PASSWORD)
    before = client.get("/overview/attention.json").get_json()
    assert before["now"] == NOW.isoformat()
    case = Case(title="学校食堂食物中毒 电话13812341234", fingerprint="ov-new", severity="重大",
                first_seen_at=NOW - timedelta(minutes=10), due_at=NOW + timedelta(hours=1, minutes=50))
    db.add(case)
    db.commit()
    after = client.get("/overview/attention.json").get_json()
    assert after["total"] == before["total"] + 1
    assert after["counts"] == {"overdue": before["counts"]["overdue"],
                               "due_soon": before["counts"]["due_soon"] + 1}
    # Least time left first: the overdue ones (negative), then the new case (1 h 50 min), then A (2 h).
    assert [c["id"] for c in after["cases"]] == [
        fixture_cases["G"].id, fixture_cases["D"].id, case.id, fixture_cases["A"].id]
    first = after["cases"][2]
    assert first["title"] == "学校食堂食物中毒 电话138****1234"  # masked
    assert first["seconds_left"] == 3600 + 50 * 60
    assert first["time_left"] == "剩余 1小时50分"
    assert first["url"] == f"/cases/{case.id}"


def test_anonymous_users_are_sent_to_log_in(client):
    for url in ("/", "/overview/attention.json"):
        response = client.get(url)
        assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


@freeze_time(NOW)
def test_the_figures_as_the_api_reads_them(db, fixture_cases):
    """stats.overview() itself: the JSON form, for one department too."""
    start, end = stats.period_bounds(date(2026, 10, 14), date(2026, 10, 20), TZ)
    whole = stats.overview(db, start, end, TZ, NOW).as_dict()
    want = expected(date(2026, 10, 14), date(2026, 10, 20))
    assert whole["new_cases"]["total"] == want["new_total"]
    assert whole["comments"]["per_day"] == want["volume"]
    assert whole["from"] == "2026-10-14T00:00:00+08:00" and whole["to"] == "2026-10-21T00:00:00+08:00"
    jichu = db.scalar(select(Department.id).where(Department.name == "基础教育股"))
    mine = stats.overview(db, start, end, TZ, NOW, department_id=jichu)
    assert {d.name for d in mine.departments} == {"基础教育股"}
    mine_specs = [s for s in SPECS if s.department == "基础教育股" and local(10, 14, 0) <= s.seen
                  and not s.work.startswith("merge")]
    assert mine.new_case_total == len(mine_specs)
    # F was merged into B: its comment now counts for B's department (the same one here).
    assert sum(mine.comments) == sum(
        1 for s in SPECS if s.department == "基础教育股" for _src, _label, relevant, published in s.comments
        if relevant and (published or s.seen) >= local(10, 14, 0))


@freeze_time(NOW)
def test_without_echarts_the_tables_are_shown_with_a_note(client, auth, fixture_cases, monkeypatch, tmp_path):
    from dashboard import overview

    auth.login("ov-press", PASSWORD)
    installed = client.get("/").text
    assert ('<div class="chart" id="chart-new-cases" data-chart="new-cases">' in installed) == \
        overview.ECHARTS.is_file()
    monkeypatch.setattr(overview, "ECHARTS", tmp_path / "missing" / "echarts.min.js")
    page = client.get("/").text
    assert "图表需要 ECharts：请在安装目录运行 make install。" in page
    assert "vendor/echarts" not in page and 'data-chart="' not in page
    assert page.count('<details class="chart-data" open>') == 7  # every table unfolded
    assert chart(page, "volume")["series"][0]["data"] == expected(date(2026, 10, 14),
                                                                  date(2026, 10, 20))["volume"]


@freeze_time(NOW)
def test_the_overview_in_english(client, auth, fixture_cases):
    auth.login("leader", PASSWORD)
    page = client.get("/", headers={"Accept-Language": "en"}).text
    assert "<h1 class=\"h4 mb-3\">Overview</h1>" in page and "Needs attention" in page
    assert "Overdue by 6 d 7 h" in page  # G: due 10-14 04:59 local, now 10-20 12:00
    data = client.get("/overview/attention.json", headers={"Accept-Language": "en"}).get_json()
    assert data["cases"][0]["time_left"] == "Overdue by 6 d 7 h"
    assert data["cases"][0]["severity_label"] == "Major"
