"""Facts become rows: the only part of huiying.notify that reads the database for texts.

`scan` looks at what the database holds (events and cases) instead of being called by the code
that changed them, so an assignment by the router, by a press officer or by any later code is
announced the same way. Each fact gives one row per channel and recipient, with a unique key:
scanning the same fact again creates nothing. Texts are rendered (huiying/notify/texts.py) only
for facts that still lack a row, from data loaded here.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, or_, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, selectinload

from huiying.clocks import CalendarMissing, WorkCalendar
from huiying.figures import monthly, previous_month
from huiying.models import Case, CaseEvent, Comment, Department, Notification, Role, Severity, User, utcnow
from huiying.notify.kinds import GROUP_ROBOTS, Channel, Kind
from huiying.notify.texts import (
    BRIEF_OVERDUE_LISTED,
    SPIKE_WINDOW,
    BriefFacts,
    CaseFacts,
    MonthlyFacts,
    Texts,
)
from huiying.settings import Settings
from huiying.trends import hot_words_of_days
from huiying.workflow import DONE_STATUSES, awaiting_answer, overdue, work_calendar

log = logging.getLogger(__name__)

# Events and cases older than this are not looked at again: the scan stays cheap.
HORIZON = timedelta(days=7)
# A reminder goes out when this share of the case's clock (created → due) is left.
REMIND_SHARE = 0.2
ALERT_SEVERITIES = (Severity.MAJOR, Severity.SERIOUS)
KEY_CHARS = 200  # Notification.key
BRIEF_HOT_WORDS = 5
GROUP = "group"  # the recipient of a group robot's row: the one chat group it posts to


@dataclass(frozen=True)
class Person:
    """A user account told in the app (whether or not it has an email address)."""

    id: int
    username: str


@dataclass
class Fact:
    """Something to tell: one text for several recipients, one row per channel and recipient."""

    kind: Kind
    key: str
    recipients: list[str]  # email addresses
    case_id: int | None
    render: Callable[[], tuple[str, str]]  # → (subject, body), only for rows still to create
    users: list[Person] = field(default_factory=list)


def scan(session: Session, settings: Settings, now: datetime | None = None) -> dict[str, int]:
    """Create the notification rows the database's facts call for; return how many emails per
    kind (the in-app and group-robot rows made alongside are only logged)."""
    now = now or utcnow()
    people = Recipients(session)
    loader = Loader(session, settings, now)
    facts = [*_assignments(session, people, loader, now), *_alerts(session, people, loader, now),
             *_spike(session, settings, people, loader, now), *_deadlines(session, people, loader, now),
             *_briefing(settings, people, loader, now), *_monthly_report(settings, people, loader, now),
             *_crawl_incidents(session, people, loader)]
    created = store(session, settings, facts, now)
    session.commit()
    if any(created.values()):
        log.info("notifications created: %s", created)
    return {kind: created[kind] for kind in map(str, Kind)}


def _to_press(people: Recipients, kind: Kind, key: str, case_id: int | None,
              render: Callable[[], tuple[str, str]]) -> Fact:
    emails, users = people.press_office()
    return Fact(kind, key, emails, case_id, render, users)


def _assignments(session: Session, people: Recipients, loader: Loader, now: datetime) -> Iterator[Fact]:
    events = list(session.scalars(
        select(CaseEvent).where(CaseEvent.action == "assign", CaseEvent.at >= now - HORIZON)
        .order_by(CaseEvent.id).options(selectinload(CaseEvent.case))))
    newest = {event.case_id: event.id for event in events}
    for event in events:
        case = event.case
        # An assignment already superseded by another, or a case already done, is not news;
        # the newest assignment is the one that gave the case its current department.
        if newest[case.id] != event.id or case.status in DONE_STATUSES or case.first_reply_at is not None:
            continue
        if case.department is not None:
            emails, users = people.department(case.department)
            yield Fact(Kind.ASSIGN, f"assign:{event.id}", emails, case.id,
                       loader.deferred("assignment", case, event.at, event.note), users)


def _alerts(session: Session, people: Recipients, loader: Loader, now: datetime) -> Iterator[Fact]:
    """The level a case opened with (if it opened recently) and the level it was escalated to
    (if that was recent), for cases still awaiting an answer: a case that opened already
    answered (a board post with its official reply, an imported answered row) alerts nobody."""
    since = now - HORIZON
    cases = session.scalars(select(Case).where(
        awaiting_answer(), or_(Case.created_at >= since, Case.escalated_at >= since)).order_by(Case.id))
    for case in cases:
        levels = []
        if case.created_at >= since:
            levels.append(case.initial_severity or case.severity)
        if case.escalated_at is not None and case.escalated_at >= since:
            levels.append(case.severity)
        for level in dict.fromkeys(levels):
            if level in ALERT_SEVERITIES:
                yield _to_press(people, Kind.ALERT, f"alert:{case.id}:{level}", case.id,
                                loader.deferred("alert", case, str(level)))


def _published():
    """When a comment was written: its publication date, else when it was fetched."""
    return func.coalesce(Comment.published_at, Comment.fetched_at)


def _spike(session: Session, settings: Settings, people: Recipients, loader: Loader,
           now: datetime) -> Iterator[Fact]:
    when = _published()
    rows = session.execute(
        select(Comment.case_id, func.count(Comment.id))
        .where(Comment.relevant.is_(True), Comment.sentiment_label == "negative",
               when > now - SPIKE_WINDOW, when <= now)
        .group_by(Comment.case_id)).all()
    total = sum(n for _, n in rows)
    if total > settings.negative_spike:
        hour = now.astimezone(ZoneInfo(settings.timezone)).strftime("%Y-%m-%dT%H")
        by_case = sorted(((n, case_id) for case_id, n in rows if case_id is not None), reverse=True)
        yield _to_press(people, Kind.SPIKE, f"spike:{hour}", None, lambda: loader.spike(total, by_case[:5]))


def _deadlines(session: Session, people: Recipients, loader: Loader, now: datetime) -> Iterator[Fact]:
    cases = session.scalars(select(Case).where(
        awaiting_answer(), Case.due_at.is_not(None), Case.due_at >= now - HORIZON)
        .order_by(Case.id))
    for case in cases:
        emails, users = people.department(case.department) if case.department else ([], [])
        due = case.due_at.isoformat(timespec="seconds")
        if case.due_at <= now:
            press_emails, press_users = people.press_office()
            yield Fact(Kind.OVERDUE, f"overdue:{case.id}:{due}", unique([*emails, *press_emails]), case.id,
                       loader.deferred("overdue", case), _unique_people([*users, *press_users]))
        # The clock runs from when the public wrote: the reminder comes when a fifth of it is left.
        elif case.due_at - now <= (case.due_at - case.first_seen_at) * REMIND_SHARE:
            # A case nobody has been assigned yet (or whose department has nobody to tell) is
            # the press office's to route.
            if not (emails or users):
                emails, users = people.press_office()
            yield Fact(Kind.REMIND, f"remind:{case.id}:{due}", emails, case.id,
                       loader.deferred("reminder", case), users)


def _briefing(settings: Settings, people: Recipients, loader: Loader, now: datetime) -> Iterator[Fact]:
    """From settings.brief_hour (local time) on: the briefing of the local day before, once."""
    local = now.astimezone(loader.zone)
    if local.hour < settings.brief_hour:
        return
    day = local.date() - timedelta(days=1)
    yield _to_press(people, Kind.BRIEF, f"brief:{day.isoformat()}", None, lambda: loader.brief(day))


def _crawl_incidents(session: Session, people: Recipients, loader: Loader) -> Iterator[Fact]:
    """A source whose crawls went wrong: the administrators are told once per incident (the
    key names the run it began with); after a recovery, a new incident is told again."""
    from huiying.crawl_health import health

    for source in health(session):
        if source.incident is None:
            continue
        key = f"{Kind.CRAWL}:{source.name}:{source.incident.since_run_id}"
        emails, users = people.administrators()
        yield Fact(Kind.CRAWL, key, emails, None, lambda source=source: loader.texts.crawl(source), users)


def first_working_day(year: int, month: int, calendar: WorkCalendar) -> tuple[date, bool]:
    """The first working day of the month by the installation's working-day calendar (with the
    admin's overrides), and whether it knew it; a month it does not cover falls back to its
    first day (the email says so)."""
    day = date(year, month, 1)
    try:
        while not calendar.is_workday(day):
            day += timedelta(days=1)
    except CalendarMissing:
        return date(year, month, 1), False
    return day, True


def _monthly_report(settings: Settings, people: Recipients, loader: Loader, now: datetime) -> Iterator[Fact]:
    """From settings.brief_hour of the month's first working day on: last month's report, once.
    Later days of the month still send it (the service may have been down that morning)."""
    local = now.astimezone(loader.zone)
    first, known = first_working_day(local.year, local.month, work_calendar(loader.session))
    if local.date() < first or (local.date() == first and local.hour < settings.brief_hour):
        return
    month = previous_month(local.date())
    yield _to_press(people, Kind.MONTHLY, f"{Kind.MONTHLY}:{month:%Y-%m}", None,
                    lambda: loader.monthly(month, first, known))


def day_bounds(day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The UTC instants at which the local day starts and the next one starts."""
    start = datetime.combine(day, time.min, tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC)


