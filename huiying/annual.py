"""The figures of the yearly 政府信息公开工作年度报告 (docs/figures.md "Annual report").

`annual()` gives 一、总体情况's 回应关切 figures counted from the cases first seen in one local
year (per channel: received, replied, reply rate, on-time rate, median response time; 舆情
answered within 48 h, major ones within 5 h and 24 h; satisfaction from 回访) with the case
ids behind every number, and the cells of tables 二, 三 and 四 as the admin entered them
(huiying.annual_format), with their consistency checks. Table 三 is counted from the
依申请公开 requests instead (huiying/disclosure.py `table3`) as soon as one concerns the year.
A cell nobody entered is None (未填报), never zero. Reading only, except `save_inputs`.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from huiying import annual_format as fmt
from huiying import disclosure
from huiying.clocks import covered_years
from huiying.errors import InputError
from huiying.figures import CHANNEL_NAMES, NOT_TO_ANSWER, channel_name
from huiying.masking import mask_text
from huiying.models import AnnualInput, Case, CaseEvent, Comment, DisclosureRequest, Severity, Source, utcnow
from huiying.source_kinds import KINDS
from huiying.sources import IMPORT_KIND
from huiying.workflow import SATISFACTION, Action

# Channels by where the case's first comment came from: Source.kind, or an import's kind.
# 舆情 are what the public posts where anyone reads it (crawled sources); hotline and mailbox
# requests are addressed to the bureau and run on working-day clocks instead.
OPINION_CHANNELS = frozenset(KINDS)  # every crawled kind: boards, feeds, APIs, forums, searches
OPINION_HOURS = 48  # 国办发〔2016〕61号: respond to 舆情 within 48 h
MAJOR_HOURS = (5, 24)  # major incidents: authoritative information within 5 h, press conference 24 h
NOT_RECORDED = "未记录"
MISSING = "未填报"



def parse_year(text: str | int) -> int:
    """'2026' → 2026; anything else is an InputError of one sentence."""
    value = str(text).strip()
    if not value.isdigit() or len(value) != 4 or not 1970 <= int(value) <= 9998:
        raise InputError(f"the year must look like 2026 (YYYY, from 1970 on), got {text!r}.")
    return int(value)


def year_bounds(year: int, tz: str) -> tuple[datetime, datetime]:
    """The UTC instants at which the local year starts and the next one starts."""
    zone = ZoneInfo(tz)
    return (datetime(year, 1, 1, tzinfo=zone).astimezone(UTC),
            datetime(year + 1, 1, 1, tzinfo=zone).astimezone(UTC))


def _ids(values: Iterable[int]) -> dict[str, Any]:
    values = sorted(values)
    return {"count": len(values), "case_ids": values}


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


@dataclass(frozen=True)
class YearCase:
    id: int
    title: str
    channel: str
    status: str
    severity: str
    first_seen_at: datetime
    first_reply_at: datetime | None  # only if given by the time of the report
    replied_on_time: bool | None
    satisfaction: str | None  # the latest 回访's choice; NOT_RECORDED when it has none

    @property
    def needs_answer(self) -> bool:
        return self.status not in NOT_TO_ANSWER

    @property
    def replied(self) -> bool:
        return self.needs_answer and self.first_reply_at is not None

    @property
    def response_hours(self) -> float | None:
        """From when the public wrote to the first official reply."""
        if not self.replied:
            return None
        return (self.first_reply_at - self.first_seen_at).total_seconds() / 3600


def response_figures(name: str, cases: list[YearCase]) -> dict[str, Any]:
    """Received, replied, reply rate, on-time rate and response hours of a set of cases."""
    needing = [c for c in cases if c.needs_answer]
    replied = [c for c in needing if c.replied]
    on_time = [c for c in replied if c.replied_on_time]
    hours = [c.response_hours for c in replied]
    return {
        "name": name,
        "received": _ids(c.id for c in cases),
        "needing_answer": _ids(c.id for c in needing),
        "replied": _ids(c.id for c in replied),
        "reply_rate": _ratio(len(replied), len(needing)),
        "on_time": _ids(c.id for c in on_time),
        "on_time_rate": _ratio(len(on_time), len(replied)),
        "median_response_hours": round(statistics.median(hours), 1) if hours else None,
    }


@dataclass
class AnnualReport:
    year: int
    timezone: str
    bureau: str
    start: datetime
    end: datetime
    as_of: datetime
    cases: list[YearCase]
    inputs: dict[str, float | None]
    calendar_note: str | None = None
    problems: list[str] = field(default_factory=list)
    # Table 三 counted from the 依申请公开 requests (cell key → case ids); None: as entered.
    table3_cases: dict[str, list[int]] | None = None

    def local(self, value: datetime | None) -> datetime | None:
        return value.astimezone(ZoneInfo(self.timezone)) if value else None

    @property
    def channels(self) -> list[str]:
        """The known channels (also when empty: a year with no data shows zeros), then others."""
        return [*CHANNEL_NAMES, *sorted({c.channel for c in self.cases} - set(CHANNEL_NAMES))]

    def overview(self) -> dict[str, Any]:
        by_channel = [response_figures(channel_name(ch), [c for c in self.cases if c.channel == ch])
                      for ch in self.channels]
        opinion = [c for c in self.cases if c.channel in OPINION_CHANNELS and c.needs_answer]
        major = [c for c in opinion if c.severity == Severity.MAJOR]

        def within(cases: list[YearCase], hours: int) -> dict[str, Any]:
            return _ids(c.id for c in cases if c.replied and c.response_hours <= hours)

        followed = [c for c in self.cases if c.satisfaction is not None]
        choices = {name: _ids(c.id for c in followed if c.satisfaction == name)
                   for name in (*SATISFACTION, NOT_RECORDED)}
        recorded = sum(choices[name]["count"] for name in SATISFACTION)
        satisfied = choices["满意"]["count"] + choices["基本满意"]["count"]
        return {
            "all": response_figures("全部渠道", self.cases),
            "by_channel": by_channel,
            "opinion": {
                "cases": _ids(c.id for c in opinion),
                f"within_{OPINION_HOURS}h": within(opinion, OPINION_HOURS),
                "major": _ids(c.id for c in major),
                **{f"major_within_{h}h": within(major, h) for h in MAJOR_HOURS},
            },
            "satisfaction": {
                "followed_up": _ids(c.id for c in followed),
                **choices,
                "rate": _ratio(satisfied, recorded),  # (满意 + 基本满意) ÷ 回访 with a choice
            },
            "entered": {f.key: {"label": f.label, "unit": f.unit, "value": fmt.number(self.inputs.get(f.key))}
                        for f in fmt.OVERVIEW_FIELDS},
        }

    def cell(self, key: str) -> int | float | None:
        return fmt.number(self.inputs.get(key))

    def as_dict(self) -> dict[str, Any]:
        def iso(value: datetime | None) -> str | None:
            return self.local(value).isoformat() if value else None

        table2 = [{"item": item, "rows": [{"label": label, "cells": [
            {"key": key, "column": column, "value": self.cell(key)} for key, column in columns]}
            for label, columns in rows]} for item, rows in fmt.TABLE2]
        table3 = [{"id": row.id, "label": row.label, "group": row.group,
                   "cells": {column: self.cell(fmt.t3_key(row.id, column)) for column, _ in fmt.T3_COLUMNS}}
                  for row in fmt.T3_ROWS]
        table4 = {group: {outcome: self.cell(fmt.t4_key(group, outcome)) for outcome, _ in fmt.T4_OUTCOMES}
                  for group, _ in fmt.T4_GROUPS}
        return {
            "year": self.year,
            "bureau": self.bureau,
            "timezone": self.timezone,
            "from": iso(self.start),
            "to": iso(self.end),
            "as_of": iso(self.as_of),
            "calendar_note": self.calendar_note,
            "overview": self.overview(),
            "table2": table2,
            "table3": table3,
            "table3_counted": self.table3_cases is not None,
            "table3_case_ids": self.table3_cases or {},
            "table4": table4,
            "missing": fmt.missing(self.inputs),
            "problems": self.problems,
            "cases": [{
                "id": c.id, "title": c.title, "channel": channel_name(c.channel),
                "status": c.status, "severity": c.severity, "first_seen_at": iso(c.first_seen_at),
                "first_reply_at": iso(c.first_reply_at), "replied_on_time": c.replied_on_time,
                "response_hours": None if c.response_hours is None else round(c.response_hours, 2),
                "satisfaction": c.satisfaction,
            } for c in self.cases],
        }


def calendar_note(year: int) -> str | None:
    """A sentence when the working-day calendar does not know `year`, else None."""
    first, last = covered_years()
    if first <= year <= last:
        return None
    return (f"工作日历未覆盖 {year} 年（已安装的节假日数据覆盖 {first}—{last} 年）："
            "按工作日计算的办理时限无法确定，相关案件不计入按时率。"
            "请在国务院公布该年节假日安排后升级 chinesecalendar，或由管理员录入该年的工作日调整。")


def load_inputs(session: Session, year: int) -> dict[str, float | None]:
    found = dict(session.execute(select(AnnualInput.key, AnnualInput.value)
                                 .where(AnnualInput.year == year)).all())
    return {key: found.get(key) for key in fmt.FIELDS}


def save_inputs(session: Session, year: int, values: Mapping[str, float | None],
                user_id: int | None = None, now: datetime | None = None) -> None:
    """Store the admin's cells of `year` (None: not entered, the row goes); unknown keys refused."""
    unknown = sorted(set(values) - set(fmt.FIELDS))
    if unknown:
        raise InputError(f"unknown annual report cells: {', '.join(unknown)}.")
    now = now or utcnow()
    rows = {row.key: row for row in session.scalars(select(AnnualInput).where(
        AnnualInput.year == year, AnnualInput.key.in_(list(values))))}
    for key, value in values.items():
        row = rows.get(key)
        if value is None:
            if row is not None:
                session.execute(delete(AnnualInput).where(AnnualInput.id == row.id))
        elif row is None:
            session.add(AnnualInput(year=year, key=key, value=value, updated_at=now, updated_by_id=user_id))
        elif row.value != value:
            row.value, row.updated_at, row.updated_by_id = value, now, user_id


