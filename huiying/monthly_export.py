"""The monthly report as files: xlsx (汇总 + 明细), CSV (the department table), JSON.

Used by `huiying export monthly` and the dashboard's download buttons, so both give the
same bytes. Headers are Chinese: the sheet is read by the bureau's leadership.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from huiying.figures import Figures, MonthlyReport, case_link, channel_name

FORMATS = ("xlsx", "csv", "json")
MEDIA_TYPES = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
    "json": "application/json",
}
SUMMARY_HEADERS = ["科室", "案件数", "需回应", "已回应", "回应率", "按时回应", "按时率",
                   "平均回应时长（小时）", "回应时长中位数（小时）", "超期未回应"]
DETAIL_HEADERS = ["案件编号", "标题", "科室", "状态", "严重程度", "主题", "首次发现", "立案时间",
                  "应回应时间", "回复时间", "是否按时", "回应时长（小时）", "计入需回应", "超期未回应",
                  "链接"]
CHANNEL_HEADERS = ["渠道", "类型", "收到", "成为案件", "不相关", "未处理", "不予回应", "需回应", "已回应",
                   "回应率", "回应时长中位数（小时）"]
CHANNEL_TITLE = "各渠道收到与回应"
# A cell starting with one of these is a formula to Excel (DESIGN.md "Spreadsheet safety").
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def file_name(report: MonthlyReport, fmt: str) -> str:
    return f"回应月报-{report.label}.{fmt}"


def render(report: MonthlyReport, fmt: str, base_url: str | None = None, bureau: str = "") -> bytes:
    if fmt == "xlsx":
        return to_xlsx(report, base_url, bureau)
    if fmt == "csv":
        return to_csv(report)
    return to_json(report, base_url)


def safe_text(value: str) -> str:
    """Text that Excel shows as text: a leading formula character gets an apostrophe."""
    return "'" + value if value.startswith(FORMULA_START) else value


def _summary_row(figures: Figures) -> list[Any]:
    def hours(value: float | None) -> float | None:
        return None if value is None else round(value, 1)

    return [safe_text(figures.name), len(figures.total), len(figures.needing_answer), len(figures.replied),
            figures.response_rate, len(figures.on_time), figures.on_time_rate,
            hours(figures.mean_response_hours), hours(figures.median_response_hours),
            len(figures.overdue_unanswered)]


def summary_rows(report: MonthlyReport) -> list[list[Any]]:
    """The overall row (全部) and one row per department, as numbers (rates 0..1, None: —)."""
    return [_summary_row(report.overall), *(_summary_row(f) for f in report.by_department)]


def channel_rows(report: MonthlyReport) -> list[list[Any]]:
    """One row per channel, the same counts as the JSON's "channels" block."""
    rows = []
    for c in report.channels:
        median = c.median_response_hours
        rows.append([safe_text(c.title or c.name), safe_text(channel_name(c.kind)), len(c.received),
                     len(c.became_cases), len(c.not_relevant), len(c.unprocessed), len(c.not_to_answer),
                     len(c.needing_answer), len(c.replied), c.response_rate,
                     None if median is None else round(median, 1)])
    return rows