class Loader:
    """Loads what a text needs, then hands it to the pure renderers (huiying.notify.texts)."""

    def __init__(self, session: Session, settings: Settings, now: datetime) -> None:
        self.session, self.settings, self.now = session, settings, now
        self.zone = ZoneInfo(settings.timezone)
        self.texts = Texts(base_url=settings.base_url, bureau_name=settings.bureau_name,
                           negative_spike=settings.negative_spike, zone=self.zone, now=now)

    def deferred(self, text: str, case: Case, *args) -> Callable[[], tuple[str, str]]:
        """`texts.<text>(facts of case, *args)`, loaded and rendered when called."""
        return lambda: getattr(self.texts, text)(self.case(case, with_text=True), *args)

    def case(self, case: Case, with_text: bool = False) -> CaseFacts:
        first_text = case.summary or ""
        if with_text:
            first = self.session.scalar(select(Comment).where(Comment.case_id == case.id)
                                        .order_by(Comment.id).limit(1))
            if first is not None:
                first_text = f"{first.title or ''}\n{first.body or ''}".strip()
        department = case.department.name if case.department else None
        return CaseFacts(id=case.id, title=case.title, severity=str(case.severity), topic=case.topic,
                         status=str(case.status), department=department,
                         due_at=case.due_at, first_text=first_text,
                         severity_reasons=tuple(case.severity_reasons or ()), heat=case.heat)

    def spike(self, total: int, by_case: list[tuple[int, int]]) -> tuple[str, str]:
        cases = [(n, self.case(self.session.get(Case, case_id))) for n, case_id in by_case]
        return self.texts.spike(total, cases)

    def brief(self, day: date) -> tuple[str, str]:
        start, end = day_bounds(day, self.zone)
        # By first-seen time, as the comments below are counted by when they were written: a
        # case of yesterday's comments created after midnight is yesterday's case.
        new_cases = self.session.scalars(select(Case).where(
            Case.first_seen_at >= start, Case.first_seen_at < end).order_by(Case.id))
        when, negative_only = _published(), Comment.sentiment_label == "negative"
        comments, negative = self.session.execute(
            select(func.count(Comment.id), func.count(Comment.id).filter(negative_only))
            .where(Comment.relevant.is_(True), when >= start, when < end)).one()
        late = list(self.session.scalars(select(Case).where(overdue(self.now))
                                         .order_by(Case.due_at, Case.id)))
        replied = self.session.execute(select(Case.replied_on_time).where(
            Case.first_reply_at >= start, Case.first_reply_at < end)).scalars().all()
        words = hot_words_of_days(self.session, day, day, top_k=BRIEF_HOT_WORDS,
                                  tz=self.settings.timezone)["words"]
        return self.texts.brief(BriefFacts(
            day=day, start=start, end=end, new_cases=[self.case(c) for c in new_cases],
            comments=comments, negative=negative,
            overdue=[self.case(c) for c in late[:BRIEF_OVERDUE_LISTED]], overdue_total=len(late),
            replied=len(replied), replied_on_time=sum(bool(value) for value in replied),
            hot_words=[w["word"] for w in words]))

    def monthly(self, month: date, first: date, known: bool) -> tuple[str, str]:
        from huiying.monthly_export import file_name

        report = monthly(self.session, month, self.settings.timezone, now=self.now)
        figures = report.overall
        return self.texts.monthly(MonthlyFacts(
            month=month, file_name=file_name(report, "xlsx"), total=len(figures.total),
            needing_answer=len(figures.needing_answer), replied=len(figures.replied),
            on_time=len(figures.on_time), overdue_unanswered=len(figures.overdue_unanswered),
            response_rate=figures.response_rate, on_time_rate=figures.on_time_rate,
            median_response_hours=figures.median_response_hours,
            first_working_day=first, calendar_known=known))


