"""Hotline and mailbox imports against a real SQLite database built by the migrations."""

import csv
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from sqlalchemy import func, select

from huiying.cases import process_comments, unprocessed_ids
from huiying.db import session_scope
from huiying.errors import InputError
from huiying.imports import decode_csv, import_file, load_mapping, request_type
from huiying.models import Case, CaseEvent, Comment, Source

SHANGHAI = ZoneInfo("Asia/Shanghai")
HEADER = ["工单编号", "来电时间", "来电人", "联系电话", "诉求类型", "标题", "诉求内容", "承办单位"]
ROWS = [
    ["GD001", "2026-02-12 10:30:00", "张三丰", "13812345678", "投诉", "学校食堂饭菜发霉",
     "青石镇中学食堂饭菜发霉，孩子吃了拉肚子。", "教体局"],
    ["GD002", "2026/02/12 11:00", "李四", "13900001111", "咨询类", "小学招生划片",
     "请问城关二小招生划片范围什么时候公布？孩子明年上一年级。", "教体局"],
]


def write_xlsx(path, header, rows):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "工单"
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path


def write_csv(path, header, rows, encoding="gbk"):
    with open(path, "w", encoding=encoding, newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def run_import(url, path, **kwargs):
    with session_scope(url) as session:
        return import_file(session, path, **kwargs)


def test_an_xlsx_export_is_stored_under_an_import_source_without_phone_numbers(database, tmp_path):
    # An Excel date cell arrives as a datetime: local time of the installation.
    rows = [ROWS[0], [*ROWS[1][:1], datetime(2026, 2, 12, 11, 0), *ROWS[1][2:]]]
    result = run_import(database, write_xlsx(tmp_path / "hotline.xlsx", HEADER, rows))
    assert (result.rows, result.new, result.rejects, result.rejects_file) == (2, 2, [], None)
    assert result.columns["external_id"] == "工单编号" and result.dropped_columns == ["联系电话"]
    assert result.ignored_columns == [] and result.columns["reply_unit"] == "承办单位"
    with session_scope(database) as session:
        source = session.scalar(select(Source).where(Source.name == "hotline"))
        assert source.kind == "import"
        comments = session.scalars(select(Comment).order_by(Comment.external_id)).all()
        assert [c.request_type for c in comments] == ["投诉", "咨询"]
        assert comments[0].author == "张三丰" and comments[0].title == "学校食堂饭菜发霉"
        assert comments[0].published_at == datetime(2026, 2, 12, 10, 30, tzinfo=SHANGHAI)
        assert comments[1].published_at == datetime(2026, 2, 12, 3, 0, tzinfo=UTC)
        stored = " ".join(f"{c.author} {c.title} {c.body}" for c in comments)
        assert "13812345678" not in stored and "13900001111" not in stored
    assert sorted(result.to_process) == [c.id for c in comments]


def test_a_gbk_csv_bad_rows_are_rejected_with_line_numbers_and_the_good_ones_stored(database, tmp_path):
    rows = [ROWS[0],
            ["GD003", "2026-02-13 09:00", "王五", "", "建议", "课后服务", "", ""],  # line 3: no body
            ["GD004", "下周二", "赵六", "", "投诉", "", "补课收费太高", ""],  # line 4: bad time
            ["", "", "", "", "", "", "", ""],  # blank: counted, not a row
            ["GD001", "2026-02-14 09:00", "", "", "投诉", "", "=HYPERLINK(\"x\")重复", ""],  # line 6
            ROWS[1]]
    path = write_csv(tmp_path / "12345导出.csv", HEADER, rows)
    result = run_import(database, path)
    assert (result.rows, result.new, result.blank_rows) == (5, 2, 1)
    assert [(r.line, r.reason) for r in result.rejects] == [
        (3, "内容为空。"),
        (4, "受理时间“下周二”不是日期和时间。"),
        (6, "编号 GD001 与第 2 行重复。"),
    ]
    assert result.rejects_file == str(tmp_path / "12345导出.rejects.csv")
    with open(result.rejects_file, encoding="utf-8-sig", newline="") as fh:
        written = list(csv.reader(fh))
    assert written[0] == ["line", "reason", *HEADER]
    assert [r[:3] for r in written[1:]] == [["3", "内容为空。", "GD003"],
                                           ["4", result.rejects[1].reason, "GD004"],
                                           ["6", "编号 GD001 与第 2 行重复。", "GD001"]]
    assert written[3][8] == "'=HYPERLINK(\"x\")重复"  # no formula when Excel opens it
    with session_scope(database) as session:
        assert sorted(session.scalars(select(Comment.external_id))) == ["GD001", "GD002"]

    # The same file fixed: the rejects file goes, the stored rows stay as they are.
    write_csv(path, HEADER, [ROWS[0], ROWS[1]])
    again = run_import(database, path)
    assert (again.new, again.unchanged, again.rejects_file) == (0, 2, None)
    assert not (tmp_path / "12345导出.rejects.csv").exists()


def test_reimport_changes_nothing_and_changed_text_is_analysed_again(database, tmp_path):
    path = write_xlsx(tmp_path / "a.xlsx", HEADER, ROWS)
    run_import(database, path)
    with session_scope(database) as session:
        process_comments(session, unprocessed_ids(session))
        cases = session.scalar(select(func.count(Case.id)))
    again = run_import(database, path)
    assert (again.new, again.updated, again.unchanged, again.to_process) == (0, 0, 2, [])
    changed = [ROWS[0], [*ROWS[1][:6], ROWS[1][6] + "另外想问学区房政策。", ROWS[1][7]]]
    third = run_import(database, write_xlsx(path, HEADER, changed))
    assert (third.updated, third.unchanged, len(third.to_process)) == (1, 1, 1)
    with session_scope(database) as session:
        assert unprocessed_ids(session) == third.to_process
        assert session.scalar(select(func.count(Case.id))) == cases


def test_dry_run_writes_nothing(database, tmp_path):
    path = write_csv(tmp_path / "x.csv", HEADER, [ROWS[0], [*ROWS[1][:6], "", ""]])
    result = run_import(database, path, dry_run=True)
    assert (result.new, len(result.rejects), result.to_process) == (1, 1, [])
    assert result.rejects_file == str(tmp_path / "x.rejects.csv")
    assert not (tmp_path / "x.rejects.csv").exists()
    with session_scope(database) as session:
        assert session.scalar(select(func.count(Comment.id))) == 0
        assert session.scalar(select(func.count(Source.id)).where(Source.kind == "import")) == 0


def test_missing_columns_are_one_sentence_and_nothing_is_stored(database, tmp_path):
    path = write_csv(tmp_path / "bad.csv", ["序号", "标题", "内容"], [["1", "t", "b"]])
    with pytest.raises(InputError) as error:
        run_import(database, path)
    assert str(error.value) == (
        "bad.csv cannot be imported: no column for the id, received time (headers found: 序号, 标题, "
        "内容); rename the headers or give --mapping FILE.yml (docs/import.md); nothing was imported.")
    with session_scope(database) as session:
        assert session.scalar(select(func.count(Source.id)).where(Source.kind == "import")) == 0


def test_a_mapping_file_names_other_headers(database, tmp_path):
    mapping = tmp_path / "map.yml"
    mapping.write_text("columns:\n  external_id: 受理号\n  body: 来信正文\n  received_at: 登记日期\n",
                       "utf-8")
    path = write_csv(tmp_path / "m.csv", ["受理号", "登记日期", "来信正文", "类型"],
                     [["X1", "2026年2月12日 10:30", "建议学校开放操场", "意见建议"]], encoding="utf-8-sig")
    result = run_import(database, path, kind="mailbox", mapping=load_mapping(mapping))
    assert result.new == 1 and result.source == "mailbox"
    with session_scope(database) as session:
        assert session.scalar(select(Comment.request_type)) == "建议"
    mapping.write_text("columns:\n  body: 正文\n", "utf-8")
    with pytest.raises(InputError, match="the mapped headers 正文 \\(body\\) are not in it"):
        run_import(database, path, mapping=load_mapping(mapping))


def test_encodings_and_request_types():
    assert decode_csv("工单编号\n".encode("gbk"), "f.csv") == "工单编号\n"
    assert decode_csv("\ufeff工单编号\n".encode(), "f.csv") == "工单编号\n"
    with pytest.raises(InputError, match="^line 2 of f.csv is not valid UTF-8 text"):
        decode_csv("工单编号\n".encode() + b"\xff\xfe\n", "f.csv")
    with pytest.raises(InputError, match="^line 3 of f.csv is not valid GBK/GB18030 text"):
        decode_csv(b"id\nx\n\xff\n", "f.csv")
    types = [request_type(t) for t in ("投诉类", " 咨询 ", "", "其他诉求")]
    assert types == ["投诉", "咨询", None, "其他诉求"]


def _process(url, tz="Asia/Shanghai"):
    with session_scope(url) as session:
        process_comments(session, unprocessed_ids(session), tz=tz)


def test_imported_complaint_runs_on_13_working_days_across_spring_festival(database, tmp_path):
    run_import(database, write_xlsx(tmp_path / "h.xlsx", HEADER, ROWS))
    _process(database)
    with session_scope(database) as session:
        due = {c.comments[0].external_id: c.due_at for c in session.scalars(select(Case))}
    # 13 working days after Thu 12 Feb 2026: Fri 13, Sat 14 (调休), 15–23 Feb off, Sat 28 Feb worked.
    assert due["GD001"] == datetime(2026, 3, 9, 23, 59, 59, tzinfo=SHANGHAI)
    assert due["GD002"] == datetime(2026, 2, 24, 23, 59, 59, tzinfo=SHANGHAI)  # 咨询: 3


def test_a_year_the_calendar_lacks_leaves_the_case_visibly_without_a_deadline(database, tmp_path):
    # A year before the calendar's first (a row dated in the future is rejected on import).
    rows = [["GD099", "2003-03-03 09:00", "", "", "投诉", "食堂", ROWS[0][6], ""]]
    run_import(database, write_xlsx(tmp_path / "late.xlsx", HEADER, rows))
    _process(database)
    with session_scope(database) as session:
        case = session.scalar(select(Case))
        assert case.due_at is None
        event = session.scalar(select(CaseEvent).where(CaseEvent.action == "calendar_missing"))
        assert event.case_id == case.id and event.data["year"] == 2003
        # The history says it in Chinese; the detail for the admin keeps the clock's sentence.
        assert event.note.startswith("工作日历缺少 2003 年的节假日安排")
        assert event.data["detail"].startswith("the working-day calendar has no data for 2003")


def test_crawled_comments_and_untyped_imports_keep_the_hours_clock(database, tmp_path):
    rows = [[*ROWS[0][:4], "", *ROWS[0][5:]]]
    run_import(database, write_xlsx(tmp_path / "n.xlsx", HEADER, rows))
    _process(database)
    with session_scope(database) as session:
        case = session.scalar(select(Case))
        # 48 h from when it was received, as every clock counts from when the public wrote.
        assert case.due_at == case.first_seen_at + timedelta(hours=48)


def test_a_crawled_source_name_is_refused(database, tmp_path):
    with session_scope(database) as session:
        session.add(Source(name="board1", kind="board"))
    with pytest.raises(InputError, match="^source 'board1' is a crawled board source"):
        run_import(database, write_xlsx(tmp_path / "h.xlsx", HEADER, ROWS), source="board1")


HISTORY = ["工单编号", "受理时间", "诉求类型", "标题", "诉求内容", "答复意见", "答复时间", "答复单位",
           "办结时间"]


def test_answered_rows_open_as_replied_cases_with_their_own_times(database, tmp_path):
    rows = [
        # Answered within its 3 working days and closed: 办结, on time.
        ["H1", "2026-02-12 10:30", "咨询", "小学招生划片", "请问城关二小招生划片范围什么时候公布？",
         "划片范围已于2月14日在教育局网站公布。", "2026-02-14 09:00", "基础教育股", "2026-02-15 10:00"],
        # Answered late (投诉: 13 working days), not closed: 已回复, late.
        ["H2", "2026-02-12 11:00", "投诉", "食堂饭菜发霉", "青石镇中学食堂饭菜发霉，孩子吃了拉肚子。",
         "已责成学校整改。", "2026-03-20 16:00", "安全稳定股", ""],
        # Not answered yet: a case to work, its clock from the received time.
        ["H3", "2026-02-13 09:00", "建议", "课后服务", "希望课后服务延长到五点半。", "", "", "", ""],
        ["H4", "2099-01-01 09:00", "咨询", "将来", "时间写错了的一行。", "", "", "", ""],
        ["H5", "2026-02-13 09:00", "咨询", "先答后问", "答复时间早于受理时间的一行。", "已答复。",
         "2026-02-12 09:00", "", ""],
        ["H6", "2026-02-13 09:00", "咨询", "无答复时间", "有答复没有时间的一行。", "已答复。", "", "", ""],
    ]
    result = run_import(database, write_xlsx(tmp_path / "history.xlsx", HISTORY, rows))
    assert [(r.line, r.reason) for r in result.rejects] == [
        (5, "受理时间“2099-01-01 09:00”晚于现在，不能导入将来的时间，请核对后重新导入。"),
        (6, "答复时间“2026-02-12 09:00”早于受理时间“2026-02-13 09:00”。"),
        (7, "有答复内容但没有答复时间，请补上答复时间（或办结时间）后重新导入。")]
    with open(tmp_path / "history.rejects.csv", encoding="utf-8-sig", newline="") as fh:
        assert [line[1] for line in list(csv.reader(fh))[1:]] == [r.reason for r in result.rejects]
    _process(database)
    with session_scope(database) as session:
        cases = {c.title: c for c in session.scalars(select(Case))}
        one, two, three = cases["小学招生划片"], cases["食堂饭菜发霉"], cases["课后服务"]
        assert one.status == "办结" and two.status == "已回复" and three.status != "已回复"
        assert one.first_seen_at == datetime(2026, 2, 12, 10, 30, tzinfo=SHANGHAI)
        assert one.first_reply_at == datetime(2026, 2, 14, 9, 0, tzinfo=SHANGHAI)
        assert (one.replied_on_time, two.replied_on_time) == (True, False)
        assert two.due_at == datetime(2026, 3, 9, 23, 59, 59, tzinfo=SHANGHAI)  # 13 working days
        event = one.events[-1]
        assert (event.action, event.actor_id) == ("source_reply", None)
        assert event.note == "划片范围已于2月14日在教育局网站公布。"
        assert event.data["unit"] == "基础教育股" and event.at == one.first_reply_at
        assert three.first_reply_at is None and three.due_at is not None


def test_a_row_answered_later_makes_its_case_replied_on_the_next_import(database, tmp_path):
    row = ["H1", "2026-02-12 10:30", "咨询", "小学招生划片", "请问城关二小招生划片范围什么时候公布？",
           "", "", "", ""]
    path = write_xlsx(tmp_path / "h.xlsx", HISTORY, [row])
    run_import(database, path)
    _process(database)
    answered = [*row[:5], "划片范围已公布。", "2026-02-13 09:00", "基础教育股", ""]
    result = run_import(database, write_xlsx(path, HISTORY, [answered]))
    assert (result.updated, result.to_process) == (1, [])
    with session_scope(database) as session:
        case = session.scalar(select(Case))
        assert case.status == "已回复" and case.replied_on_time is True
        assert case.first_reply_at == datetime(2026, 2, 13, 9, 0, tzinfo=SHANGHAI)


def test_two_tickets_of_the_same_text_are_two_requests(database, tmp_path):
    text = "请问城关二小招生划片范围什么时候公布？"
    rows = [[f"T{n}", "2026-02-12 10:30", "咨询", "划片", text, "", "", "", ""] for n in (1, 2)]
    run_import(database, write_xlsx(tmp_path / "t.xlsx", HISTORY, rows))
    _process(database)
    with session_scope(database) as session:
        assert session.scalar(select(func.count(Case.id))) == 2
        assert all(c.heat == 1 for c in session.scalars(select(Case)))
