"""The figures of the overview (舆情态势): what came in over a period, and what needs doing now.

Pure reading, nothing here writes. Every function returns plain dataclasses (with `as_dict()`
for JSON), so the dashboard's overview page and the JSON API (`GET /api/stats`) show the same
numbers from the same code.

`overview(session, start, end, tz, now, department_id=None)` is the entry point:

- `start`, `end`: aware datetimes, the period [start, end); `period_bounds()` turns local dates
  into them, `parse_period()` checks a custom range typed by a person;
- `tz`: the installation's time zone (HUIYING_TIMEZONE): days are local days;
- `now`: the moment the figures are as of: nothing first seen or replied after it counts, and
  the "now" figures (overdue, due soon) are taken at it;
- `department_id`: only that department's cases (and their comments); None: the whole bureau.

What counts, as docs/overview.md says to readers:

- a case belongs to the day it was **first seen** (`Case.first_seen_at`: when the public wrote),
  never to when Huiying stored it; cases merged into another (合并) are not counted again;
- comment volume and sentiment count the relevant comments by when they were published
  (`Comment.published_at`, the fetch time when a source gives none);
- response figures follow docs/figures.md: needing an answer = not 不予处理 / 合并; replied =
  with a first reply (`Case.first_reply_at`); on time = `Case.replied_on_time`; on-time rate =
  on time ÷ replied; response time = first reply − first seen;
- overdue and due within 24 h are the cases' state at `now`, whenever they were first seen
  (the shared definitions in huiying/workflow.py).

Hot words are not here: segmenting a period's comments is no per-request work (see
huiying/trends.py and the dashboard's cache).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Date, case, cast, extract, func, literal, select
from sqlalchemy.orm import Session

from huiying.errors import InputError
from huiying.masking import mask_text
from huiying.models import Case, CaseStatus, Comment, Department, Severity, Source
from huiying.workflow import NOT_TO_ANSWER, awaiting_answer, due_within, overdue

DUE_SOON_HOURS = 24
MAX_DAYS = 366  # a custom range: at most a year (and a day, for leap years)
ATTENTION_LIMIT = 50
# Upper bounds (hours) of the response-time classes; the last class is open-ended.
RESPONSE_BOUNDS = (1, 5, 24, 48, 168)
NO_TOPIC = "未归类"
NO_DEPARTMENT = "未分派"
URGENT = (Severity.MAJOR, Severity.SERIOUS)


def N_(message: str) -> str:  # marks a message for the dashboard's catalog (babel.cfg)
    return message


class PeriodError(InputError):
    """A custom range that cannot be shown; str() is the Chinese sentence, `template` and
    `params` let the dashboard show it in the UI language (like WorkflowError)."""

    def __init__(self, field_name: str, template: str, **params: Any) -> None:
        self.field, self.template, self.params = field_name, template, params
        super().__init__(template % params if params else template)


def parse_period(start_text: str | None, end_text: str | None, today: date,
                 max_days: int = MAX_DAYS) -> tuple[date, date]:
    """Two local dates 'YYYY-MM-DD' (both included) → (first, last), or PeriodError naming the
    field ('from' or 'to') and saying what to change."""
    days = []
    for name, text in (("from", start_text), ("to", end_text)):
        text = (text or "").strip()
        if not text:
            raise PeriodError(name, N_("请填写开始日期和结束日期。"))
        try:
            days.append(date.fromisoformat(text))
        except ValueError:
            raise PeriodError(name, N_("日期“%(value)s”无效，格式应为 YYYY-MM-DD，例如 2026-10-01。"),
                              value=text[:20]) from None
    first, last = days
    if first > last:
        raise PeriodError("from", N_("开始日期不能晚于结束日期。"))
    if first > today:
        raise PeriodError("from", N_("开始日期不能晚于今天。"))
    if (last - first).days + 1 > max_days:
        raise PeriodError("to", N_("时间范围最长 %(days)s 天，请缩短。"), days=max_days)
    return first, last


def period_bounds(first: date, last: date, tz: str) -> tuple[datetime, datetime]:
    """Local days first..last (both included) → the UTC instants [start, end)."""
    zone = ZoneInfo(tz)
    start = datetime.combine(first, datetime.min.time(), tzinfo=zone)
    end = datetime.combine(last + timedelta(days=1), datetime.min.time(), tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC)


def local_days(start: datetime, end: datetime, tz: str) -> list[date]:
    """The local dates the period [start, end) touches, in order."""
    zone = ZoneInfo(tz)
    first = start.astimezone(zone).date()
    last = (end - timedelta(microseconds=1)).astimezone(zone).date()
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


@dataclass(frozen=True)
class DepartmentFigures:
    """One department's response figures for the cases first seen in the period."""

    id: int | None
    name: str
    needing_answer: int
    replied: int
    on_time: int
    overdue: int  # of these cases, unanswered and past due at `now`

    @property
    def on_time_rate(self) -> float | None:
        return self.on_time / self.replied if self.replied else None

    @property
    def response_rate(self) -> float | None:
        return self.replied / self.needing_answer if self.needing_answer else None

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "needing_answer": self.needing_answer,
                "replied": self.replied, "on_time": self.on_time, "overdue": self.overdue,
                "on_time_rate": _round(self.on_time_rate), "response_rate": _round(self.response_rate)}