def row_key(fact_key: str, recipient: str) -> str:
    key = f"{fact_key}:{recipient.lower()}"
    if len(key) <= KEY_CHARS:
        return key
    return f"{fact_key}:{hashlib.sha256(recipient.lower().encode()).hexdigest()}"[:KEY_CHARS]


def _wanted(facts: list[Fact], settings: Settings) -> Iterator[tuple[Fact, Channel, str, int | None]]:
    """(fact, channel, recipient, user id) of every row the facts call for."""
    robots = [channel for channel, url in ((Channel.WECOM, settings.wecom_webhook),
                                            (Channel.DINGTALK, settings.dingtalk_webhook)) if url]
    for fact in facts:
        for recipient in fact.recipients:
            yield fact, Channel.EMAIL, recipient, None
        for person in fact.users:
            yield fact, Channel.INAPP, person.username, person.id
        if fact.kind in settings.webhook_kinds:
            for channel in robots:
                yield fact, channel, GROUP, None


def _inapp_key(fact_key: str, user_id: int) -> str:
    return f"{fact_key}:user:{user_id}"[:KEY_CHARS]


def store(session: Session, settings: Settings, facts: list[Fact], now: datetime) -> dict[str, int]:
    wanted = [(fact, channel, recipient, user_id,
               _inapp_key(fact.key, user_id) if user_id is not None else row_key(fact.key, recipient))
              for fact, channel, recipient, user_id in _wanted(facts, settings)]
    existing: set[tuple[str, str]] = set()
    keys = sorted({key for *_, key in wanted})
    for start in range(0, len(keys), 500):
        found = session.execute(select(Notification.channel, Notification.key)
                                .where(Notification.key.in_(keys[start:start + 500])))
        existing.update((channel, key) for channel, key in found)
    # A group robot posts facts that are new: one set up today does not post the week's alerts
    # (the scan looks HORIZON back); the email and in-app rows of a fact are made regardless.
    told: set[str] = set()
    facts_keys = sorted({fact.key for fact in facts})
    for start in range(0, len(facts_keys), 500):
        told.update(session.scalars(select(Notification.fact).distinct()
                                    .where(Notification.fact.in_(facts_keys[start:start + 500]))))
    insert = postgresql_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    created = {**dict.fromkeys(map(str, Kind), 0), **{f"{c}_rows": 0 for c in Channel if c != Channel.EMAIL}}
    texts: dict[str, tuple[str, str]] = {}
    for fact, channel, recipient, user_id, key in wanted:
        if (channel, key) in existing or (channel in GROUP_ROBOTS and fact.key in told):
            continue
        if fact.key not in texts:
            texts[fact.key] = fact.render()
        subject, body = texts[fact.key]
        inapp = channel == Channel.INAPP
        # A scan running at the same time may have created it a moment ago: then nothing happens.
        result = session.execute(insert(Notification).values(
            key=key, fact=fact.key, channel=channel, kind=fact.kind, recipient=recipient[:200],
            user_id=user_id, subject=subject[:300], body=body, case_id=fact.case_id,
            # An in-app row is delivered once it exists: the 通知 page shows it.
            status="sent" if inapp else "pending", sent_at=now if inapp else None,
            attempts=0, outage=False, created_at=now,
        ).on_conflict_do_nothing(index_elements=["channel", "key"]).returning(Notification.id))
        # rowcount of INSERT ... ON CONFLICT DO NOTHING is -1 on PostgreSQL: count the returned row.
        if result.first() is not None:
            created[str(fact.kind) if channel == Channel.EMAIL else f"{channel}_rows"] += 1
    return created


