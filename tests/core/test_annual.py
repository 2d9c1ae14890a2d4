"""The annual report (huiying.annual, huiying.annual_export): the 回应关切 figures of one year from
cases worked with the workflow's own functions, the admin's cells, and the files.

The docx is opened back with python-docx and every number in it compared with the JSON.
"""

import io
import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from docx import Document
from openpyxl import load_workbook
from sqlalchemy import select

from huiying import annual_format as fmt
from huiying import workflow
from huiying.annual import annual, load_inputs, parse_year, save_inputs
from huiying.annual_export import ExportRefused, evidence, render
from huiying.db import new_session
from huiying.errors import InputError
from huiying.models import AnnualInput, Case, Comment, Department, Role, Severity, Source, User
from huiying.users import create_user
from tests.core.test_annual_format import consistent

TZ = "Asia/Shanghai"
LOCAL = ZoneInfo(TZ)
PW = "password-1234"
ANSWER = "已核实处理，感谢您的监督与关注。"
NOW = datetime(2027, 1, 10, 2, 0, tzinfo=UTC)  # the report is made on 10 January 2027


def local(*args) -> datetime:
    return datetime(*args, tzinfo=LOCAL).astimezone(UTC)


@pytest.fixture
def session(database):
    session = new_session(database)
    yield session
    session.close()


def year_2026(session) -> dict[str, Case]:
    """Cases of 2026 in the three channels, worked as in production.

    board  B1 重大 replied 3 h (due 5 h)       B2 重大 replied 10 h (late)
           B3 一般 replied 30 h, 回访 without a verdict     B4 一般 replied 60 h (late)
           B5 不予处理                           B6 一般 never replied
    hotline H1 replied 20 h, 回访 满意           H2 replied 50 h, 回访 不满意
            H3 seen 2026-12-30, replied 2027-01-15: after the report, so unanswered in it
    mailbox M1 replied 5 h, 回访 基本满意
    not 2026: X 2025-12-31 23:30 local, Y 2027-01-01 00:10 local
    """
    press = create_user(session, "an-press", PW, Role.PRESS)
    clerk = create_user(session, "an-clerk", PW, Role.DEPARTMENT, department="基础教育股")
    department = session.scalar(select(Department).where(Department.name == "基础教育股"))
    sources = {"board": Source(name="an-board", kind="board"),
               "hotline": Source(name="an-hotline", kind="import", config={"import": "hotline"}),
               "mailbox": Source(name="an-mailbox", kind="import", config={"import": "mailbox"})}
    session.add_all(sources.values())
    session.flush()
    made: dict[str, Case] = {}

    def case(key, channel, seen, due_hours, severity=Severity.GENERAL):
        comment = Comment(source_id=sources[channel].id, external_id=f"an-{key}", title=f"案件{key}",
                          content_hash=f"an-{key}", published_at=seen)
        session.add(comment)
        session.flush()
        made[key] = Case(title=f"案件{key}", fingerprint=f"an-{key}", severity=severity, first_seen_at=seen,
                         created_at=seen, due_at=seen + timedelta(hours=due_hours),
                         first_comment_id=comment.id)
        session.add(made[key])
        session.flush()
        comment.case_id = made[key].id
        return made[key]

    def answer(key, hours, satisfaction: str | None | bool = False):
        """Assign, accept, reply after `hours`; then a 回访 a day later unless `satisfaction` is
        False (None: a 回访 without a verdict)."""
        target = made[key]
        workflow.assign(session, target, press, department, now=target.first_seen_at + timedelta(minutes=5))
        workflow.accept(session, target, clerk, now=target.first_seen_at + timedelta(minutes=10))
        workflow.reply(session, target, clerk, ANSWER, now=target.first_seen_at + timedelta(hours=hours))
        if satisfaction is not False:
            workflow.follow_up(session, target, press, "已电话回访。", satisfaction=satisfaction,
                               now=target.first_seen_at + timedelta(hours=hours + 24))

    case("B1", "board", local(2026, 3, 1, 10, 0), 5, Severity.MAJOR)
    case("B2", "board", local(2026, 3, 2, 10, 0), 5, Severity.MAJOR)
    case("B3", "board", local(2026, 4, 1, 10, 0), 48)
    case("B4", "board", local(2026, 5, 1, 10, 0), 48)
    case("B5", "board", local(2026, 5, 2, 10, 0), 48)
    case("B6", "board", local(2026, 6, 1, 10, 0), 48)
    case("H1", "hotline", local(2026, 6, 1, 10, 0), 72)
    case("H2", "hotline", local(2026, 7, 1, 10, 0), 72)
    case("H3", "hotline", local(2026, 12, 30, 10, 0), 72)
    case("M1", "mailbox", local(2026, 8, 1, 10, 0), 72)
    case("X", "board", local(2025, 12, 31, 23, 30), 48)
    case("Y", "board", local(2027, 1, 1, 0, 10), 48)
    answer("B1", 3)
    answer("B2", 10)
    answer("B3", 30, None)
    answer("B4", 60)
    workflow.reject(session, made["B5"], press, "广告信息，与教育无关。", now=made["B5"].first_seen_at)
    answer("H1", 20, "满意")
    answer("H2", 50, "不满意")
    answer("H3", 17 * 24)
    answer("M1", 5, "基本满意")
    answer("X", 2)
    answer("Y", 2)
    session.commit()
    return made


