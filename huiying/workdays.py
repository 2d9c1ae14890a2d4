"""The installation's working-day calendar: chinesecalendar plus the admin's overrides.

Overrides are append-only rows (`CalendarOverride`): the newest row of a day counts. A year's
official holiday notice (国务院办公厅关于部分节假日安排的通知) is entered as a whole — its
holidays, its 调休 make-up working days and a `CalendarNotice` row — and from then on the year
counts as covered: its other days are ordinary days (Monday–Friday working). One override on its
own covers that day only. See docs/clocks.md, "Overrides and holiday notices".

Every `WorkCalendar` a clock uses is built here (`work_calendar`), so the overrides apply to
cases, the `huiying clock` command and the dashboard alike.
"""

from __future__ import annotations

import getpass
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from huiying.clocks import WorkCalendar, covered_years
from huiying.errors import InputError
from huiying.models import CalendarNotice, CalendarOverride, Case, CaseEvent, utcnow

MAX_RANGE_DAYS = 366
NOTE_CHARS = 200
# A notice may reach into the neighbouring years: 元旦 can start on 30 December, and a 调休 day of
# the next year's Spring Festival can fall in late January.
NOTICE_MARGIN = timedelta(days=45)
RANGE_SEPARATORS = ("~", "～", "至", "..")
CALENDAR_MISSING = "calendar_missing"  # huiying.workflow.SystemAction.CALENDAR_MISSING


def N_(message: str) -> str:  # marks a message for the dashboard's catalog (babel.cfg)
    return message


class CalendarError(InputError):
    """Bad calendar input: str() is the sentence for the command line; `template` (Chinese,
    translated by the dashboard) and `params` are the same sentence for the admin form."""

    def __init__(self, english: str, template: str, **params: object) -> None:
        self.template, self.params = template, {k: str(v) for k, v in params.items()}
        super().__init__(english)


def work_calendar(session: Session) -> WorkCalendar:
    """The calendar every clock of this installation uses."""
    return WorkCalendar(effective_overrides(session), notice_years(session))


def _newest(session: Session) -> dict[date, CalendarOverride]:
    newest: dict[date, CalendarOverride] = {}
    for row in session.scalars(select(CalendarOverride).order_by(CalendarOverride.id)):
        newest[row.day] = row
    return newest


def effective_overrides(session: Session) -> dict[date, bool]:
    """Day → working day or not, from the newest row of each day (withdrawn days left out)."""
    return {day: row.is_working_day for day, row in _newest(session).items()
            if row.is_working_day is not None}


def calendar_rows(session: Session) -> list[dict]:
    """The overrides in force, by day: what, why, who and when."""
    return [{"day": day, "is_working_day": row.is_working_day, "note": row.note,
             "created_by": row.created_by, "created_at": row.created_at}
            for day, row in sorted(_newest(session).items()) if row.is_working_day is not None]


def history(session: Session, limit: int = 200) -> list[CalendarOverride]:
    """Every change, newest first: the record of who changed the calendar."""
    return list(session.scalars(select(CalendarOverride).order_by(CalendarOverride.id.desc())
                                .limit(limit)))


def notice_years(session: Session) -> set[int]:
    return set(session.scalars(select(CalendarNotice.year)))


def cli_author() -> str:
    """Who made a change from the command line: the login of the server account."""
    try:
        return f"cli:{getpass.getuser()}"[:80]
    except (KeyError, OSError):  # no passwd entry (a container's uid)
        return "cli"


def days_between(first: date, last: date) -> list[date]:
    if last < first:
        raise CalendarError(f"the range {first} to {last} ends before it starts.",
                            N_("%(first)s 至 %(last)s：结束日期早于开始日期。"), first=first, last=last)
    if (last - first).days >= MAX_RANGE_DAYS:
        raise CalendarError(f"the range {first} to {last} is longer than a year; enter it in parts.",
                            N_("%(first)s 至 %(last)s 超过一年，请分段录入。"), first=first, last=last)
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def add_overrides(session: Session, days: Iterable[date], working: bool | None, note: str,
                  author: str) -> int:
    """Record `working` for each day (None withdraws the override); return the rows added."""
    now = utcnow()
    rows = [CalendarOverride(day=day, is_working_day=working, note=note.strip()[:NOTE_CHARS],
                             created_by=author[:80], created_at=now) for day in days]
    session.add_all(rows)
    session.flush()
    return len(rows)


