"""The monthly response-rate figures the leadership reads (docs/figures.md).

`monthly()` counts the cases first seen in one local month and keeps, behind every number,
the ids of the cases it counted, so any figure can be traced back to the cases themselves.
Pure reading: nothing here writes to the database.
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import cached_property
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Row, func, select
from sqlalchemy.orm import Session

from huiying.errors import InputError
from huiying.masking import mask_text
from huiying.models import Case, CaseStatus, Comment, Department, Severity, Source, utcnow
from huiying.stats import hours_between, replied_by
from huiying.workflow import NOT_TO_ANSWER, overdue

NO_DEPARTMENT = "未分派"
NO_TOPIC = "未归类"
MONTH = re.compile(r"(\d{4})-(\d{2})")


def parse_month(text: str) -> date:
    """'2026-10' → date(2026, 10, 1); anything else is an InputError of one sentence."""
    match = MONTH.fullmatch((text or "").strip())
    if not match or not 1 <= int(match.group(2)) <= 12 or not 1970 <= int(match.group(1)) <= 9998:
        raise InputError(f"the month must look like 2026-10 (YYYY-MM, from 1970 on), got {text!r}.")
    return date(int(match.group(1)), int(match.group(2)), 1)


def next_month(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def previous_month(today: date) -> date:
    return date(today.year - (today.month == 1), (today.month - 2) % 12 + 1, 1)


def month_bounds(month: date, tz: str) -> tuple[datetime, datetime]:
    """The UTC instants at which the local month starts and the next one starts."""
    zone = ZoneInfo(tz)
    start = datetime(month.year, month.month, 1, tzinfo=zone)
    end = datetime.combine(next_month(month), datetime.min.time(), tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC)


@dataclass(frozen=True)
class CaseLine:
    """One case of the month as the 明细 sheet lists it; `title` is masked."""

    id: int
    stored_title: str = field(repr=False)  # as the public wrote it: read `title`
    department: str
    status: str
    severity: str
    topic: str
    first_seen_at: datetime
    created_at: datetime
    due_at: datetime | None
    replied_at: datetime | None  # the first official reply, if given by the time of the report
    on_time: bool | None  # whether it came by the due time; None without a reply
    needs_answer: bool
    overdue_unanswered: bool

    @cached_property
    def title(self) -> str:
        # Masked on first use: the figures page never shows titles, and masking a city's
        # month of them (thousands) was half the page's time.
        return mask_text(self.stored_title)

    @property
    def replied(self) -> bool:
        return self.needs_answer and self.replied_at is not None

    @property
    def response_hours(self) -> float | None:
        """Hours from when the public wrote (where every clock starts) to the first reply."""
        if not self.replied:
            return None
        return (self.replied_at - self.first_seen_at).total_seconds() / 3600


@dataclass(frozen=True)
class Counts:
    """The numbers of `Figures` without the ids behind them: what the figures page shows,
    counted in SQL by `monthly_counts` (the exports keep the ids, `monthly`)."""

    name: str
    total: int
    needing_answer: int
    replied: int
    on_time: int
    overdue_unanswered: int
    response_hours: tuple[float, ...]  # of the replied cases

    @property
    def response_rate(self) -> float | None:
        return self.replied / self.needing_answer if self.needing_answer else None

    @property
    def on_time_rate(self) -> float | None:
        return self.on_time / self.replied if self.replied else None

    @property
    def mean_response_hours(self) -> float | None:
        return statistics.fmean(self.response_hours) if self.response_hours else None

    @property
    def median_response_hours(self) -> float | None:
        return statistics.median(self.response_hours) if self.response_hours else None


@dataclass(frozen=True)
class Figures:
    """The figures of a set of cases (all of the month, or one department's), with ids."""

    name: str
    total: list[int]
    needing_answer: list[int]
    replied: list[int]
    on_time: list[int]
    overdue_unanswered: list[int]
    response_hours: dict[int, float]
    by_status: dict[str, list[int]]

    @classmethod
    def of(cls, name: str, lines: Iterable[CaseLine]) -> Figures:
        lines = list(lines)  # in id order: `monthly` reads them so
        return cls(
            name=name,
            total=[line.id for line in lines],
            needing_answer=[line.id for line in lines if line.needs_answer],
            replied=[line.id for line in lines if line.replied],
            on_time=[line.id for line in lines if line.replied and line.on_time],
            overdue_unanswered=[line.id for line in lines if line.overdue_unanswered],
            response_hours={line.id: line.response_hours for line in lines if line.replied},
            by_status=_grouped(lines, lambda line: line.status, [str(s) for s in CaseStatus]),
        )

    @cached_property
    def counts(self) -> Counts:
        return Counts(self.name, len(self.total), len(self.needing_answer), len(self.replied),
                      len(self.on_time), len(self.overdue_unanswered), tuple(self.response_hours.values()))

    @property
    def response_rate(self) -> float | None:
        return self.counts.response_rate

    @property
    def on_time_rate(self) -> float | None:
        return self.counts.on_time_rate

    @property
    def mean_response_hours(self) -> float | None:
        return self.counts.mean_response_hours

    @property
    def median_response_hours(self) -> float | None:
        return self.counts.median_response_hours

    def as_dict(self) -> dict[str, Any]:
        def ids(values: list[int]) -> dict[str, Any]:
            return {"count": len(values), "case_ids": values}

        return {
            "name": self.name,
            "total": ids(self.total),
            "needing_answer": ids(self.needing_answer),
            "replied": ids(self.replied),
            "on_time": ids(self.on_time),
            "overdue_unanswered": ids(self.overdue_unanswered),
            "response_rate": _round(self.response_rate, 4),
            "on_time_rate": _round(self.on_time_rate, 4),
            "mean_response_hours": _round(self.mean_response_hours, 1),
            "median_response_hours": _round(self.median_response_hours, 1),
            "response_hours": {str(k): round(v, 2) for k, v in self.response_hours.items()},
            "by_status": {status: ids(values) for status, values in self.by_status.items()},
        }


CHANNEL_NAMES = {"board": "网上留言板", "hotline": "12345 热线", "mailbox": "信箱"}
# The other crawled kinds: named when they have cases, not shown as empty rows (as before).
OTHER_CHANNEL_NAMES = {"feed": "网站订阅（RSS/Atom）", "json_api": "网站数据接口", "forum": "网络论坛",
                       "search": "站内搜索"}


def channel_name(channel: str) -> str:
    """The Chinese name of a channel kind, as the reports print it."""
    names = {**CHANNEL_NAMES, **OTHER_CHANNEL_NAMES}
    return names.get(channel, "其他渠道" if channel == "unknown" else channel)


@dataclass(frozen=True)
class ChannelFigures:
    """What one channel (a source: a board, the hotline import, a mailbox import) received in
    the month, row by row: every comment written in it counts, also those that became no case.

    `replied` and the response hours are per row: a row answered through its case (an
    imported row is a case of its own; a crawled repost shares its case's answer) counts
    from when it was written to the case's first reply; a repost written after the answer
    counts 0 hours."""

    name: str
    title: str
    kind: str
    received: list[int]  # comment ids
    became_cases: list[int]  # comment ids now in a case
    case_ids: list[int]
    not_relevant: list[int]  # analysed, judged not relevant: no case (crawled channels)
    unprocessed: list[int]  # not analysed yet
    not_to_answer: list[int]  # in a case set aside (不予处理) or merged away
    replied: list[int]
    response_hours: dict[int, float]

    @property
    def needing_answer(self) -> list[int]:
        left_out = set(self.not_relevant) | set(self.unprocessed) | set(self.not_to_answer)
        return [i for i in self.received if i not in left_out]

    @property
    def response_rate(self) -> float | None:
        return _ratio(self.replied, self.needing_answer)

    @property
    def median_response_hours(self) -> float | None:
        return _median(self.response_hours)

    def as_dict(self) -> dict[str, Any]:
        def ids(values: list[int]) -> dict[str, Any]:
            return {"count": len(values), "comment_ids": values}

        return {
            "name": self.name, "title": self.title, "kind": self.kind,
            "received": ids(self.received),
            "became_cases": {**ids(self.became_cases), "case_ids": self.case_ids},
            "not_relevant": ids(self.not_relevant),
            "unprocessed": ids(self.unprocessed),
            "not_to_answer": ids(self.not_to_answer),
            "needing_answer": ids(self.needing_answer),
            "replied": ids(self.replied),
            "response_rate": _round(self.response_rate, 4),
            "median_response_hours": _round(self.median_response_hours, 1),
        }


def channels(session: Session, start: datetime, end: datetime, now: datetime) -> list[ChannelFigures]:
    """The month's rows per channel (by when they were written), sources in id order."""
    written = func.coalesce(Comment.published_at, Comment.fetched_at)
    rows = session.execute(
        select(Comment.id, Comment.source_id, written, Comment.processed_at, Comment.case_id,
               Case.status, Case.first_reply_at)
        .outerjoin(Case, Comment.case_id == Case.id)
        .where(written >= start, written < end, written <= now).order_by(Comment.id)).all()
    by_source: dict[int, list] = {}
    for row in rows:
        by_source.setdefault(row[1], []).append(row)
    found = []
    for source in session.scalars(select(Source).where(Source.id.in_(list(by_source))).order_by(Source.id)):
        lines = by_source[source.id]
        replied: dict[int, float] = {}
        for comment_id, _, when, _, case_id, status, reply_at in lines:
            answered = reply_at is not None and reply_at <= now
            if case_id is not None and status not in NOT_TO_ANSWER and answered:
                replied[comment_id] = max((reply_at - when).total_seconds() / 3600, 0.0)
        found.append(ChannelFigures(
            name=source.name, title=source.title or source.name, kind=(source.config or {}).get("import")
            or source.kind,
            received=[line[0] for line in lines],
            became_cases=[line[0] for line in lines if line[4] is not None],
            case_ids=sorted({line[4] for line in lines if line[4] is not None}),
            not_relevant=[line[0] for line in lines if line[3] is not None and line[4] is None],
            unprocessed=[line[0] for line in lines if line[3] is None],
            not_to_answer=[line[0] for line in lines if line[4] is not None and line[5] in NOT_TO_ANSWER],
            replied=list(replied),
            response_hours=replied,
        ))
    return found


@dataclass(frozen=True)
class MonthlyReport:
    month: date
    timezone: str
    start: datetime  # UTC, inclusive
    end: datetime  # UTC, exclusive
    as_of: datetime  # when the report was made: replies after it do not count
    overall: Figures
    by_department: list[Figures]
    by_status: dict[str, list[int]]
    by_severity: dict[str, list[int]]
    by_topic: dict[str, list[int]]
    cases: list[CaseLine] = field(default_factory=list)
    channels: list[ChannelFigures] = field(default_factory=list)

    @property
    def label(self) -> str:
        return self.month.strftime("%Y-%m")

    def local(self, value: datetime | None) -> datetime | None:
        return value.astimezone(ZoneInfo(self.timezone)) if value else None

    def as_dict(self, base_url: str | None = None) -> dict[str, Any]:
        def counted(groups: dict[str, list[int]]) -> dict[str, Any]:
            return {name: {"count": len(ids), "case_ids": ids} for name, ids in groups.items()}

        def iso(value: datetime | None) -> str | None:
            return self.local(value).isoformat() if value else None

        return {
            "month": self.label,
            "timezone": self.timezone,
            "from": iso(self.start),
            "to": iso(self.end),
            "as_of": iso(self.as_of),
            "overall": self.overall.as_dict(),
            "by_department": [figures.as_dict() for figures in self.by_department],
            "by_status": counted(self.by_status),
            "by_severity": counted(self.by_severity),
            "by_topic": counted(self.by_topic),
            "channels": [channel.as_dict() for channel in self.channels],
            "cases": [{
                "id": line.id, "title": line.title, "department": line.department,
                "status": line.status, "severity": line.severity, "topic": line.topic,
                "first_seen_at": iso(line.first_seen_at), "created_at": iso(line.created_at),
                "due_at": iso(line.due_at), "replied_at": iso(line.replied_at),
                "on_time": line.on_time, "needs_answer": line.needs_answer,
                "response_hours": _round(line.response_hours, 2),
                "overdue_unanswered": line.overdue_unanswered,
                **({"link": case_link(base_url, line.id)} if base_url else {}),
            } for line in self.cases],
        }


def case_link(base_url: str, case_id: int) -> str:
    return f"{base_url.rstrip('/')}/cases/{case_id}"


def monthly(session: Session, month: date, tz: str, *, now: datetime | None = None) -> MonthlyReport:
    """The figures of the cases first seen in the local month `month` (its first day), as of
    `now` (default: the present): cases and replies later than `now` do not count; an unanswered
    case is overdue when its due time passed before the month's end or `now`, the earlier."""
    now = now or utcnow()
    start, end = month_bounds(month, tz)
    in_month = (Case.first_seen_at >= start) & (Case.first_seen_at < end) & (Case.first_seen_at <= now)
    # Plain rows, not ORM objects: a month of a city's cases is thousands of them. Overdue:
    # unanswered as of `now` and past the due time by the month's end or `now`, the earlier.
    cases = session.execute(
        select(Case.id, Case.title, Department.name.label("department_name"), Case.status,
               Case.severity, Case.topic, Case.first_seen_at, Case.created_at, Case.due_at,
               Case.first_reply_at, Case.replied_on_time,
               overdue(now, due_before=min(end, now)).label("late"))
        .outerjoin(Department, Case.department_id == Department.id)
        .where(in_month).order_by(Case.id)).all()
    lines = [_line(case, now, bool(case.late)) for case in cases]

    department_order = {name: n for n, name in enumerate(
        session.scalars(select(Department.name).order_by(Department.id)))}
    departments = sorted({line.department for line in lines},
                         key=lambda name: (name == NO_DEPARTMENT, department_order.get(name, 0), name))
    return MonthlyReport(
        month=month, timezone=tz, start=start, end=end, as_of=now,
        overall=Figures.of("全部", lines),
        by_department=[Figures.of(name, (line for line in lines if line.department == name))
                       for name in departments],
        by_status=_grouped(lines, lambda line: line.status, [str(s) for s in CaseStatus]),
        by_severity=_grouped(lines, lambda line: line.severity, [str(s) for s in Severity]),
        by_topic=_grouped(lines, lambda line: line.topic, []),
        cases=lines,
        channels=channels(session, start, end, now),
    )


@dataclass(frozen=True)
class MonthlyCounts:
    """`MonthlyReport`'s numbers without the ids and case lines (the figures page)."""

    month: date
    timezone: str
    start: datetime
    end: datetime
    as_of: datetime
    overall: Counts
    by_department: list[Counts]
    by_status: dict[str, int]
    by_severity: dict[str, int]
    by_topic: dict[str, int]

    @property
    def label(self) -> str:
        return self.month.strftime("%Y-%m")


def monthly_counts(session: Session, month: date, tz: str, *, now: datetime | None = None) -> MonthlyCounts:
    """The numbers of `monthly()` — the same cases, the same rules — counted by the database:
    a city's month is thousands of cases, and the page shows only their counts. Two queries:
    the counts grouped by department, status, severity and topic, and the response hours of
    the replied cases (for means and medians)."""
    now = now or utcnow()
    start, end = month_bounds(month, tz)
    in_month = [Case.first_seen_at >= start, Case.first_seen_at < end, Case.first_seen_at <= now]
    needs = Case.status.not_in(NOT_TO_ANSWER)
    replied = needs & replied_by(now)
    department = func.coalesce(Department.name, NO_DEPARTMENT)
    topic = func.coalesce(func.nullif(Case.topic, ""), NO_TOPIC)
    groups = session.execute(
        select(department, Case.status, Case.severity, topic, func.count(),
               func.count().filter(needs), func.count().filter(replied),
               func.count().filter(replied & Case.replied_on_time.is_(True)),
               func.count().filter(overdue(now, due_before=min(end, now))))
        .outerjoin(Department, Case.department_id == Department.id)
        .where(*in_month).group_by(department, Case.status, Case.severity, topic)).all()
    hours: dict[str, list[float]] = {}
    for name, value in session.execute(
            select(department, hours_between(session, Case.first_seen_at, Case.first_reply_at))
            .outerjoin(Department, Case.department_id == Department.id)
            .where(*in_month, replied).order_by(Case.id)):
        hours.setdefault(name, []).append(float(value))

    sums: dict[str, list[int]] = {}
    for name, *_, total, needing, answered, on_time, late in groups:
        row = sums.setdefault(name, [0] * 5)
        for n, value in enumerate((total, needing, answered, on_time, late)):
            row[n] += value

    def counts(name: str, row: list[int], hours_of: list[float]) -> Counts:
        return Counts(name, *row, tuple(hours_of))

    def tally(position: int, order: list[str]) -> dict[str, int]:
        found: dict[str, int] = {name: 0 for name in order}
        for group in groups:
            found[group[position]] = found.get(group[position], 0) + group[4]
        extra = sorted((k for k in found if k not in order), key=lambda k: (-found[k], k))
        return {k: found[k] for k in [*order, *extra]}

    department_order = {name: n for n, name in enumerate(
        session.scalars(select(Department.name).order_by(Department.id)))}
    names = sorted(sums, key=lambda name: (name == NO_DEPARTMENT, department_order.get(name, 0), name))
    overall = [sum(row[n] for row in sums.values()) for n in range(5)]
    return MonthlyCounts(
        month=month, timezone=tz, start=start, end=end, as_of=now,
        overall=counts("全部", overall, [h for name in names for h in hours.get(name, [])]),
        by_department=[counts(name, sums[name], hours.get(name, [])) for name in names],
        by_status=tally(1, [str(s) for s in CaseStatus]),
        by_severity=tally(2, [str(s) for s in Severity]),
        by_topic=tally(3, []),
    )


def _line(case: Row, now: datetime, late: bool) -> CaseLine:
    replied_at = case.first_reply_at if case.first_reply_at and case.first_reply_at <= now else None
    return CaseLine(
        id=case.id,
        stored_title=case.title,
        department=case.department_name or NO_DEPARTMENT,
        status=case.status,
        severity=case.severity,
        topic=case.topic or NO_TOPIC,
        first_seen_at=case.first_seen_at,
        created_at=case.created_at,
        due_at=case.due_at,
        replied_at=replied_at,
        on_time=case.replied_on_time if replied_at else None,
        needs_answer=case.status not in NOT_TO_ANSWER,
        overdue_unanswered=late,
    )


def _grouped(lines: Iterable[CaseLine], key, order: list[str]) -> dict[str, list[int]]:
    """Case ids by `key`: the names of `order` first (also when empty), then the rest by count."""
    groups: dict[str, list[int]] = {name: [] for name in order}
    for line in lines:
        groups.setdefault(key(line), []).append(line.id)
    extra = sorted((name for name in groups if name not in order), key=lambda n: (-len(groups[n]), n))
    return {name: groups[name] for name in [*order, *extra]}


def _median(hours: dict[int, float]) -> float | None:
    return statistics.median(hours.values()) if hours else None


def _ratio(part: list[int], whole: list[int]) -> float | None:
    return len(part) / len(whole) if whole else None


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)