def ids(cases, *keys):
    return {"count": len(keys), "case_ids": sorted(cases[k].id for k in keys)}


def test_the_response_figures_of_a_year(session):
    cases = year_2026(session)
    data = annual(session, 2026, TZ, bureau="云溪县教育体育局", now=NOW).as_dict()
    board, hotline, mailbox = data["overview"]["by_channel"]
    assert [board["name"], hotline["name"], mailbox["name"]] == ["网上留言板", "12345 热线", "信箱"]
    assert board["received"] == ids(cases, "B1", "B2", "B3", "B4", "B5", "B6")  # X and Y are not 2026
    assert board["needing_answer"] == ids(cases, "B1", "B2", "B3", "B4", "B6")  # not 不予处理
    assert board["replied"] == ids(cases, "B1", "B2", "B3", "B4")
    assert board["reply_rate"] == 0.8
    assert board["on_time"] == ids(cases, "B1", "B3")
    assert board["on_time_rate"] == 0.5
    assert board["median_response_hours"] == 20.0  # of 3, 10, 30, 60
    assert hotline["received"] == ids(cases, "H1", "H2", "H3")
    assert hotline["replied"] == ids(cases, "H1", "H2")  # H3's reply came after the report
    assert hotline["reply_rate"] == pytest.approx(0.6667) and hotline["median_response_hours"] == 35.0
    assert mailbox["replied"] == ids(cases, "M1") and mailbox["on_time_rate"] == 1.0
    everything = data["overview"]["all"]
    assert everything["received"]["count"] == 10 and everything["replied"]["count"] == 7
    assert everything["reply_rate"] == pytest.approx(7 / 9, abs=1e-4)

    opinion = data["overview"]["opinion"]
    assert opinion["cases"] == ids(cases, "B1", "B2", "B3", "B4", "B6")
    assert opinion["within_48h"] == ids(cases, "B1", "B2", "B3")
    assert opinion["major"] == ids(cases, "B1", "B2")
    assert opinion["major_within_5h"] == ids(cases, "B1")
    assert opinion["major_within_24h"] == ids(cases, "B1", "B2")

    satisfaction = data["overview"]["satisfaction"]
    assert satisfaction["followed_up"] == ids(cases, "B3", "H1", "H2", "M1")
    assert (satisfaction["满意"], satisfaction["基本满意"], satisfaction["不满意"], satisfaction["未记录"]) \
        == (ids(cases, "H1"), ids(cases, "M1"), ids(cases, "H2"), ids(cases, "B3"))
    assert satisfaction["rate"] == pytest.approx(0.6667)
    # Nothing entered yet: every admin figure is missing, none is zero.
    assert all(item["value"] is None for item in data["overview"]["entered"].values())
    assert data["missing"] == list(fmt.FIELDS) and data["problems"] == []
    assert data["calendar_note"] is None