def to_csv(report: MonthlyReport) -> bytes:
    """The department table, then after an empty line the titled channel block, in UTF-8 with a
    BOM so that Excel reads the Chinese right."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(SUMMARY_HEADERS)
    for row in summary_rows(report):
        writer.writerow(["" if v is None else f"{v:.1%}" if n in (4, 6) else v for n, v in enumerate(row)])
    writer.writerow([])
    writer.writerow([CHANNEL_TITLE])
    writer.writerow(CHANNEL_HEADERS)
    for row in channel_rows(report):
        writer.writerow(["" if v is None else f"{v:.1%}" if n == 9 else v for n, v in enumerate(row)])
    return out.getvalue().encode("utf-8-sig")


def to_json(report: MonthlyReport, base_url: str | None = None) -> bytes:
    return (json.dumps(report.as_dict(base_url), ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def heading_of(report: MonthlyReport, bureau: str) -> str:
    return f"{bureau}回应月报（{report.month.year}年{report.month.month}月）"


def to_xlsx(report: MonthlyReport, base_url: str | None = None, bureau: str = "") -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    bold = Font(bold=True)
    book = Workbook()
    summary = book.active
    summary.title = "汇总"
    heading = heading_of(report, bureau)
    _table(summary, heading, SUMMARY_HEADERS, summary_rows(report), bold,
           formats={5: "0.0%", 7: "0.0%", 8: "0.0", 9: "0.0"})
    summary["A3"].font = bold  # 全部
    row = summary.max_row + 2
    for title, groups in (("状态", report.by_status), ("严重程度", report.by_severity),
                          ("主题", report.by_topic)):
        summary.cell(row, 1, title).font = bold
        summary.cell(row, 2, "案件数").font = bold
        for name, ids in groups.items():
            row += 1
            summary.cell(row, 1, safe_text(name))
            summary.cell(row, 2, len(ids))
        row += 2
    start, end = report.local(report.start), report.local(report.end)
    notes = [
        f"统计范围：首次发现时间在 {start:%Y-%m-%d %H:%M} 至 {end:%Y-%m-%d %H:%M}（不含）之间的案件，"
        f"时区 {report.timezone}；统计时间 {report.local(report.as_of):%Y-%m-%d %H:%M}。",
        "回应率 = 已回应 ÷ 需回应（不含不予处理、合并）；按时率 = 按时回应 ÷ 已回应；"
        "回应时长自立案起算至首次回复。",
        "每个数字所含案件见“明细”表（按科室、状态、是否按时等列筛选）。",
    ]
    for note in notes:
        summary.cell(row, 1, note)
        row += 1
    _widths(summary, [16, 9, 9, 9, 9, 10, 9, 20, 22, 11], get_column_letter)

    channel_sheet = book.create_sheet("渠道")
    _table(channel_sheet, f"{heading} {CHANNEL_TITLE}", CHANNEL_HEADERS, channel_rows(report), bold,
           formats={10: "0.0%", 11: "0.0"})
    _widths(channel_sheet, [20, 10, 8, 10, 8, 8, 10, 8, 8, 9, 22], get_column_letter)

    detail = book.create_sheet("明细")
    rows = []
    for line in report.cases:
        rows.append([
            line.id, safe_text(line.title), safe_text(line.department), line.status, line.severity,
            safe_text(line.topic), _naive(report, line.first_seen_at), _naive(report, line.created_at),
            _naive(report, line.due_at), _naive(report, line.replied_at),
            "" if line.on_time is None else ("是" if line.on_time else "否"),
            None if line.response_hours is None else round(line.response_hours, 1),
            "是" if line.needs_answer else "否", "是" if line.overdue_unanswered else "否",
            case_link(base_url, line.id) if base_url else "",
        ])
    when = "yyyy-mm-dd hh:mm"
    _table(detail, heading, DETAIL_HEADERS, rows, bold,
           formats={7: when, 8: when, 9: when, 10: when, 12: "0.0"})
    if base_url:
        for cells in detail.iter_rows(min_row=HEADER_ROW + 1, min_col=15, max_col=15):
            if cells[0].value:
                cells[0].hyperlink = cells[0].value
                cells[0].style = "Hyperlink"
    _widths(detail, [9, 40, 14, 9, 9, 12, 17, 17, 17, 17, 9, 15, 11, 11, 36], get_column_letter)

    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _naive(report: MonthlyReport, value):
    """Local time without zone: Excel has no time zones."""
    return report.local(value).replace(tzinfo=None) if value else None


HEADER_ROW = 2  # row 1 is the title (bureau and month)


def _table(sheet, heading: str, headers: list[str], rows: list[list[Any]], bold,
           formats: dict[int, str]) -> None:
    """Title row, header row with an autofilter over the table, the rows. A value that does not
    exist (no reply yet, no rate without cases) stays an empty cell: a dash in a date or number
    column would break Excel's sorting, filtering and sums."""
    from openpyxl.utils import get_column_letter

    sheet.append([heading])
    sheet["A1"].font = bold
    sheet.append(headers)
    for cell in sheet[HEADER_ROW]:
        cell.font = bold
    for values in rows:
        sheet.append(values)
        for column, number_format in formats.items():
            sheet.cell(sheet.max_row, column).number_format = number_format
    last = HEADER_ROW + max(len(rows), 1)
    sheet.auto_filter.ref = f"A{HEADER_ROW}:{get_column_letter(len(headers))}{last}"
    sheet.freeze_panes = f"A{HEADER_ROW + 1}"


def _widths(sheet, widths: list[int], letter) -> None:
    for n, width in enumerate(widths, 1):
        sheet.column_dimensions[letter(n)].width = width