@dataclass(frozen=True)
class ResponseClass:
    """Replied cases whose response time was in [low, high) hours (high None: no bound)."""

    low: int
    high: int | None
    count: int


@dataclass(frozen=True)
class Overview:
    start: datetime
    end: datetime
    timezone: str
    now: datetime
    department_id: int | None
    days: list[date]
    new_cases: dict[str, list[int]]  # severity → new cases per day (same order as `days`)
    comments: list[int]  # relevant comments per day
    negative: list[int]  # of them, negative
    by_source: list[tuple[str, int]]  # relevant comments per source, most first
    by_topic: list[tuple[str, int]]  # new cases per topic, most first
    overdue: int  # now: unanswered and past due
    due_soon: int  # now: unanswered and due within DUE_SOON_HOURS
    departments: list[DepartmentFigures]  # best on-time rate first; without replies last
    response_times: list[ResponseClass]
    median_response_hours: float | None = None

    @property
    def new_case_total(self) -> int:
        return sum(sum(counts) for counts in self.new_cases.values())

    @property
    def negative_share(self) -> list[float | None]:
        return [n / c if c else None for n, c in zip(self.negative, self.comments, strict=True)]

    @property
    def negative_share_total(self) -> float | None:
        total = sum(self.comments)
        return sum(self.negative) / total if total else None

    @property
    def replied(self) -> int:
        return sum(d.replied for d in self.departments)

    @property
    def on_time(self) -> int:
        return sum(d.on_time for d in self.departments)

    @property
    def on_time_rate(self) -> float | None:
        return self.on_time / self.replied if self.replied else None

    def as_dict(self) -> dict[str, Any]:
        zone = ZoneInfo(self.timezone)
        return {
            "from": self.start.astimezone(zone).isoformat(),
            "to": self.end.astimezone(zone).isoformat(),
            "timezone": self.timezone,
            "as_of": self.now.astimezone(zone).isoformat(),
            "department_id": self.department_id,
            "days": [day.isoformat() for day in self.days],
            "new_cases": {"total": self.new_case_total, "by_severity": self.new_cases},
            "comments": {"total": sum(self.comments), "per_day": self.comments,
                         "negative_per_day": self.negative,
                         "negative_share_per_day": [_round(v) for v in self.negative_share],
                         "negative_share": _round(self.negative_share_total)},
            "by_source": [{"name": name, "count": count} for name, count in self.by_source],
            "by_topic": [{"name": name, "count": count} for name, count in self.by_topic],
            "overdue": self.overdue,
            "due_within_24h": self.due_soon,
            "on_time_rate": _round(self.on_time_rate),
            "departments": [d.as_dict() for d in self.departments],
            "response_times": [{"from_hours": r.low, "to_hours": r.high, "count": r.count}
                               for r in self.response_times],
            "median_response_hours": _round(self.median_response_hours, 1),
        }


