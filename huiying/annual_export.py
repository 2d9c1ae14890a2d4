"""The annual report as files: docx (the report's tables 一 to 四), xlsx (the same tables plus the
appendix: the case ids behind every figure), JSON.

Used by `huiying report annual` and the dashboard's downloads, so both give the same bytes.
All three are drawn from `AnnualReport.as_dict()`, so a number in the docx is the number in
the JSON. A report whose entered cells do not add up is not exported (`ExportRefused`).
"""

from __future__ import annotations

import io
import json
from typing import Any

from huiying import annual_format as fmt
from huiying.annual import MISSING, NOT_RECORDED, SATISFACTION, AnnualReport
from huiying.errors import InputError
from huiying.monthly_export import safe_text

FORMATS = ("docx", "xlsx", "json")
MEDIA_TYPES = {
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "json": "application/json",
}
RESPONSE_HEADERS = ["渠道", "收到", "需回应", "已回应", "回应率", "按时回应", "按时率",
                    "回应时长中位数（小时）"]
IDS_PER_ROW = 2000  # an Excel cell holds 32,767 characters: long id lists continue below


class ExportRefused(InputError):
    """The entered cells do not add up: the message names the first cell that does not."""


def file_name(report: AnnualReport, fmt_: str) -> str:
    return f"政府信息公开年报-{report.year}.{fmt_}"


def title(data: dict[str, Any]) -> str:
    return f"{data['bureau']}{data['year']}年政府信息公开工作年度报告"


