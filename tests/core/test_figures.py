"""The monthly figures (huiying.figures): every number and the case ids behind it.

Cases are worked with the workflow's own functions on a real SQLite database built by the
migrations; the dashboard tests run the same month on PostgreSQL too.
"""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from huiying import workflow
from huiying.db import new_session
from huiying.errors import InputError
from huiying.figures import month_bounds, monthly, monthly_counts, parse_month, previous_month
from huiying.models import Case, CaseStatus, Department, Role
from huiying.users import create_user

TZ = "Asia/Shanghai"
LOCAL = ZoneInfo(TZ)
PW = "password-1234"
AFTER_OCTOBER = datetime(2026, 11, 10, 2, 0, tzinfo=UTC)
ANSWER = "已核实处理，感谢您的监督与关注。"


def local(*args) -> datetime:
    return datetime(*args, tzinfo=LOCAL).astimezone(UTC)


def october(session) -> dict[str, Case]:
    """Cases first seen in and around October 2026 (Asia/Shanghai), worked as in production.

    A  replied on time (10 h)   基础教育股  title with a mobile number, topic 招生入学
    B  replied late (60 h)      基础教育股  topic 招生入学
    C  replied on time (2 h), followed up and closed   安全稳定股  topic 校园安全
    D  不予处理 (no department)
    E  merged into A            安全稳定股
    F  2026-10-31 23:30 local (15:30 UTC): October; assigned, due after the month's end
    G  accepted, due 10-17, never answered: overdue and unanswered   安全稳定股
    H  2026-11-01 00:00 local (10-31 16:00 UTC): November
    I  2026-09-30 23:59 local: September
    """
    press = create_user(session, "fig-press", PW, Role.PRESS)
    jichu = create_user(session, "fig-jichu", PW, Role.DEPARTMENT, department="基础教育股")
    anquan = create_user(session, "fig-anquan", PW, Role.DEPARTMENT, department="安全稳定股")
    departments = {d.name: d for d in session.scalars(select(Department))}
    people = {"基础教育股": jichu, "安全稳定股": anquan}

    def case(key, seen, title=None, topic=None):
        made = Case(title=title or f"案件{key}", fingerprint=f"fig-{key}", topic=topic,
                    first_seen_at=seen, created_at=seen, due_at=seen + timedelta(hours=48))
        session.add(made)
        session.flush()
        return made

    def assign(made, name, accept=True):
        workflow.assign(session, made, press, departments[name], now=made.created_at + timedelta(minutes=5))
        if accept:
            workflow.accept(session, made, people[name], now=made.created_at + timedelta(minutes=30))

    cases = {
        "A": case("A", local(2026, 10, 5, 10, 0), "城关小学划片不合理 电话13812341234", "招生入学"),
        "B": case("B", local(2026, 10, 10, 10, 0), topic="招生入学"),
        "C": case("C", local(2026, 10, 12, 8, 0), topic="校园安全"),
        "D": case("D", local(2026, 10, 20, 9, 0)),
        "E": case("E", local(2026, 10, 21, 9, 0)),
        "F": case("F", local(2026, 10, 31, 23, 30)),
        "G": case("G", local(2026, 10, 15, 9, 0)),
        "H": case("H", local(2026, 11, 1, 0, 0)),
        "I": case("I", local(2026, 9, 30, 23, 59)),
    }
    a, b, c = cases["A"], cases["B"], cases["C"]
    assign(a, "基础教育股")
    workflow.reply(session, a, jichu, ANSWER, now=a.created_at + timedelta(hours=10))
    assign(b, "基础教育股")
    workflow.reply(session, b, jichu, ANSWER, now=b.created_at + timedelta(hours=60))
    assign(c, "安全稳定股")
    workflow.reply(session, c, anquan, ANSWER, now=c.created_at + timedelta(hours=2))
    workflow.follow_up(session, c, press, "家长表示满意。", now=c.created_at + timedelta(hours=30))
    workflow.close(session, c, press, now=c.created_at + timedelta(hours=31))
    workflow.reject(session, cases["D"], press, "广告信息，与教育无关。", now=cases["D"].created_at)
    assign(cases["E"], "安全稳定股", accept=False)
    workflow.merge(session, cases["E"], press, a.id, now=cases["E"].created_at + timedelta(hours=1))
    assign(cases["F"], "基础教育股", accept=False)
    assign(cases["G"], "安全稳定股")
    assign(cases["H"], "基础教育股")
    assign(cases["I"], "基础教育股")
    session.commit()
    return cases


@pytest.fixture
def session(database):
    session = new_session(database)
    yield session
    session.close()


def ids(cases, keys):
    return [cases[k].id for k in keys]


