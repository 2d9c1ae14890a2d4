"""依申请公开 requests: the rules (docs/workflow.md "依申请公开", docs/clocks.md, docs/figures.md).

政府信息公开条例 (2019) 第三十三条: an answer within 20 working days of receipt; one extension of
at most 20 working days, with a reason. 第三十条: the applicant may be asked once to complete an
unclear request (补正); the clock stops, and the 20 working days count again from the day the
completed request arrives. The applicant types are the columns of the annual report's table 三
and the result codes its 处理结果 rows (huiying.annual_format), so every request lands in one cell.

The state is written by huiying/workflow.py; this module only names the values, computes the
legal due time (through huiying.clocks) and counts table 三 (`table3`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from huiying import annual_format as fmt
from huiying.clocks import DEFAULT_TIMEZONE, WorkCalendar, due_after_working_days
from huiying.models import DisclosureRequest

REQUEST_TYPE = "依申请公开"  # Case.request_type of every request
ANSWER_DAYS = 20  # 第三十三条第一款
EXTENSION_DAYS = 20  # 第三十三条第二款: once, at most 20 more
APPLICANT_TYPES = dict(fmt.T3_COLUMNS[:-1])  # natural → 自然人 … other → 其他
APPLICANT_KEYS = {name: key for key, name in APPLICANT_TYPES.items()}
FORMS = ("信函", "网络", "当面", "传真", "其他")
RESULTS = {row: fmt.T3_NAMES[row] for row in fmt.T3_RESULT_ROWS}  # r03 … r23
# （六）1: the applicant did not complete the request in time: only while a correction is awaited.
NOT_CORRECTED = "r21"
FUTURE_TOLERANCE = timedelta(minutes=10)  # a time this far ahead is a typo
CONTENT_CHARS = 5000
NAME_CHARS = 200


def N_(message: str) -> str:  # marks a message for the dashboard's catalog (babel.cfg)
    return message


def applicant_key(text: str) -> str | None:
    """自然人 / natural → natural; the five kinds of 法人或其他组织 by their names; else None."""
    text = "".join((text or "").split())
    if text in APPLICANT_TYPES:
        return text
    return APPLICANT_KEYS.get(text)


def result_key(text: str) -> str | None:
    """r03 …, or a result row's name as the report writes it (with or without its heading)."""
    text = "".join((text or "").split())
    if text in RESULTS:
        return text
    for key, name in RESULTS.items():
        row = next(r for r in fmt.T3_ROWS if r.id == key)
        if text in ("".join(name.split()), "".join(row.label.split())):
            return key
    return None


def clock_start(request: DisclosureRequest) -> datetime | None:
    """From when the 20 working days count: the receipt, or the completed request's receipt;
    None while a correction is awaited (the clock is paused)."""
    if request.correction_asked_at is not None:
        return request.correction_received_at
    return request.received_at


def legal_due(request: DisclosureRequest, calendar: WorkCalendar,
              tz: str = DEFAULT_TIMEZONE) -> datetime | None:
    """The end of the 20th working day after the clock's start, 20 more once extended; None
    while paused. Raises CalendarMissing when the calendar lacks a year it needs."""
    start = clock_start(request)
    if start is None:
        return None
    days = ANSWER_DAYS + (EXTENSION_DAYS if request.extended_at is not None else 0)
    return due_after_working_days(start, days, calendar, tz=tz)


# --- table 三 of the annual report ---------------------------------------------------------

@dataclass(frozen=True)
class Counted:
    """Table 三 counted from the requests: cell key → the case ids behind it."""

    cells: dict[str, list[int]]

    def values(self) -> dict[str, float]:
        return {key: float(len(ids)) for key, ids in self.cells.items()}


def _answered_by(request: DisclosureRequest, moment: datetime) -> bool:
    return request.answered_at is not None and request.answered_at < moment


def table3(session: Session, start: datetime, end: datetime, now: datetime) -> Counted | None:
    """Table 三 of the year [start, end) as of `now`, or None when no request concerns the year
    (then the admin's entered cells stand).

    一 新收: received in the year. 二 上年结转: received before it, not answered by its start.
    三 (一)–(六): answered in the year, by result row; (七) their sum. 四 结转下年: received by the
    year's end and not answered by then. So 一 + 二 = 三（七）+ 四 holds by construction.
    Answers after `now` are not known yet: a report of the running year counts as of now."""
    end = min(end, now)
    requests = list(session.scalars(select(DisclosureRequest).where(DisclosureRequest.received_at < end)))
    cells: dict[str, list[int]] = {fmt.t3_key(row.id, column): [] for row in fmt.T3_ROWS
                                   for column, _ in fmt.T3_COLUMNS}
    concerned = False

    def count(row: str, request: DisclosureRequest) -> None:
        cells[fmt.t3_key(row, request.applicant_type)].append(request.case_id)
        cells[fmt.t3_key(row, "total")].append(request.case_id)

    for request in requests:
        if _answered_by(request, start):
            continue  # done in an earlier year
        concerned = True
        count("r01" if request.received_at >= start else "r02", request)
        if _answered_by(request, end) and request.result in RESULTS:
            count(request.result, request)
            count("r24", request)
        else:
            count("r25", request)
    if not concerned:
        return None
    return Counted({key: sorted(ids) for key, ids in cells.items()})


def counted_keys() -> Iterable[str]:
    """The cells `table3` fills: all of table 三."""
    return (fmt.t3_key(row.id, column) for row in fmt.T3_ROWS for column, _ in fmt.T3_COLUMNS)