def render(report: AnnualReport, fmt_: str) -> bytes:
    if report.problems:
        more = f"另有 {len(report.problems) - 1} 处不符，" if len(report.problems) > 1 else ""
        raise ExportRefused(f"年报数据未通过核对，未导出：{report.problems[0]}{more}"
                            f"请在“年报数据填报”页改正后再导出。")
    data = report.as_dict()
    if fmt_ == "docx":
        return to_docx(data)
    if fmt_ == "xlsx":
        return to_xlsx(data)
    return (json.dumps(data, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


# --- the tables, as rows of values (None: 未填报) -------------------------------------------------

def _rate(value: float | None) -> str:
    return "—" if value is None else f"{value:.1%}"


def response_rows(data: dict[str, Any]) -> list[list[Any]]:
    """一、总体情况 回应关切: one row per channel, then all channels."""
    overview = data["overview"]
    return [[f["name"], f["received"]["count"], f["needing_answer"]["count"], f["replied"]["count"],
             _rate(f["reply_rate"]), f["on_time"]["count"], _rate(f["on_time_rate"]),
             "—" if f["median_response_hours"] is None else f["median_response_hours"]]
            for f in [*overview["by_channel"], overview["all"]]]


def opinion_rows(data: dict[str, Any]) -> list[list[Any]]:
    o = data["overview"]["opinion"]
    return [["网上舆情（需回应）", o["cases"]["count"]], ["其中 48 小时内回应", o["within_48h"]["count"]],
            ["重大舆情", o["major"]["count"]], ["其中 5 小时内回应", o["major_within_5h"]["count"]],
            ["其中 24 小时内回应", o["major_within_24h"]["count"]]]


def satisfaction_rows(data: dict[str, Any]) -> list[list[Any]]:
    s = data["overview"]["satisfaction"]
    return [["回访", s["followed_up"]["count"]],
            *([name, s[name]["count"]] for name in (*SATISFACTION, NOT_RECORDED)),
            ["满意率（满意 + 基本满意）÷ 已记录评价", _rate(s["rate"])]]


def entered_rows(data: dict[str, Any]) -> list[list[Any]]:
    return [[item["label"], item["value"], item["unit"]] for item in data["overview"]["entered"].values()]


def table2_rows(data: dict[str, Any]) -> list[list[Any]]:
    """Rows of 表二 as the format prints them: an item line, a header line, the value lines."""
    rows: list[list[Any]] = []
    for item in data["table2"]:
        rows.append([item["item"]])
        rows.append(["信息内容", *(cell["column"] for cell in item["rows"][0]["cells"])])
        rows += [[row["label"], *(cell["value"] for cell in row["cells"])] for row in item["rows"]]
    return rows


def table3_rows(data: dict[str, Any]) -> list[list[Any]]:
    return [[fmt.T3_NAMES[row["id"]], *(row["cells"][c] for c, _ in fmt.T3_COLUMNS)]
            for row in data["table3"]]


def table4_row(data: dict[str, Any]) -> list[Any]:
    return [data["table4"][group][outcome] for group, _ in fmt.T4_GROUPS for outcome, _ in fmt.T4_OUTCOMES]


def evidence(data: dict[str, Any]) -> list[tuple[str, str, list[int]]]:
    """(table, figure, case ids) for every number counted from the cases."""
    overview = data["overview"]
    found = []
    for f in [*overview["by_channel"], overview["all"]]:
        for key, name in (("received", "收到"), ("needing_answer", "需回应"), ("replied", "已回应"),
                          ("on_time", "按时回应")):
            found.append(("回应关切", f"{f['name']} {name}", f[key]["case_ids"]))
    o = overview["opinion"]
    for key, name in (("cases", "网上舆情（需回应）"), ("within_48h", "48 小时内回应"), ("major", "重大舆情"),
                      ("major_within_5h", "重大舆情 5 小时内回应"),
                      ("major_within_24h", "重大舆情 24 小时内回应")):
        found.append(("舆情回应", name, o[key]["case_ids"]))
    s = overview["satisfaction"]
    for key in ("followed_up", *SATISFACTION, NOT_RECORDED):
        found.append(("回访满意度", "回访" if key == "followed_up" else key, s[key]["case_ids"]))
    counted = data.get("table3_case_ids") or {}
    for row in fmt.T3_ROWS:  # counted from the 依申请公开 requests: the cells that are not zero
        for column, name in fmt.T3_COLUMNS:
            ids = counted.get(fmt.t3_key(row.id, column))
            if ids:
                found.append(("表三", f"{fmt.T3_NAMES[row.id]} {name}", ids))
    return found


def _shown(value: Any) -> Any:
    return MISSING if value is None else value


TABLE3_COUNTED = ("表三由系统登记的依申请公开申请统计：本年新收按收到申请时间，上年结转与结转下年按年初、年末"
                  "尚未答复，办理结果按本年答复；管理员填报的表三数字不再使用（对应案件编号见附录）。")
TABLE3_ENTERED = "表三为管理员填报（系统中没有涉及本年的依申请公开申请登记）。"


def notes(data: dict[str, Any]) -> list[str]:
    lines = [f"统计期限：{data['from'][:10]} 至 {data['year']}-12-31"
             f"（首次发现时间，时区 {data['timezone']}）；"
             f"统计时间 {data['as_of'][:16].replace('T', ' ')}。",
             "回应率 = 已回应 ÷ 需回应（不含不予处理、合并）；按时率 = 按时回应 ÷ 已回应；"
             "回应时长自群众留言（来电、来信）时起算至首次答复。",
             f"“{MISSING}”表示管理员尚未填报该项数据。"]
    lines.append(TABLE3_COUNTED if data.get("table3_counted") else TABLE3_ENTERED)
    if data["calendar_note"]:
        lines.append(data["calendar_note"])
    return lines


# --- docx ---------------------------------------------------------------------------------------

def to_docx(data: dict[str, Any]) -> bytes:
    from docx import Document
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml.ns import qn

    document = Document()
    style = document.styles["Normal"]
    style.font.name = "SimSun"
    style.element.rPr.rFonts.set(qn("w:eastAsia"), "SimSun")  # Word needs it for Chinese text
    heading = document.add_heading(title(data), level=0)
    heading.alignment = WD_ALIGN_PARAGRAPH.CENTER
    for line in notes(data):
        document.add_paragraph(line)

    document.add_heading("一、总体情况", level=1)
    entered = "；".join(f"{label}{_shown(value)}{unit if value is not None else ''}"
                        for label, value, unit in entered_rows(data))
    document.add_paragraph(f"本年度{entered}。")
    document.add_heading("回应关切", level=2)
    _docx_table(document, RESPONSE_HEADERS, response_rows(data))
    document.add_paragraph()
    _docx_table(document, ["舆情回应", "件数"], opinion_rows(data))
    document.add_paragraph()
    _docx_table(document, ["回访满意度", "件数"], satisfaction_rows(data))
    document.add_paragraph()
    _docx_table(document, ["管理员填报项目", "数量", "单位"], entered_rows(data))

    document.add_heading("二、主动公开政府信息情况", level=1)
    _docx_table2(document, data)
    document.add_heading("三、收到和处理政府信息公开申请情况", level=1)
    _docx_table3(document, data)
    document.add_heading("四、政府信息公开行政复议、行政诉讼情况", level=1)
    _docx_table4(document, data)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def _docx_table(document, headers: list[str], rows: list[list[Any]]):
    table = document.add_table(rows=1 + len(rows), cols=len(headers))
    table.style = "Table Grid"
    for n, header in enumerate(headers):
        table.cell(0, n).text = header
    for r, row in enumerate(rows, 1):
        for n, value in enumerate(row):
            table.cell(r, n).text = str(_shown(value))
    return table


def _docx_table2(document, data: dict[str, Any]) -> None:
    rows = table2_rows(data)
    table = document.add_table(rows=len(rows), cols=4)
    table.style = "Table Grid"
    for r, row in enumerate(rows):
        if len(row) == 1:  # 第二十条第（x）项 spans the table
            table.cell(r, 0).merge(table.cell(r, 3)).text = row[0]
            continue
        last = len(row) - 1
        for n, value in enumerate(row):
            cell = table.cell(r, n)
            if n == last and last < 3:
                cell = cell.merge(table.cell(r, 3))
            cell.text = str(_shown(value))


def _docx_table3(document, data: dict[str, Any]) -> None:
    """Three header rows (申请人情况 / 自然人, 法人或其他组织, 总计 / its five kinds), three label
    columns (一…四 / （一）…（七） and the headings （三）…（六） / their items), as the format."""
    header_rows, labels = 3, 3
    table = document.add_table(rows=header_rows + len(fmt.T3_ROWS), cols=labels + len(fmt.T3_COLUMNS))
    table.style = "Table Grid"
    table.cell(0, 0).merge(table.cell(2, labels - 1)).text = (
        "（本列数据的勾稽关系为：第一项加第二项之和，等于第三项加第四项之和）")
    table.cell(0, labels).merge(table.cell(0, labels + 6)).text = "申请人情况"
    table.cell(1, labels).merge(table.cell(2, labels)).text = "自然人"
    table.cell(1, labels + 1).merge(table.cell(1, labels + 5)).text = "法人或其他组织"
    table.cell(1, labels + 6).merge(table.cell(2, labels + 6)).text = "总计"
    for n, (_, name) in enumerate(fmt.T3_ORGANISATIONS):
        table.cell(2, labels + 1 + n).text = name
    rows = {row["id"]: row for row in data["table3"]}
    section_first = header_rows + fmt.T3_ROWS.index(next(r for r in fmt.T3_ROWS if r.id == "r03"))
    section_last = header_rows + fmt.T3_ROWS.index(next(r for r in fmt.T3_ROWS if r.id == "r24"))
    table.cell(section_first, 0).merge(table.cell(section_last, 0)).text = fmt.T3_SECTION
    groups: dict[str, list[int]] = {}
    for n, row in enumerate(fmt.T3_ROWS):
        r = header_rows + n
        if row.id in ("r01", "r02", "r25"):
            table.cell(r, 0).merge(table.cell(r, 2)).text = row.label
        elif row.group:
            groups.setdefault(row.group, []).append(r)
            table.cell(r, 2).text = row.label
        else:
            table.cell(r, 1).merge(table.cell(r, 2)).text = row.label
        for c, (column, _) in enumerate(fmt.T3_COLUMNS):
            table.cell(r, labels + c).text = str(_shown(rows[row.id]["cells"][column]))
    for group, at in groups.items():
        table.cell(at[0], 1).merge(table.cell(at[-1], 1)).text = group


def _docx_table4(document, data: dict[str, Any]) -> None:
    outcomes = len(fmt.T4_OUTCOMES)
    table = document.add_table(rows=4, cols=3 * outcomes)
    table.style = "Table Grid"
    table.cell(0, 0).merge(table.cell(1, outcomes - 1)).text = "行政复议"
    table.cell(0, outcomes).merge(table.cell(0, 3 * outcomes - 1)).text = "行政诉讼"
    table.cell(1, outcomes).merge(table.cell(1, 2 * outcomes - 1)).text = "未经复议直接起诉"
    table.cell(1, 2 * outcomes).merge(table.cell(1, 3 * outcomes - 1)).text = "复议后起诉"
    for n, value in enumerate(table4_row(data)):
        table.cell(2, n).text = fmt.T4_OUTCOMES[n % outcomes][1]
        table.cell(3, n).text = str(_shown(value))


# --- xlsx ---------------------------------------------------------------------------------------

def to_xlsx(data: dict[str, Any]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    bold = Font(bold=True)
    book = Workbook()
    sheet = book.active
    sheet.title = "一、总体情况"
    _title(sheet, data, "一、总体情况（回应关切）", bold)
    row = _block(sheet, 3, RESPONSE_HEADERS, response_rows(data), bold)
    row = _block(sheet, row + 1, ["舆情回应", "件数"], opinion_rows(data), bold)
    row = _block(sheet, row + 1, ["回访满意度", "件数"], satisfaction_rows(data), bold)
    row = _block(sheet, row + 1, ["管理员填报项目", "数量", "单位"], entered_rows(data), bold)
    for line in notes(data):
        row += 1
        sheet.cell(row, 1, line)
    _widths(sheet, [22, 9, 9, 9, 9, 10, 9, 22], get_column_letter)

    sheet = book.create_sheet("二、主动公开")
    _title(sheet, data, "二、主动公开政府信息情况", bold)
    for n, values in enumerate(table2_rows(data), 3):
        for c, value in enumerate(values, 1):
            heading = len(values) == 1 or values[0] == "信息内容"
            sheet.cell(n, c, _shown(value)).font = bold if heading else Font()
    _widths(sheet, [22, 16, 16, 16], get_column_letter)

    sheet = book.create_sheet("三、依申请公开")
    _title(sheet, data, "三、收到和处理政府信息公开申请情况", bold)
    _block(sheet, 3, ["项目", *(name for _, name in fmt.T3_COLUMNS)], table3_rows(data), bold)
    _widths(sheet, [60, 9, 10, 10, 13, 13, 9, 9], get_column_letter)

    sheet = book.create_sheet("四、复议诉讼")
    _title(sheet, data, "四、政府信息公开行政复议、行政诉讼情况", bold)
    outcomes = len(fmt.T4_OUTCOMES)
    for n, (_, name) in enumerate(fmt.T4_GROUPS):
        sheet.cell(3, 1 + n * outcomes, name).font = bold
    for n, value in enumerate(table4_row(data)):
        sheet.cell(4, 1 + n, fmt.T4_OUTCOMES[n % outcomes][1]).font = bold
        sheet.cell(5, 1 + n, _shown(value))

    sheet = book.create_sheet("依据")
    _title(sheet, data, "附录：每个数字对应的案件编号（案件详情见“案件明细”表）", bold)
    rows = []
    for table, figure, ids in evidence(data):
        chunks = [ids[i:i + IDS_PER_ROW] for i in range(0, len(ids), IDS_PER_ROW)] or [[]]
        for n, chunk in enumerate(chunks):
            rows.append([table, figure + ("（续）" if n else ""), len(ids) if n == 0 else None,
                         ",".join(map(str, chunk))])
    _block(sheet, 3, ["部分", "数字", "件数", "案件编号"], rows, bold, autofilter=True, blank=None)
    _widths(sheet, [12, 30, 8, 100], get_column_letter)

    sheet = book.create_sheet("案件明细")
    _title(sheet, data, "案件明细", bold)
    case_rows = [[c["id"], safe_text(c["title"]), c["channel"], c["status"], c["severity"],
                  c["first_seen_at"][:16].replace("T", " "),
                  c["first_reply_at"][:16].replace("T", " ") if c["first_reply_at"] else None,
                  {True: "是", False: "否"}.get(c["replied_on_time"]), c["response_hours"], c["satisfaction"]]
                 for c in data["cases"]]
    _block(sheet, 3, ["案件编号", "标题", "渠道", "状态", "严重程度", "首次发现", "首次答复", "是否按时",
                      "回应时长（小时）", "回访评价"], case_rows, bold, autofilter=True, blank=None)
    _widths(sheet, [9, 40, 12, 9, 9, 17, 17, 9, 15, 10], get_column_letter)

    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _title(sheet, data: dict[str, Any], subtitle: str, bold) -> None:
    sheet.cell(1, 1, f"{title(data)} — {subtitle}").font = bold


def _block(sheet, row: int, headers: list[str], rows: list[list[Any]], bold, *,
           autofilter: bool = False, blank: str | None = MISSING) -> int:
    """Headers at `row`, then the rows (None → `blank`: 未填报 for entered cells, an empty cell
    for a value that has none, such as the reply time of an unanswered case); returns the next
    free row."""
    for c, header in enumerate(headers, 1):
        sheet.cell(row, c, header).font = bold
    for n, values in enumerate(rows, row + 1):
        for c, value in enumerate(values, 1):
            sheet.cell(n, c, blank if value is None else value)
    if autofilter:
        from openpyxl.utils import get_column_letter

        sheet.auto_filter.ref = f"A{row}:{get_column_letter(len(headers))}{row + max(len(rows), 1)}"
    return row + len(rows) + 2


def _widths(sheet, widths: list[int], letter) -> None:
    for n, width in enumerate(widths, 1):
        sheet.column_dimensions[letter(n)].width = width
