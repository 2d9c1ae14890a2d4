"""Response clocks: elapsed hours for 政务舆情, statutory working days for hotline-style cases.

Two clocks (docs/clocks.md):

- `due_after_hours`: elapsed time, 24 hours a day, weekends and holidays included
  (国办发〔2016〕61号: a major incident within 5 h, other 舆情 within 48 h).
- `due_after_working_days`: statutory working days from the official calendar
  (`chinesecalendar`: State Council holidays and 调休 make-up days) plus an admin's overrides.
  The day of receipt does not count: day 1 is the first working day after it, and the case is
  due at the end (23:59:59 local) of the last working day.

A year the calendar does not know raises `CalendarMissing`; there is no Mon–Fri fallback,
because a guessed calendar gives wrong deadlines around every holiday.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo

import chinese_calendar

from huiying.errors import HuiyingError

DEFAULT_TIMEZONE = "Asia/Shanghai"

# The design's default periods per hotline case type (DESIGN.md §6); local 12345 rules vary,
# so callers should read these from configuration once there is one.
STATUTORY_WORKING_DAYS = {"咨询": 3, "投诉": 13, "建议": 13, "依申请公开": 20}

END_OF_DAY = time(23, 59, 59)


class CalendarMissing(HuiyingError):
    """The working-day calendar does not cover a day that a clock needs."""

    def __init__(self, year: int) -> None:
        self.year = year
        first, last = covered_years()
        if year > last:
            what = (f"enter the State Council's {year} holiday notice (`huiying calendar add --file "
                    f"notice.yml` or the dashboard's 工作日历 page), or upgrade chinesecalendar once "
                    f"a release has {year}")
        else:
            what = f"enter the {year} holiday notice with `huiying calendar add --file notice.yml`"
        super().__init__(f"the working-day calendar has no data for {year} (chinesecalendar "
                         f"{_package_version()} covers {first}–{last}); {what}.")


def covered_years() -> tuple[int, int]:
    """First and last year the installed chinesecalendar knows."""
    years = [day.year for day in chinese_calendar.holidays]
    return min(years), max(years)


def _package_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("chinesecalendar")
    except PackageNotFoundError:  # pragma: no cover - imported from a source checkout
        return "(unknown version)"


class WorkCalendar:
    """Which days are working days: chinesecalendar, corrected by `overrides`.

    `overrides` maps a date to True (a working day) or False (a day off); it wins over the
    package, so an admin can add a local day off, correct a late State Council change or
    enter a year the installed package does not know yet.

    `notice_years` are the years whose official holiday notice has been entered as overrides
    (huiying/workdays.py): there, a day without an override is an ordinary day, Monday–Friday
    working, as the notice leaves it. Any other year the package does not know raises
    `CalendarMissing` for a day without an override.
    """

    def __init__(self, overrides: Mapping[date, bool] | None = None,
                 notice_years: Iterable[int] = ()) -> None:
        self.overrides = dict(overrides or {})
        self.notice_years = frozenset(notice_years)
        for day, value in self.overrides.items():
            if isinstance(day, datetime) or not isinstance(day, date) or not isinstance(value, bool):
                raise TypeError(f"overrides map a date to True or False, got {day!r}: {value!r}")

    def is_workday(self, day: date) -> bool:
        if day in self.overrides:
            return self.overrides[day]
        try:
            return chinese_calendar.is_workday(day)
        except NotImplementedError:
            if day.year in self.notice_years:
                return day.weekday() < 5
            raise CalendarMissing(day.year) from None

    def covers(self, year: int) -> bool:
        """Whether every day of `year` is known: the package has the year, or its notice is in."""
        first, last = covered_years()
        return first <= year <= last or year in self.notice_years


def _zone(tz: str | tzinfo) -> tzinfo:
    return ZoneInfo(tz) if isinstance(tz, str) else tz


def _aware(moment: datetime, name: str) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got {moment!r}")
    return moment


def due_after_hours(start: datetime, hours: float) -> datetime:
    """`hours` of elapsed time after `start`, in the time zone of `start`.

    Elapsed, not wall-clock arithmetic: across a DST change (not in Asia/Shanghai, which has
    none since 1991) 5 hours are still 5 real hours.
    """
    _aware(start, "start")
    if isinstance(hours, bool) or not math.isfinite(hours) or hours <= 0:
        raise ValueError(f"hours must be a positive number, got {hours!r}")
    return (start.astimezone(UTC) + timedelta(hours=hours)).astimezone(start.tzinfo)


def due_after_working_days(start: datetime, days: int, calendar: WorkCalendar | None = None, *,
                           tz: str | tzinfo = DEFAULT_TIMEZONE) -> datetime:
    """The end (23:59:59 in `tz`) of the `days`-th working day after the day of `start`.

    The day of receipt does not count, whatever the hour and whether or not it is a working
    day: periods counted in days start on the following day (《民法典》第二百零一条), which is
    how 《政府信息公开条例》第三十三条 ("自收到申请之日起20个工作日内") and 12345 hotlines count.
    """
    _aware(start, "start")
    if isinstance(days, bool) or not isinstance(days, int) or days < 1:
        raise ValueError(f"days must be a whole number of at least 1, got {days!r}")
    calendar = calendar or WorkCalendar()
    zone = _zone(tz)
    day, counted = start.astimezone(zone).date(), 0
    while counted < days:
        day += timedelta(days=1)
        counted += calendar.is_workday(day)
    return datetime.combine(day, END_OF_DAY, tzinfo=zone)


def working_days_between(a: datetime | date, b: datetime | date, calendar: WorkCalendar | None = None,
                         *, tz: str | tzinfo = DEFAULT_TIMEZONE) -> int:
    """Working days after the day of `a` up to and including the day of `b` (days in `tz`).

    The same rule as `due_after_working_days`: a reply on the day of receipt took 0 working
    days, one on the next working day 1, and a reply by the due time of an N-day clock at most
    N. Negative when `b` is before `a` (as numpy.busday_count), so bad data stays visible.
    """
    first, last = (_local_date(x, tz) for x in (a, b))
    if last < first:
        return -working_days_between(b, a, calendar, tz=tz)
    calendar = calendar or WorkCalendar()
    return sum(calendar.is_workday(first + timedelta(days=n)) for n in range(1, (last - first).days + 1))


def _local_date(moment: datetime | date, tz: str | tzinfo) -> date:
    if isinstance(moment, datetime):
        return _aware(moment, "a moment").astimezone(_zone(tz)).date()
    return moment