def test_october_overall(session):
    cases = october(session)
    report = monthly(session, date(2026, 10, 1), TZ, now=AFTER_OCTOBER)
    o = report.overall
    assert o.total == ids(cases, "ABCDEFG")  # F at 23:30 local is October; H and I are not
    assert o.needing_answer == ids(cases, "ABCFG")  # not 不予处理 (D), not 合并 (E)
    assert o.replied == ids(cases, "ABC")
    assert o.on_time == ids(cases, "AC")
    assert o.overdue_unanswered == ids(cases, "G")  # F's due time is after the month's end
    assert o.response_rate == pytest.approx(3 / 5)
    assert o.on_time_rate == pytest.approx(2 / 3)
    assert o.response_hours == {cases["A"].id: 10, cases["B"].id: 60, cases["C"].id: 2}
    assert o.mean_response_hours == pytest.approx(24)
    assert o.median_response_hours == pytest.approx(10)
    assert {k: v for k, v in report.by_status.items() if v} == {
        "已回复": ids(cases, "AB"), "办结": ids(cases, "C"), "不予处理": ids(cases, "D"),
        "合并": ids(cases, "E"), "已派单": ids(cases, "F"), "已签收": ids(cases, "G")}
    assert list(report.by_status) == [str(s) for s in CaseStatus]  # every status, in order
    assert report.by_severity == {"重大": [], "较大": [], "一般": ids(cases, "ABCDEFG")}
    assert report.by_topic == {"未归类": ids(cases, "DEFG"), "招生入学": ids(cases, "AB"),
                               "校园安全": ids(cases, "C")}


def test_october_by_department(session):
    cases = october(session)
    report = monthly(session, date(2026, 10, 1), TZ, now=AFTER_OCTOBER)
    seeded = list(session.scalars(select(Department.name).order_by(Department.id)))
    names = [f.name for f in report.by_department]
    assert names == [n for n in seeded if n in ("基础教育股", "安全稳定股")] + ["未分派"]
    jichu, anquan, none = (next(f for f in report.by_department if f.name == n)
                           for n in ("基础教育股", "安全稳定股", "未分派"))
    assert (jichu.total, jichu.needing_answer, jichu.replied, jichu.on_time, jichu.overdue_unanswered) \
        == (ids(cases, "ABF"), ids(cases, "ABF"), ids(cases, "AB"), ids(cases, "A"), [])
    assert jichu.response_rate == pytest.approx(2 / 3) and jichu.on_time_rate == pytest.approx(0.5)
    assert jichu.mean_response_hours == pytest.approx(35) and jichu.median_response_hours == pytest.approx(35)
    assert (anquan.total, anquan.needing_answer, anquan.replied, anquan.on_time,
            anquan.overdue_unanswered) == (ids(cases, "CEG"), ids(cases, "CG"), ids(cases, "C"),
                                           ids(cases, "C"), ids(cases, "G"))
    assert anquan.response_rate == pytest.approx(0.5) and anquan.on_time_rate == 1
    assert anquan.median_response_hours == pytest.approx(2)
    assert none.total == ids(cases, "D") and none.needing_answer == []
    assert none.response_rate is None and none.on_time_rate is None and none.mean_response_hours is None
    # The departments' numbers add up to the month's.
    assert sorted(i for f in report.by_department for i in f.total) == report.overall.total


@pytest.mark.parametrize("fmt", ["csv", "json", "xlsx"])
def test_the_monthly_export_masks_every_form_of_personal_data(session, fmt):
    import io

    from openpyxl import load_workbook

    from huiying.monthly_export import render
    from tests.personal_data import ALL_CLEAR, FORMS

    cases = october(session)
    cases["A"].title = f"城关小学划片不合理 联系 {ALL_CLEAR}"
    session.flush()
    report = monthly(session, date(2026, 10, 1), TZ, now=AFTER_OCTOBER)
    data = render(report, fmt, "https://yq.example.gov.cn/")
    if fmt == "xlsx":
        book = load_workbook(io.BytesIO(data))
        text = " ".join(str(v) for sheet in book for row in sheet.iter_rows(values_only=True) for v in row)
    else:
        text = data.decode("utf-8-sig")
        if fmt == "json":
            import json

            text = json.dumps(json.loads(text), ensure_ascii=False)
    for name, (clear, masked) in FORMS.items():
        assert clear not in text, f"{name} in clear in the {fmt} export"
        if fmt != "csv":  # the CSV holds the figures only, no titles
            assert masked in text, f"{name} not masked in the {fmt} export"


def test_case_lines_are_masked_and_complete(session):
    cases = october(session)
    report = monthly(session, date(2026, 10, 1), TZ, now=AFTER_OCTOBER)
    lines = {line.id: line for line in report.cases}
    assert list(lines) == ids(cases, "ABCDEFG")
    a = lines[cases["A"].id]
    assert a.title == "城关小学划片不合理 电话138****1234"
    assert (a.department, a.status, a.on_time, a.response_hours) == ("基础教育股", "已回复", True, 10)
    assert a.replied_at == cases["A"].created_at + timedelta(hours=10)
    b = lines[cases["B"].id]
    assert b.on_time is False and b.overdue_unanswered is False
    e = lines[cases["E"].id]
    assert e.needs_answer is False and e.replied_at is None
    as_json = report.as_dict("https://yq.example.gov.cn/")
    assert as_json["overall"]["replied"] == {"count": 3, "case_ids": ids(cases, "ABC")}
    assert as_json["cases"][0]["link"] == f"https://yq.example.gov.cn/cases/{cases['A'].id}"
    assert as_json["from"] == "2026-10-01T00:00:00+08:00" and as_json["to"] == "2026-11-01T00:00:00+08:00"