def addresses(value: str | None) -> list[str]:
    """The addresses of an email field: one, or several separated by commas or semicolons."""
    return [a for a in re.split(r"[,;，；\s]+", value or "") if "@" in a]


def unique(items: Iterable[str]) -> list[str]:
    seen: dict[str, str] = {}
    for item in items:
        seen.setdefault(item.lower(), item)
    return list(seen.values())


def _unique_people(people: Iterable[Person]) -> list[Person]:
    return list(dict.fromkeys(people))


class Recipients:
    """Who is told, looked up once per scan: (email addresses, user accounts)."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._press: tuple[list[str], list[Person]] | None = None
        self._departments: dict[int, tuple[list[str], list[Person]]] = {}

    def _users(self, *where) -> tuple[list[str], list[Person]]:
        users = list(self.session.execute(select(User.id, User.username, User.email)
                                          .where(User.active.is_(True), *where).order_by(User.id)))
        return (unique(a for _, _, email in users for a in addresses(email)),
                [Person(user_id, username) for user_id, username, _ in users])

    def press_office(self) -> tuple[list[str], list[Person]]:
        """Active press officers and administrators."""
        if self._press is None:
            self._press = self._users(User.role.in_([Role.PRESS, Role.ADMIN]))
        return self._press

    def administrators(self) -> tuple[list[str], list[Person]]:
        """Active administrators (they keep the sources)."""
        return self._users(User.role == Role.ADMIN)

    def department(self, department: Department) -> tuple[list[str], list[Person]]:
        """The department's own address and its active users."""
        if department.id not in self._departments:
            emails, users = self._users(User.department_id == department.id)
            self._departments[department.id] = (unique([*addresses(department.email), *emails]), users)
        return self._departments[department.id]