def test_a_forum_case_is_its_own_channel_and_counts_as_public_opinion(session):
    cases = year_2026(session)
    forum = Source(name="an-forum", kind="forum")
    session.add(forum)
    session.flush()
    seen = local(2026, 9, 1, 10, 0)
    comment = Comment(source_id=forum.id, external_id="501", title="食堂涨价", content_hash="an-F1",
                      published_at=seen)
    session.add(comment)
    session.flush()
    case = Case(title="食堂涨价", fingerprint="an-F1", severity=Severity.GENERAL, first_seen_at=seen,
                created_at=seen, due_at=seen + timedelta(hours=48), first_comment_id=comment.id)
    session.add(case)
    session.commit()
    data = annual(session, 2026, TZ, now=NOW).as_dict()
    names = [channel["name"] for channel in data["overview"]["by_channel"]]
    assert names == ["网上留言板", "12345 热线", "信箱", "网络论坛"]  # the three as before, then the forum
    assert data["overview"]["by_channel"][3]["received"] == {"count": 1, "case_ids": [case.id]}
    assert data["overview"]["opinion"]["cases"]["case_ids"] == sorted(
        [*(cases[k].id for k in ("B1", "B2", "B3", "B4", "B6")), case.id])


def test_satisfaction_is_one_of_three_answers(session):
    cases = year_2026(session)
    press = session.scalar(select(User).where(User.username == "an-press"))
    with pytest.raises(workflow.WorkflowError):
        workflow.follow_up(session, cases["B4"], press, "回访。", satisfaction="非常满意")


def test_the_admin_cells_are_kept_per_year_and_checked(session):
    save_inputs(session, 2026, consistent())
    save_inputs(session, 2025, {"overview.press_conferences": 3.0})
    session.commit()
    assert load_inputs(session, 2026)["t3.r01.total"] == 12.0
    report = annual(session, 2026, TZ, now=NOW)
    assert report.problems == [] and report.as_dict()["missing"] == []
    assert report.as_dict()["overview"]["entered"]["overview.press_conferences"]["value"] == 0
    # Emptying a cell removes it: 未填报 again, not 0.
    save_inputs(session, 2026, {"t2.fees": None, fmt.t3_key("r03", "natural"): 5.0})
    session.commit()
    assert session.scalar(select(AnnualInput).where(AnnualInput.key == "t2.fees", AnnualInput.year == 2026)) \
        is None
    report = annual(session, 2026, TZ, now=NOW)
    assert report.as_dict()["missing"] == ["t2.fees"]
    assert report.problems[0] == "表三“（一）予以公开”行“总计”列为 6，但自然人与法人或其他组织各列之和为 7。"
    with pytest.raises(ExportRefused) as refused:
        render(report, "docx")
    assert str(refused.value).startswith("年报数据未通过核对，未导出：表三“（一）予以公开”行“总计”列为 6")
    assert "另有 1 处不符" in str(refused.value)  # （七）总计 in the column 自然人
    with pytest.raises(InputError):
        save_inputs(session, 2026, {"t9.nothing": 1.0})


def docx_tables(data: bytes) -> list[list[list[str]]]:
    return [[[cell.text for cell in row.cells] for row in table.rows]
            for table in Document(io.BytesIO(data)).tables]