def test_month_boundaries_are_local(session):
    cases = october(session)
    assert month_bounds(date(2026, 10, 1), TZ) == (datetime(2026, 9, 30, 16, tzinfo=UTC),
                                                   datetime(2026, 10, 31, 16, tzinfo=UTC))
    assert cases["F"].first_seen_at == datetime(2026, 10, 31, 15, 30, tzinfo=UTC)
    assert monthly(session, date(2026, 11, 1), TZ, now=AFTER_OCTOBER).overall.total == ids(cases, "H")
    assert monthly(session, date(2026, 9, 1), TZ, now=AFTER_OCTOBER).overall.total == ids(cases, "I")
    # In UTC, F would be October too but H would move into October as well.
    in_utc = monthly(session, date(2026, 10, 1), "UTC", now=AFTER_OCTOBER)
    assert in_utc.overall.total == ids(cases, "ABCDEFGH")


def test_a_report_made_during_the_month_counts_what_had_happened(session):
    cases = october(session)
    # 2026-10-12 12:00 local: C's reply (10:00) is in, B's late one (22:00) is not, and B's due
    # time (10:00) has passed: unanswered and overdue as of then. Later cases are not in yet.
    report = monthly(session, date(2026, 10, 1), TZ, now=local(2026, 10, 12, 12, 0))
    assert report.overall.total == ids(cases, "ABC")
    assert report.overall.replied == ids(cases, "AC")
    assert report.overall.overdue_unanswered == ids(cases, "B")
    report = monthly(session, date(2026, 10, 1), TZ, now=local(2026, 10, 13, 12, 0))
    assert report.overall.replied == ids(cases, "ABC") and report.overall.overdue_unanswered == []
    assert report.overall.total == ids(cases, "ABC")  # G, first seen 10-15, is not in yet


def counted(report):
    """`monthly()`'s figures as `monthly_counts()` gives them (numbers, no ids)."""
    return {"overall": report.overall.counts, "by_department": [f.counts for f in report.by_department],
            "by_status": {k: len(v) for k, v in report.by_status.items()},
            "by_severity": {k: len(v) for k, v in report.by_severity.items()},
            "by_topic": {k: len(v) for k, v in report.by_topic.items()}}


@pytest.mark.parametrize("moment", [AFTER_OCTOBER, local(2026, 10, 12, 12, 0), local(2026, 10, 13, 12, 0),
                                    local(2026, 10, 31, 23, 45)])
def test_the_figures_page_counts_in_sql_what_the_exports_count(any_database, moment):
    """The page's counts (GROUP BY in the database) against the id-keeping report of the
    exports, on SQLite and PostgreSQL, as of moments during and after the month."""
    with new_session(any_database) as session:
        cases = october(session)
        cases["A"].topic = ""  # an empty topic is 未归类, as a missing one
        session.commit()
        report = monthly(session, date(2026, 10, 1), TZ, now=moment)
        page = monthly_counts(session, date(2026, 10, 1), TZ, now=moment)
    expected = counted(report)
    for figures, want in [(page.overall, expected["overall"]),
                          *zip(page.by_department, expected["by_department"], strict=True)]:
        assert figures.response_hours == pytest.approx(want.response_hours, abs=1e-3)
        assert (figures.name, figures.total, figures.needing_answer, figures.replied, figures.on_time,
                figures.overdue_unanswered) == (want.name, want.total, want.needing_answer, want.replied,
                                                want.on_time, want.overdue_unanswered)
    assert (page.by_status, page.by_severity, page.by_topic) == (
        expected["by_status"], expected["by_severity"], expected["by_topic"])
    assert page.overall.total == len(report.cases) > 0


def test_an_empty_month_is_a_valid_report(session):
    report = monthly(session, date(2030, 2, 1), TZ)
    assert report.overall.total == [] and report.by_department == [] and report.cases == []
    page = monthly_counts(session, date(2030, 2, 1), TZ)
    assert page.overall.total == 0 and page.by_department == [] and page.overall.response_rate is None
    assert set(page.by_status.values()) == {0} and page.by_topic == {}
    assert report.overall.response_rate is None and report.overall.median_response_hours is None
    assert report.as_dict()["overall"]["total"] == {"count": 0, "case_ids": []}


@pytest.mark.parametrize("text", ["2026-13", "abc", "2026-1", "2026-00", "1969-12", ""])
def test_bad_months_are_one_sentence(text):
    with pytest.raises(InputError) as error:
        parse_month(text)
    message = str(error.value)
    assert message.endswith(".") and message.count(". ") == 0 and "YYYY-MM" in message


def test_months():
    assert parse_month("2026-10") == date(2026, 10, 1)
    assert previous_month(date(2026, 1, 15)) == date(2025, 12, 1)
    assert previous_month(date(2026, 11, 25)) == date(2026, 10, 1)
