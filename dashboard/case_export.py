"""The filtered case list as an xlsx sheet (openpyxl, write-only: a long list stays small in
memory). Chinese headers, real dates in the installation's time zone, formula-looking cells
escaped (huiying.monthly_export.safe_text), personal data masked (huiying.masking)."""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from dashboard.case_query import CHANNELS, DUE, channel_of, is_ticket
from dashboard.filters import SENTIMENT_LABELS
from huiying.figures import case_link
from huiying.masking import mask_text
from huiying.models import Case
from huiying.monthly_export import safe_text

EXPORT_LIMIT = 20_000
HEADERS = ["编号", "标题", "状态", "严重程度", "主题", "承办科室", "热度", "情感倾向", "渠道",
           "工单编号", "诉求类型", "首次发现", "办理时限", "首次回复", "时限状态", "链接"]
WIDTHS = [8, 40, 9, 9, 12, 14, 7, 9, 12, 18, 10, 17, 17, 17, 12, 34]
DATE_COLUMNS = {"首次发现", "办理时限", "首次回复"}
DATE_FORMAT = "yyyy-mm-dd hh:mm"
CLOCK_NAMES = {**DUE, "open": "办理中"}


def _text(value: str | None) -> str:
    return safe_text(value or "")


def _row(case: Case, clock: str | None, zone: ZoneInfo, base_url: str | None,
         mask: Callable[[str | None], str]) -> list[Any]:
    def local(value: datetime | None) -> datetime | None:
        return value.astimezone(zone).replace(tzinfo=None) if value else None  # Excel has no zones

    tickets = [c for c in case.comments if is_ticket(c)]
    channels = sorted({channel_of(c.source) for c in case.comments})
    return [
        case.id, _text(mask(case.title)), case.status, case.severity, _text(case.topic),
        _text(case.department.name if case.department else "未派单"), case.heat,
        SENTIMENT_LABELS.get(case.sentiment_label or "", ""),
        "、".join(CHANNELS.get(name, name) for name in channels),
        _text("、".join(c.external_id for c in tickets)),
        _text("、".join(sorted({c.request_type for c in tickets if c.request_type}))),
        local(case.first_seen_at), local(case.due_at), local(case.first_reply_at),
        CLOCK_NAMES.get(clock or "", ""),
        case_link(base_url, case.id) if base_url else "",
    ]


def to_xlsx(cases: Sequence[Case], clocks: dict[int, str], *, tz: str, base_url: str | None,
            now: datetime, truncated: bool, mask: Callable[[str | None], str] = mask_text) -> bytes:
    """`cases` need their department and comments (with sources) loaded; `mask` is the
    reader's (personal data in clear only for a role that may see it)."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    zone = ZoneInfo(tz)
    book = Workbook(write_only=True)
    sheet = book.create_sheet("案件")
    sheet.freeze_panes = "A2"
    for n, width in enumerate(WIDTHS, 1):
        sheet.column_dimensions[get_column_letter(n)].width = width
    bold = Font(bold=True)

    def header(value: str) -> WriteOnlyCell:
        cell = WriteOnlyCell(sheet, value=value)
        cell.font = bold
        return cell

    sheet.append([header(name) for name in HEADERS])
    dated = [n for n, name in enumerate(HEADERS) if name in DATE_COLUMNS]
    for case in cases:
        values: list[Any] = _row(case, clocks.get(case.id), zone, base_url, mask)
        for n in dated:
            if values[n] is not None:
                cell = WriteOnlyCell(sheet, value=values[n])
                cell.number_format = DATE_FORMAT
                values[n] = cell
        sheet.append(values)

    notes = book.create_sheet("说明")
    notes.append([f"导出时间 {now.astimezone(zone):%Y-%m-%d %H:%M}（时区 {tz}），共 {len(cases)} 件，"
                  "按案件列表当时的筛选条件和排序。"])
    notes.append(["标题中的手机号、身份证号已隐去；以 = + - @ 开头的内容前加了单引号，以免被当作公式。"])
    if truncated:
        notes.append([f"只导出了前 {EXPORT_LIMIT} 件：请缩小筛选范围（如日期、渠道）后分批导出。"])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