WORKING_LABELS = {False: "放假", True: "上班", None: "按官方日历"}


def audit_days(session: Session, actor_id: int | None, author: str, days: list[date],
               working: bool | None, note: str) -> None:
    """A calendar change moves every due time after it: who made it belongs in the audit log."""
    from huiying.audit import record  # the audit log reads the models only; kept local like waiting_cases

    first, last = days[0].isoformat(), days[-1].isoformat()
    record(session, actor_id, "calendar.days", "calendar", first,
           f"{author}：{first} 至 {last} 设为{WORKING_LABELS[working]}",
           {"first": first, "last": last, "working": working, "note": note, "author": author})


def audit_notice(session: Session, actor_id: int | None, author: str, summary: dict[str, int]) -> None:
    from huiying.audit import record

    record(session, actor_id, "calendar.notice", "calendar", summary["year"],
           f"{author}：录入 {summary['year']} 年节假日安排（放假 {summary['holidays']} 天，"
           f"调休上班 {summary['workdays']} 天）", {**summary, "author": author})


# --- a year's notice from a file ---------------------------------------------------------------

@dataclass
class Notice:
    """What a State Council holiday notice says: days off and 调休 working days, each named."""

    year: int
    title: str = ""
    holidays: list[tuple[date, str]] = field(default_factory=list)
    workdays: list[tuple[date, str]] = field(default_factory=list)


def parse_date(value: object, where: str) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value).strip().replace("/", "-").replace(".", "-")
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise CalendarError(f"{where}: {value!r} is not a date like 2027-01-01.",
                            N_("“%(value)s”不是日期，请写成 2027-01-01 这样的格式。"), value=value) from None


def parse_days(value: object, where: str) -> list[date]:
    """One date, a range 'first ~ last' (also 至 or ..), or a list of those."""
    if isinstance(value, list):
        return [day for item in value for day in parse_days(item, where)]
    if isinstance(value, str):
        for separator in RANGE_SEPARATORS:
            if separator in value:
                first, _, last = value.partition(separator)
                return days_between(parse_date(first, where), parse_date(last, where))
    return [parse_date(value, where)]


NAMED_LINE = re.compile(r"^(?P<name>[^\d:：]*?)[\s:：]*(?P<days>\d.*)$")


def parse_lines(text: str, where: str) -> list[tuple[date, str]]:
    """Lines like "春节 2027-02-06 ~ 2027-02-13" or "2027-02-14": (day, name) pairs."""
    found: list[tuple[date, str]] = []
    for number, line in enumerate((text or "").splitlines(), 1):
        line = line.strip()
        if not line:
            continue
        match = NAMED_LINE.match(line)
        if match is None:
            raise CalendarError(f"{where}, line {number}: {line!r} has no date; write e.g. "
                                "“春节 2027-02-06 ~ 2027-02-13”.",
                                N_("“%(value)s”中没有日期，请写成“春节 2027-02-06 ~ 2027-02-13”。"),
                                value=line)
        days = parse_days(match["days"], f"{where}, line {number}")
        found += [(day, match["name"].strip()) for day in days]
    return found


def _named_days(section: object, name: str, path: Path) -> Iterator[tuple[date, str]]:
    if section is None:
        return
    if isinstance(section, dict):
        for label, value in section.items():
            for day in parse_days(value, f"{path.name}, {name} {label}"):
                yield day, str(label)
    elif isinstance(section, list):
        for day in parse_days(section, f"{path.name}, {name}"):
            yield day, ""
    else:
        raise InputError(f"{path.name}: {name} must be a list of dates or a mapping of names to dates.")