def overview(session: Session, start: datetime, end: datetime, tz: str, now: datetime,
             department_id: int | None = None) -> Overview:
    """Every chart's numbers for the period [start, end), as of `now` (see the module's text)."""
    days = local_days(start, end, tz)
    position = {day: n for n, day in enumerate(days)}
    day_of = _day_key(session, Case.first_seen_at, tz, days)
    new_cases = {str(s): [0] * len(days) for s in Severity}
    for key, severity, count in session.execute(
            select(day_of, Case.severity, func.count())
            .where(*_new_cases(start, end, now, department_id)).group_by(day_of, Case.severity)):
        new_cases.setdefault(severity, [0] * len(days))[position.get(key, key)] += count

    comment_day = _day_key(session, _written_at(), tz, days)
    comments, negative = [0] * len(days), [0] * len(days)
    is_negative = case((Comment.sentiment_label == "negative", 1), else_=0)
    for key, count, negatives in session.execute(
            _comments(select(comment_day, func.count(), func.sum(is_negative)),
                      start, end, now, department_id).group_by(comment_day)):
        comments[position.get(key, key)] += count
        negative[position.get(key, key)] += negatives or 0

    source_name = func.coalesce(func.nullif(Source.title, ""), Source.name)
    by_source = [(name, count) for name, count in session.execute(
        _comments(select(source_name, func.count()), start, end, now, department_id)
        .join(Source, Comment.source_id == Source.id)
        .group_by(source_name).order_by(func.count().desc(), source_name))]
    topic = func.coalesce(Case.topic, NO_TOPIC)
    by_topic = [(name, count) for name, count in session.execute(
        select(topic, func.count()).where(*_new_cases(start, end, now, department_id))
        .group_by(topic).order_by(func.count().desc(), topic))]

    late, soon = due_counts(session, now, department_id)
    return Overview(
        start=start, end=end, timezone=tz, now=now, department_id=department_id, days=days,
        new_cases=new_cases, comments=comments, negative=negative,
        by_source=by_source, by_topic=by_topic, overdue=late, due_soon=soon,
        departments=department_figures(session, start, end, now, department_id),
        response_times=response_times(session, start, end, now, department_id),
        median_response_hours=median_response_hours(session, start, end, now, department_id),
    )


def due_counts(session: Session, now: datetime, department_id: int | None = None) -> tuple[int, int]:
    """(overdue, due within DUE_SOON_HOURS) at `now`: unanswered cases, whenever first seen."""
    return (_count(session, overdue(now), department_id),
            _count(session, due_within(now, DUE_SOON_HOURS), department_id))


def department_figures(session: Session, start: datetime, end: datetime, now: datetime,
                       department_id: int | None = None) -> list[DepartmentFigures]:
    """Per department (None: not assigned, 未分派), the response figures of the cases first
    seen in [start, end) that need an answer; ranked by on-time rate, then by replies."""
    replied = replied_by(now)
    on_time = replied & Case.replied_on_time.is_(True)
    late = overdue(now)
    rows = session.execute(
        select(Case.department_id, Department.name, func.count(),
               func.sum(case((replied, 1), else_=0)), func.sum(case((on_time, 1), else_=0)),
               func.sum(case((late, 1), else_=0)))
        .outerjoin(Department, Case.department_id == Department.id)
        .where(*_in_period(start, end, now, department_id), Case.status.not_in(NOT_TO_ANSWER))
        .group_by(Case.department_id, Department.name))
    figures = [DepartmentFigures(id=dept, name=name or NO_DEPARTMENT, needing_answer=total,
                                 replied=r or 0, on_time=t or 0, overdue=o or 0)
               for dept, name, total, r, t, o in rows]
    return sorted(figures, key=lambda f: (f.on_time_rate is None, -(f.on_time_rate or 0),
                                          -f.replied, f.id is None, f.name))