def annual(session: Session, year: int, tz: str, *, bureau: str = "",
           now: datetime | None = None) -> AnnualReport:
    """The figures of `year` (local), as of `now` (default: the present)."""
    now = now or utcnow()
    start, end = year_bounds(year, tz)
    in_year = (Case.first_seen_at >= start) & (Case.first_seen_at < end) & (Case.first_seen_at <= now)
    # 依申请公开 requests are table 三's, not 回应关切's.
    requests = Case.id.not_in(select(DisclosureRequest.case_id))
    rows = session.execute(
        select(Case, Source.kind, Source.config)
        .outerjoin(Comment, Comment.id == Case.first_comment_id)
        .outerjoin(Source, Source.id == Comment.source_id)
        .where(in_year, requests).order_by(Case.id)).all()
    satisfaction: dict[int, str] = {}
    for case_id, data in session.execute(
            select(CaseEvent.case_id, CaseEvent.data).join(Case, Case.id == CaseEvent.case_id)
            .where(in_year, CaseEvent.action == Action.FOLLOW_UP, CaseEvent.at <= now)
            .order_by(CaseEvent.at, CaseEvent.id)):
        choice = (data or {}).get("satisfaction")
        satisfaction[case_id] = choice if choice in SATISFACTION else NOT_RECORDED  # the latest wins
    cases = []
    for case, kind, config in rows:
        channel = (config or {}).get("import", kind) if kind == IMPORT_KIND else (kind or "unknown")
        replied_at = case.first_reply_at if case.first_reply_at and case.first_reply_at <= now else None
        cases.append(YearCase(
            id=case.id, title=mask_text(case.title), channel=channel, status=case.status,
            severity=case.severity, first_seen_at=case.first_seen_at, first_reply_at=replied_at,
            replied_on_time=case.replied_on_time if replied_at else None,
            satisfaction=satisfaction.get(case.id)))
    inputs = load_inputs(session, year)
    counted = disclosure.table3(session, start, end, now)
    if counted is not None:  # the requests are recorded: table 三 is theirs, not the form's
        inputs.update(counted.values())
    return AnnualReport(year=year, timezone=tz, bureau=bureau, start=start, end=end, as_of=now,
                        cases=cases, inputs=inputs, calendar_note=calendar_note(year),
                        problems=fmt.check(inputs),
                        table3_cases=counted.cells if counted is not None else None)