def test_the_docx_says_what_the_json_says(session):
    year_2026(session)
    values = consistent()
    values["overview.press_conferences"] = 4.0
    values[fmt.t4_key("review", "total")] = None  # one cell not entered
    save_inputs(session, 2026, values)
    session.commit()
    report = annual(session, 2026, TZ, bureau="云溪县教育体育局", now=NOW)
    data = json.loads(render(report, "json"))
    document = Document(io.BytesIO(render(report, "docx")))
    assert document.paragraphs[0].text == "云溪县教育体育局2026年政府信息公开工作年度报告"
    assert any("召开新闻发布会4场" in p.text and "开展在线访谈0期" in p.text for p in document.paragraphs)
    response, opinion, satisfaction, entered, table2, table3, table4 = docx_tables(render(report, "docx"))

    channels = [*data["overview"]["by_channel"], data["overview"]["all"]]
    assert [row[0] for row in response[1:]] == [f["name"] for f in channels]
    for row, figures in zip(response[1:], channels, strict=True):
        assert [int(x) for x in (row[1], row[2], row[3], row[5])] == [
            figures[k]["count"] for k in ("received", "needing_answer", "replied", "on_time")]
        assert row[4] == ("—" if figures["reply_rate"] is None else f"{figures['reply_rate']:.1%}")
        assert row[7] == str(figures["median_response_hours"])
    o = data["overview"]["opinion"]
    assert [int(row[1]) for row in opinion[1:]] == [o[k]["count"] for k in (
        "cases", "within_48h", "major", "major_within_5h", "major_within_24h")]
    s = data["overview"]["satisfaction"]
    assert [int(row[1]) for row in satisfaction[1:6]] == [s[k]["count"] for k in (
        "followed_up", "满意", "基本满意", "不满意", "未记录")]
    assert satisfaction[6][1] == "66.7%"
    assert [row[1] for row in entered[1:]] == ["0", "0", "4", "0"]

    # 表三: three header rows, then the 25 rows; the value columns are the last seven.
    assert table3[0][3] == "申请人情况" and table3[1][4] == "法人或其他组织" and table3[2][4] == "商业企业"
    assert len(table3) == 3 + 25
    for row, expected in zip(table3[3:], data["table3"], strict=True):
        assert row[2].endswith(expected["label"])
        assert row[3:] == [str(expected["cells"][c]) for c, _ in fmt.T3_COLUMNS]
    assert table3[3 + 4][0] == fmt.T3_SECTION and table3[3 + 4][1] == "（三）不予公开"  # merged cells
    # 表四: the 15 cells, the one not entered printed as 未填报.
    assert table4[1][5] == "未经复议直接起诉"
    assert table4[2][:5] == ["结果维持", "结果纠正", "其他结果", "尚未审结", "总计"]
    expected4 = [data["table4"][g][o] for g, _ in fmt.T4_GROUPS for o, _ in fmt.T4_OUTCOMES]
    assert table4[3] == ["未填报" if v is None else str(v) for v in expected4]
    assert table4[3][4] == "未填报" and expected4[4] is None
    # 表二: the fees in 万元 with their decimals.
    assert ["行政事业性收费", "1.25", "1.25", "1.25"] in table2


def test_the_xlsx_appendix_lists_the_cases_behind_every_figure(session):
    cases = year_2026(session)
    report = annual(session, 2026, TZ, now=NOW)
    book = load_workbook(io.BytesIO(render(report, "xlsx")))
    assert book.sheetnames == ["一、总体情况", "二、主动公开", "三、依申请公开", "四、复议诉讼", "依据",
                               "案件明细"]
    rows = {(row[0], row[1]): row for row in book["依据"].iter_rows(min_row=4, values_only=True)}
    assert len(rows) == len(evidence(report.as_dict()))
    replied = rows[("回应关切", "网上留言板 已回应")]
    assert replied[2] == 4 and replied[3] == ",".join(str(cases[k].id) for k in ("B1", "B2", "B3", "B4"))
    assert rows[("舆情回应", "重大舆情 5 小时内回应")][3] == str(cases["B1"].id)
    assert rows[("回访满意度", "不满意")][3] == str(cases["H2"].id)
    detail = list(book["案件明细"].iter_rows(min_row=4, values_only=True))
    assert [row[0] for row in detail] == sorted(c.id for k, c in cases.items() if k not in "XY")
    unanswered = next(row for row in detail if row[0] == cases["B6"].id)
    assert unanswered[6] is None and unanswered[7] is None  # no reply: empty cells, not 未填报
    assert book["三、依申请公开"]["B5"].value == "未填报"  # nothing entered
    assert book["依据"].auto_filter.ref.startswith("A3:D")


def test_a_year_without_data_is_a_report_of_zeros(session):
    report = annual(session, 2026, TZ, now=NOW)
    data = json.loads(render(report, "json"))
    assert data["overview"]["all"]["received"] == {"count": 0, "case_ids": []}
    assert data["overview"]["all"]["reply_rate"] is None
    assert [f["received"]["count"] for f in data["overview"]["by_channel"]] == [0, 0, 0]
    Document(io.BytesIO(render(report, "docx")))  # valid files
    load_workbook(io.BytesIO(render(report, "xlsx")))


def test_a_year_the_calendar_does_not_cover_says_so(session):
    report = annual(session, 2099, TZ, now=NOW)
    assert report.calendar_note.startswith("工作日历未覆盖 2099 年")
    text = "\n".join(p.text for p in Document(io.BytesIO(render(report, "docx"))).paragraphs)
    assert "工作日历未覆盖 2099 年" in text


@pytest.mark.parametrize("text", ["26", "2026-01", "abcd", "1969", " "])
def test_bad_years_are_one_sentence(text):
    with pytest.raises(InputError) as raised:
        parse_year(text)
    assert str(raised.value).startswith("the year must look like 2026")