def response_times(session: Session, start: datetime, end: datetime, now: datetime,
                   department_id: int | None = None) -> list[ResponseClass]:
    """How many replied cases of the period took <1 h, 1–5 h, 5–24 h, 24–48 h, 2–7 days, more,
    from first seen to first reply."""
    hours = hours_between(session, Case.first_seen_at, Case.first_reply_at)
    bucket = case(*((hours < bound, n) for n, bound in enumerate(RESPONSE_BOUNDS)),
                  else_=len(RESPONSE_BOUNDS))
    counts = dict(session.execute(
        select(bucket, func.count())
        .where(*_in_period(start, end, now, department_id), Case.status.not_in(NOT_TO_ANSWER),
               replied_by(now)).group_by(bucket)).all())
    lows = (0, *RESPONSE_BOUNDS)
    highs = (*RESPONSE_BOUNDS, None)
    return [ResponseClass(low, high, counts.get(n, 0)) for n, (low, high) in enumerate(zip(lows, highs,
                                                                                             strict=True))]


def median_response_hours(session: Session, start: datetime, end: datetime, now: datetime,
                          department_id: int | None = None) -> float | None:
    """The median hours from first seen to first reply of the period's replied cases."""
    hours = hours_between(session, Case.first_seen_at, Case.first_reply_at)
    query = (select(hours).where(*_in_period(start, end, now, department_id),
                                 Case.status.not_in(NOT_TO_ANSWER), replied_by(now)))
    count = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    if not count:
        return None
    middle = list(session.scalars(query.order_by(hours).offset((count - 1) // 2).limit(2 - count % 2)))
    return float(sum(middle) / len(middle))


@dataclass(frozen=True)
class CaseDue:
    """One open case with its time left, as the 需要处理 panel and a department's list show it."""

    id: int
    title: str  # masked
    severity: str
    status: str
    department: str | None
    first_seen_at: datetime
    due_at: datetime | None
    answered: bool  # replied already (waiting for the press office's follow-up or closing)

    def seconds_left(self, now: datetime) -> float | None:
        return None if self.due_at is None else (self.due_at - now).total_seconds()

    def as_dict(self, now: datetime) -> dict[str, Any]:
        left = self.seconds_left(now)
        return {"id": self.id, "title": self.title, "severity": self.severity, "status": self.status,
                "department": self.department, "first_seen_at": self.first_seen_at.isoformat(),
                "due_at": self.due_at.isoformat() if self.due_at else None,
                "seconds_left": None if left is None else int(left), "answered": self.answered}


@dataclass(frozen=True)
class CaseList:
    total: int  # how many there are; `cases` holds the first ones
    cases: list[CaseDue]

    def as_dict(self, now: datetime) -> dict[str, Any]:
        return {"total": self.total, "cases": [c.as_dict(now) for c in self.cases]}


def attention(session: Session, now: datetime, department_id: int | None = None,
              limit: int = ATTENTION_LIMIT) -> CaseList:
    """需要处理: cases with no answer yet that are 重大/较大, overdue, or due within
    DUE_SOON_HOURS; least time left first (overdue first), cases without a due time last."""
    needs_care = Case.severity.in_(URGENT) | (Case.due_at < now + timedelta(hours=DUE_SOON_HOURS))
    return _case_list(session, [awaiting_answer(), needs_care], department_id, limit, now)


def open_cases(session: Session, now: datetime, department_id: int, limit: int = 200) -> CaseList:
    """A department's open cases: those still to answer by time left (overdue first), then the
    answered ones waiting for the press office to follow up or close."""
    return _case_list(session, [Case.status.in_(_OPEN)], department_id, limit, now)


_OPEN = [s for s in CaseStatus if s not in {CaseStatus.CLOSED, *NOT_TO_ANSWER}]


def _case_list(session: Session, where: list, department_id: int | None, limit: int,
               now: datetime) -> CaseList:
    if department_id is not None:
        where = [*where, Case.department_id == department_id]
    where = [*where, Case.first_seen_at <= now]
    total = session.scalar(select(func.count()).select_from(Case).where(*where)) or 0
    unanswered = awaiting_answer()
    rows = session.execute(
        select(Case.id, Case.title, Case.severity, Case.status, Department.name, Case.first_seen_at,
               Case.due_at, unanswered)
        .outerjoin(Department, Case.department_id == Department.id).where(*where)
        .order_by(case((unanswered, 0), else_=1), Case.due_at.is_(None), Case.due_at,
                  Case.first_seen_at, Case.id)
        .limit(limit))
    return CaseList(total, [CaseDue(id=i, title=mask_text(title), severity=severity, status=status,
                                    department=department, first_seen_at=seen, due_at=due,
                                    answered=not waiting)
                            for i, title, severity, status, department, seen, due, waiting in rows])


# --- the pieces ----------------------------------------------------------------------------

def _in_period(start: datetime, end: datetime, now: datetime, department_id: int | None) -> list:
    where = [Case.first_seen_at >= start, Case.first_seen_at < end, Case.first_seen_at <= now]
    if department_id is not None:
        where.append(Case.department_id == department_id)
    return where


def _new_cases(start: datetime, end: datetime, now: datetime, department_id: int | None) -> list:
    # A merged case's comments went to the case it joined, which is counted.
    return [*_in_period(start, end, now, department_id), Case.status != CaseStatus.MERGED]


def _written_at() -> ColumnElement:
    """When the public wrote a comment: its published time, else when it was fetched."""
    return func.coalesce(Comment.published_at, Comment.fetched_at)


def _comments(query, start: datetime, end: datetime, now: datetime, department_id: int | None):
    written = _written_at()
    query = query.select_from(Comment).where(Comment.relevant.is_(True), written >= start, written < end,
                                              written <= now)
    if department_id is not None:
        query = query.join(Case, Comment.case_id == Case.id).where(Case.department_id == department_id)
    return query


def replied_by(now: datetime) -> ColumnElement:
    """Has a first reply given by `now` (a reply after a report's moment does not count)."""
    return Case.first_reply_at.is_not(None) & (Case.first_reply_at <= now)


def _count(session: Session, clause: ColumnElement, department_id: int | None) -> int:
    query = select(func.count()).select_from(Case).where(clause)
    if department_id is not None:
        query = query.where(Case.department_id == department_id)
    return session.scalar(query) or 0


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def _day_key(session: Session, column, tz: str, days: list[date]) -> ColumnElement:
    """The local day of a UTC time column, as a date (PostgreSQL converts with its zone
    database) or as the day's position in `days` (SQLite has no zone database: the row's day is
    found among the local midnights, computed here with zoneinfo)."""
    if _dialect(session) == "postgresql":
        return cast(func.timezone(tz, column), Date)
    zone = ZoneInfo(tz)
    midnights = [datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=zone)
                 for day in days[:-1]]
    if not midnights:
        return literal(0)
    return case(*((column < bound, n) for n, bound in enumerate(midnights)), else_=len(midnights))


def hours_between(session: Session, earlier, later) -> ColumnElement:
    """Hours from `earlier` to `later` (two time columns) as a number, in either dialect."""
    if _dialect(session) == "postgresql":
        return extract("epoch", later - earlier) / 3600.0
    return (func.julianday(later) - func.julianday(earlier)) * 24.0


def _round(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(value, digits)