def load_notice(path: Path) -> Notice:
    """Read a notice file (docs/clocks.md); anything wrong is one sentence naming the place."""
    try:
        data = yaml.safe_load(path.read_text("utf-8"))
    except FileNotFoundError:
        raise InputError(f"no such file: {path}.") from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(f"{path.name} is not a readable YAML file ({reason}).") from None
    except ValueError as exc:  # YAML read 2027-01-32 as a date
        raise InputError(f"{path.name} holds an impossible date ({exc}).") from None
    if not isinstance(data, dict) or not isinstance(data.get("year"), int):
        raise InputError(f"{path.name} must start with the year of the notice, e.g. `year: 2027`.")
    unknown = sorted(set(data) - {"year", "title", "holidays", "workdays"})
    if unknown:
        raise InputError(f"{path.name}: unknown key {', '.join(map(str, unknown))}; "
                         "use year, title, holidays and workdays.")
    notice = Notice(year=data["year"], title=str(data.get("title") or "")[:NOTE_CHARS],
                    holidays=list(_named_days(data.get("holidays"), "holidays", path)),
                    workdays=list(_named_days(data.get("workdays"), "workdays", path)))
    check_notice(notice, path.name)
    return notice


def check_notice(notice: Notice, where: str) -> None:
    if not notice.holidays:
        raise CalendarError(f"{where}: the notice of {notice.year} lists no holidays.",
                            N_("%(year)s 年的节假日安排中没有放假日期。"), year=notice.year)
    first = date(notice.year, 1, 1) - NOTICE_MARGIN
    last = date(notice.year, 12, 31) + NOTICE_MARGIN
    outside = [d for d, _ in notice.holidays + notice.workdays if not first <= d <= last]
    if outside:
        raise CalendarError(f"{where}: {outside[0]} is not near the year {notice.year}; "
                            "check the year of each date.",
                            N_("%(day)s 不在 %(year)s 年前后，请检查日期的年份。"),
                            day=outside[0], year=notice.year)
    both = sorted({d for d, _ in notice.holidays} & {d for d, _ in notice.workdays})
    if both:
        raise CalendarError(f"{where}: {both[0]} is both a holiday and a working day.",
                            N_("%(day)s 既是放假日又是调休上班日。"), day=both[0])


def enter_notice(session: Session, notice: Notice, author: str) -> dict[str, int]:
    """Record a year's notice: its days as overrides, and the year as covered."""
    label = f"{notice.year}年节假日安排"
    # One note per day naming the holiday: "2027年节假日安排：春节" / "…：春节调休上班".
    added = sum(add_overrides(session, [day], False, f"{label}：{name or '放假'}", author)
                for day, name in notice.holidays)
    added += sum(add_overrides(session, [day], True, f"{label}：{name}调休上班", author)
                 for day, name in notice.workdays)
    recorded = session.scalar(select(CalendarNotice).where(CalendarNotice.year == notice.year))
    if recorded is None:
        session.add(CalendarNotice(year=notice.year, title=notice.title or label, created_by=author[:80]))
    session.flush()
    return {"year": notice.year, "holidays": len(notice.holidays), "workdays": len(notice.workdays),
            "rows": added}


# --- cases waiting for the calendar ----------------------------------------------------------

def waiting_cases(session: Session) -> list[tuple[Case, CaseEvent]]:
    """Open cases without a due time because their working-day clock needed a missing year."""
    from huiying.workflow import CLOSED_STATUSES  # the workflow imports the cases, which import us

    events = session.scalars(select(CaseEvent).join(Case).where(
        CaseEvent.action == CALENDAR_MISSING, Case.due_at.is_(None),
        Case.status.not_in(CLOSED_STATUSES)).order_by(CaseEvent.id))
    newest: dict[int, CaseEvent] = {}
    for event in events:
        newest[event.case_id] = event
    return [(event.case, event) for event in newest.values()]


def start_waiting_clocks(session: Session, tz: str) -> int:
    """Give the cases waiting for the calendar their due times where it now has the days
    (through the workflow, the one writer of case state)."""
    from huiying.workflow import start_waiting_clock

    calendar = work_calendar(session)
    started = sum(start_waiting_clock(session, case, calendar, tz) for case, _ in waiting_cases(session))
    session.flush()
    return started


def coverage(session: Session, years: Iterable[int]) -> dict[int, str]:
    """Per year: "package" (chinesecalendar has it), "notice" (entered), or "missing"."""
    first, last = covered_years()
    entered = notice_years(session)
    return {year: "package" if first <= year <= last else "notice" if year in entered else "missing"
            for year in years}
