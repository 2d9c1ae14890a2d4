"""Email notifications (DESIGN.md 7, "Tell people"): facts become rows, rows become mail.

`scan` looks at what the database holds (events and cases) instead of being called by the code
that changed them, so an assignment by the router, by a press officer or by any later code is
announced the same way. Every row has a unique key (one fact, one recipient): scanning the same
fact again creates nothing, and a row is sent once. `send_pending` sends the rows that are due and
retries failures with exponential backoff; nothing here sleeps or waits on the broker.
"""

from __future__ import annotations

import enum
import hashlib
import logging
import re
import smtplib
import ssl
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from functools import partial
from zoneinfo import ZoneInfo

from sqlalchemy import func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, selectinload

from huiying.clocks import CalendarMissing, WorkCalendar
from huiying.errors import InputError, SettingsError
from huiying.figures import case_link, monthly, parse_month, previous_month
from huiying.masking import mask_text
from huiying.models import (
    Case,
    CaseEvent,
    Comment,
    Department,
    Notification,
    Role,
    Severity,
    User,
    utcnow,
)
from huiying.settings import Settings
from huiying.trends import hot_words_of_days
from huiying.workflow import DONE_STATUSES, awaiting_answer, overdue, work_calendar

log = logging.getLogger(__name__)


class Kind(enum.StrEnum):
    ASSIGN = "assign"  # a case went to a department
    ALERT = "alert"  # a case is, or became, 重大 or 较大
    SPIKE = "spike"  # many negative comments within an hour
    REMIND = "remind"  # the deadline is near
    OVERDUE = "overdue"  # 催办: the deadline has passed
    BRIEF = "brief"  # 舆情日报: the day before, once a day
    MONTHLY = "monthly"  # 回应月报 of the month before, on the month's first working day
    CRAWL = "crawl"  # a source's crawl went wrong (huiying/crawl_health.py), once per incident


# Events and cases older than this are not looked at again: the scan stays cheap.
HORIZON = timedelta(days=7)
# A reminder goes out when this share of the case's clock (created → due) is left.
REMIND_SHARE = 0.2
SPIKE_WINDOW = timedelta(hours=1)
ALERT_SEVERITIES = (Severity.MAJOR, Severity.SERIOUS)
# Retries after 1, 2, 4, 8 and 16 minutes; the sixth failure gives up.
MAX_ATTEMPTS = 6
FIRST_RETRY = timedelta(minutes=1)
SEND_BATCH = 200
EXCERPT_CHARS = 200
KEY_CHARS = 200  # Notification.key
SMTP_TIMEOUT = 30
BRIEF_HOT_WORDS = 5
BRIEF_OVERDUE_LISTED = 10
FOOTER = "此邮件由回应舆情系统自动发送，请勿直接回复。"


@dataclass
class _Fact:
    """Something to tell: one email text for several recipients, one row per recipient."""

    kind: Kind
    key: str
    recipients: list[str]
    case_id: int | None
    render: Callable[[], tuple[str, str]]  # → (subject, body), only for rows still to create


# --- scanning -------------------------------------------------------------------------------

def scan(session: Session, settings: Settings, now: datetime | None = None) -> dict[str, int]:
    """Create the notification rows the database's facts call for; return how many per kind."""
    now = now or utcnow()
    people = _Recipients(session)
    text = _Texts(session, settings, now)
    facts = [*_assignments(session, people, text, now), *_alerts(session, people, text, now),
             *_spike(session, settings, people, text, now), *_deadlines(session, people, text, now),
             *_briefing(settings, people, text, now), *_monthly_report(settings, people, text, now),
             *_crawl_incidents(session, people, text)]
    created = _store(session, facts, now)
    session.commit()
    if any(created.values()):
        log.info("notifications created: %s", created)
    return created


def _assignments(session: Session, people: _Recipients, text: _Texts, now: datetime) -> Iterator[_Fact]:
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
            yield _Fact(Kind.ASSIGN, f"assign:{event.id}", people.department(case.department), case.id,
                        partial(text.assignment, case, event, case.department))


def _alerts(session: Session, people: _Recipients, text: _Texts, now: datetime) -> Iterator[_Fact]:
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
                yield _Fact(Kind.ALERT, f"alert:{case.id}:{level}", people.press_office(), case.id,
                            partial(text.alert, case, level))


def _published():
    """When a comment was written: its publication date, else when it was fetched."""
    return func.coalesce(Comment.published_at, Comment.fetched_at)


def _spike(session: Session, settings: Settings, people: _Recipients, text: _Texts,
           now: datetime) -> Iterator[_Fact]:
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
        yield _Fact(Kind.SPIKE, f"spike:{hour}", people.press_office(), None,
                    partial(text.spike, total, by_case[:5]))


def _deadlines(session: Session, people: _Recipients, text: _Texts, now: datetime) -> Iterator[_Fact]:
    cases = session.scalars(select(Case).where(
        awaiting_answer(), Case.due_at.is_not(None), Case.due_at >= now - HORIZON)
        .order_by(Case.id))
    for case in cases:
        department = people.department(case.department) if case.department else []
        due = case.due_at.isoformat(timespec="seconds")
        if case.due_at <= now:
            recipients = _unique([*department, *people.press_office()])
            yield _Fact(Kind.OVERDUE, f"overdue:{case.id}:{due}", recipients, case.id,
                        partial(text.overdue, case))
        # The clock runs from when the public wrote: the reminder comes when a fifth of it is left.
        elif case.due_at - now <= (case.due_at - case.first_seen_at) * REMIND_SHARE:
            # A case nobody has been assigned yet is the press office's to route.
            yield _Fact(Kind.REMIND, f"remind:{case.id}:{due}", department or people.press_office(),
                        case.id, partial(text.reminder, case))


def _briefing(settings: Settings, people: _Recipients, text: _Texts, now: datetime) -> Iterator[_Fact]:
    """From settings.brief_hour (local time) on: the briefing of the local day before, once."""
    local = now.astimezone(text.zone)
    if local.hour < settings.brief_hour:
        return
    day = local.date() - timedelta(days=1)
    yield _Fact(Kind.BRIEF, f"brief:{day.isoformat()}", people.press_office(), None,
                partial(text.brief, day))


def _crawl_incidents(session: Session, people: _Recipients, text: _Texts) -> Iterator[_Fact]:
    """A source whose crawls went wrong: the administrators are told once per incident (the
    key names the run it began with); after a recovery, a new incident is told again."""
    from huiying.crawl_health import health

    for source in health(session):
        if source.incident is None:
            continue
        key = f"{Kind.CRAWL}:{source.name}:{source.incident.since_run_id}"
        yield _Fact(Kind.CRAWL, key, people.administrators(), None, partial(text.crawl, source))


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


def _monthly_report(settings: Settings, people: _Recipients, text: _Texts, now: datetime) -> Iterator[_Fact]:
    """From settings.brief_hour of the month's first working day on: last month's report, once.
    Later days of the month still send it (the service may have been down that morning)."""
    local = now.astimezone(text.zone)
    first, _known = first_working_day(local.year, local.month, work_calendar(text.session))
    if local.date() < first or (local.date() == first and local.hour < settings.brief_hour):
        return
    month = previous_month(local.date())
    yield _Fact(Kind.MONTHLY, f"{Kind.MONTHLY}:{month:%Y-%m}", people.press_office(), None,
                partial(text.monthly, month))


def _day_bounds(day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The UTC instants at which the local day starts and the next one starts."""
    start = datetime.combine(day, time.min, tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC)


def _key(fact_key: str, recipient: str) -> str:
    key = f"{fact_key}:{recipient.lower()}"
    if len(key) <= KEY_CHARS:
        return key
    return f"{fact_key}:{hashlib.sha256(recipient.lower().encode()).hexdigest()}"[:KEY_CHARS]


def _store(session: Session, facts: list[_Fact], now: datetime) -> dict[str, int]:
    wanted = [(fact, recipient, _key(fact.key, recipient)) for fact in facts for recipient in fact.recipients]
    existing: set[str] = set()
    keys = [key for _, _, key in wanted]
    for start in range(0, len(keys), 500):
        existing.update(session.scalars(select(Notification.key).where(
            Notification.key.in_(keys[start:start + 500]))))
    insert = postgresql_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    created = dict.fromkeys(Kind, 0)
    texts: dict[str, tuple[str, str]] = {}
    for fact, recipient, key in wanted:
        if key in existing:
            continue
        if fact.key not in texts:
            texts[fact.key] = fact.render()
        subject, body = texts[fact.key]
        # A scan running at the same time may have created it a moment ago: then nothing happens.
        result = session.execute(insert(Notification).values(
            key=key, kind=fact.kind, recipient=recipient, subject=subject[:300], body=body,
            case_id=fact.case_id, status="pending", attempts=0, created_at=now,
        ).on_conflict_do_nothing(index_elements=["key"]).returning(Notification.id))
        # rowcount of INSERT ... ON CONFLICT DO NOTHING is -1 on PostgreSQL: count the returned row.
        created[fact.kind] += result.first() is not None
    return {str(kind): n for kind, n in created.items()}


def _addresses(value: str | None) -> list[str]:
    """The addresses of an email field: one, or several separated by commas or semicolons."""
    return [a for a in re.split(r"[,;，；\s]+", value or "") if "@" in a]


def _unique(addresses: Iterable[str]) -> list[str]:
    seen: dict[str, str] = {}
    for address in addresses:
        seen.setdefault(address.lower(), address)
    return list(seen.values())


class _Recipients:
    """Who is told, looked up once per scan."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._press: list[str] | None = None
        self._departments: dict[int, list[str]] = {}

    def press_office(self) -> list[str]:
        """Active press officers and administrators with an email address."""
        if self._press is None:
            emails = self.session.scalars(select(User.email).where(
                User.active.is_(True), User.role.in_([Role.PRESS, Role.ADMIN])).order_by(User.id))
            self._press = _unique(a for email in emails for a in _addresses(email))
        return self._press

    def administrators(self) -> list[str]:
        """Active administrators with an email address (they keep the sources)."""
        emails = self.session.scalars(select(User.email).where(
            User.active.is_(True), User.role == Role.ADMIN).order_by(User.id))
        return _unique(a for email in emails for a in _addresses(email))

    def department(self, department: Department) -> list[str]:
        """The department's own address and its active users' addresses."""
        if department.id not in self._departments:
            emails = self.session.scalars(select(User.email).where(
                User.active.is_(True), User.department_id == department.id).order_by(User.id))
            self._departments[department.id] = _unique(
                [*_addresses(department.email), *(a for email in emails for a in _addresses(email))])
        return self._departments[department.id]


class _Texts:
    """The emails, in Simplified Chinese: who reads them answers the public in Chinese."""

    def __init__(self, session: Session, settings: Settings, now: datetime) -> None:
        self.session, self.settings, self.now = session, settings, now
        self.zone = ZoneInfo(settings.timezone)

    def local(self, moment: datetime | None) -> str:
        return moment.astimezone(self.zone).strftime("%Y-%m-%d %H:%M") if moment else "未设定"

    def link(self, case: Case) -> str:
        return case_link(self.settings.base_url, case.id)

    def excerpt(self, case: Case) -> str:
        """The first comment, masked and shortened: enough to know the matter."""
        first = self.session.scalar(select(Comment).where(Comment.case_id == case.id)
                                    .order_by(Comment.id).limit(1))
        raw = f"{first.title or ''}\n{first.body or ''}".strip() if first else case.summary
        raw = mask_text(raw)
        return raw if len(raw) <= EXCERPT_CHARS else raw[:EXCERPT_CHARS] + "……"

    def facts(self, case: Case) -> str:
        department = case.department.name if case.department else "未派单（待研判）"
        return "\n".join([
            f"案件：#{case.id} {mask_text(case.title)}",
            f"等级：{case.severity}",
            f"主题：{case.topic or '未分类'}",
            f"状态：{case.status}",
            f"承办单位：{department}",
            f"办理时限：{self.local(case.due_at)}",
            "",
            "留言摘要：",
            self.excerpt(case),
            "",
            f"查看与办理：{self.link(case)}",
        ])

    def listed(self, case: Case, extra: str = "") -> str:
        return f"· #{case.id} {mask_text(case.title)}{extra}：{self.link(case)}"

    def percent(self, part: int, whole: int) -> str:
        return f"{part / whole:.1%}" if whole else "—"

    def mail(self, greeting: str, lead: str, details: str) -> str:
        return f"{greeting}：\n\n{lead}\n\n{details}\n\n{FOOTER}\n"

    def assignment(self, case: Case, event: CaseEvent, department: Department) -> tuple[str, str]:
        lead = (f"{self.local(event.at)} 有一件舆情案件派至贵单位办理，请及时签收，"
                f"并于 {self.local(case.due_at)} 前回应。")
        if event.note:
            lead += f"\n派单说明：{mask_text(event.note)}"
        return (f"【回应】派单通知：{mask_text(case.title)}（{case.severity}）",
                self.mail(department.name, lead, self.facts(case)))

    def alert(self, case: Case, level: str) -> tuple[str, str]:
        reasons = "；".join(case.severity_reasons or []) or "无"
        lead = (f"发现一件{level}舆情，请立即研判处置。\n定级依据：{reasons}\n"
                f"热度：{case.heat} 条相关留言")
        return (f"【回应】{level}舆情预警：{mask_text(case.title)}",
                self.mail("宣传办", lead, self.facts(case)))

    def spike(self, total: int, by_case: list[tuple[int, int]]) -> tuple[str, str]:
        start = self.local(self.now - SPIKE_WINDOW)
        lead = (f"{start} 至 {self.local(self.now)}，共收到负面相关留言 {total} 条，"
                f"超过预警阈值（每小时 {self.settings.negative_spike} 条），请关注舆情走势。")
        lines = ["负面留言较多的案件："]
        for count, case_id in by_case:
            case = self.session.get(Case, case_id)
            lines.append(self.listed(case, f"（{count} 条）"))
        lines.append(f"\n舆情列表：{self.settings.base_url}/cases/")
        return (f"【回应】负面舆情激增：近1小时 {total} 条", self.mail("宣传办", lead, "\n".join(lines)))

    def reminder(self, case: Case) -> tuple[str, str]:
        greeting = case.department.name if case.department else "宣传办"
        lead = (f"以下案件将于 {self.local(case.due_at)} 到期，目前状态为“{case.status}”，"
                "请抓紧办理并按时回应。")
        return (f"【回应】即将到期提醒：{mask_text(case.title)}（{self.local(case.due_at)} 到期）",
                self.mail(greeting, lead, self.facts(case)))

    def overdue(self, case: Case) -> tuple[str, str]:
        greeting = f"{case.department.name}、宣传办" if case.department else "宣传办"
        hours = max(int((self.now - case.due_at).total_seconds() // 3600), 0)
        late = f"已超时 {hours} 小时" if hours else "刚刚超时"
        lead = (f"以下案件的办理时限为 {self.local(case.due_at)}，{late}，目前状态为“{case.status}”。"
                "请立即办理并回应，如需延期请按程序申请。")
        return (f"【回应】催办：{mask_text(case.title)} 已超过办理时限",
                self.mail(greeting, lead, self.facts(case)))

    def crawl(self, source) -> tuple[str, str]:
        """A crawl incident of `source` (a huiying.crawl_health.SourceHealth)."""
        incident = source.incident
        lead = (f"来源“{source.title}”（{source.name}）自 {self.local(incident.since)} 起{incident.text}，"
                "该来源的新留言可能没有采到。请检查网站与来源配置；恢复后此提醒自动解除。")
        details = "\n".join([
            f"最近一次采集：{self.local(source.last_started_at)}，用时 {source.last_seconds} 秒",
            f"页面 {source.last_pages} 个，留言 {source.last_items} 条（新增 {source.last_new} 条），"
            f"错误 {source.last_errors} 个",
            "",
            f"来源管理：{self.settings.base_url}/admin/sources/",
            "命令行：huiying sources status --json",
        ])
        return f"【回应】采集异常：{source.title}（{incident.text}）", self.mail("管理员", lead, details)

    def brief(self, day: date) -> tuple[str, str]:
        """舆情日报 of the local `day`; an empty day says so in a few lines."""
        start, end = _day_bounds(day, self.zone)
        lead = f"{day.isoformat()}（{self.local(start)} 至 {self.local(end)}）舆情概况如下。"
        sections = [*self.brief_cases(start, end), *self.brief_comments(start, end),
                    *self.brief_overdue(), *self.brief_replies(start, end), self.brief_words(day),
                    "", f"舆情看板：{self.settings.base_url}/"]
        return f"【回应】舆情日报 {day.isoformat()}", self.mail("宣传办", lead, "\n".join(sections))

    def monthly(self, month: date) -> tuple[str, str]:
        """回应月报 of `month`: the overall figures; the xlsx is attached when the row is sent."""
        from huiying.monthly_export import file_name

        report = monthly(self.session, month, self.settings.timezone, now=self.now)
        figures = report.overall
        rate = "—" if figures.response_rate is None else f"{figures.response_rate:.1%}"
        on_time = "—" if figures.on_time_rate is None else f"{figures.on_time_rate:.1%}"
        median = "—" if figures.median_response_hours is None else f"{figures.median_response_hours:.1f} 小时"
        label = f"{month.year}年{month.month}月"
        local = self.now.astimezone(self.zone)
        first, known = first_working_day(local.year, local.month, work_calendar(self.session))
        lead = f"{self.settings.bureau_name}{label}回应月报已生成，详见附件《{file_name(report, 'xlsx')}》。"
        if not known:
            lead += f"\n（工作日历未覆盖 {first.year} 年，本月报于当月 1 日发送。）"
        details = "\n".join([
            f"案件数：{len(figures.total)} 件",
            f"需回应：{len(figures.needing_answer)} 件，已回应 {len(figures.replied)} 件，回应率 {rate}",
            f"按时回应：{len(figures.on_time)} 件，按时率 {on_time}",
            f"回应时长中位数：{median}",
            f"超期未回应：{len(figures.overdue_unanswered)} 件",
            "",
            f"在线查看：{self.settings.base_url}/reports/monthly?month={month:%Y-%m}",
        ])
        return f"【回应】回应月报 {label}", self.mail("宣传办", lead, details)

    def brief_cases(self, start: datetime, end: datetime) -> list[str]:
        # By first-seen time, as the comments below are counted by when they were written: a
        # case of yesterday's comments created after midnight is yesterday's case.
        cases = list(self.session.scalars(select(Case).where(
            Case.first_seen_at >= start, Case.first_seen_at < end).order_by(Case.id)))
        if not cases:
            return ["一、新增案件：昨日无新增案件"]
        levels = Counter(case.severity for case in cases)
        by_level = "、".join(f"{level} {levels[level]}" for level in Severity)
        return [f"一、新增案件：{len(cases)} 件（{by_level}）",
                *(self.listed(case, f"【{case.severity}】") for case in cases
                  if case.severity in ALERT_SEVERITIES)]

    def brief_comments(self, start: datetime, end: datetime) -> list[str]:
        when, negative_only = _published(), Comment.sentiment_label == "negative"
        total, negative = self.session.execute(
            select(func.count(Comment.id), func.count(Comment.id).filter(negative_only))
            .where(Comment.relevant.is_(True), when >= start, when < end)).one()
        return [f"二、相关留言：{total} 条，其中负面 {negative} 条（占 {self.percent(negative, total)}）"]

    def brief_overdue(self) -> list[str]:
        cases = list(self.session.scalars(select(Case).where(overdue(self.now))
                                          .order_by(Case.due_at, Case.id)))
        return [f"三、当前超时未回复：{len(cases)} 件",
                *(self.listed(case, f"（时限 {self.local(case.due_at)}）")
                  for case in cases[:BRIEF_OVERDUE_LISTED])]

    def brief_replies(self, start: datetime, end: datetime) -> list[str]:
        replied = self.session.execute(select(Case.replied_on_time).where(
            Case.first_reply_at >= start, Case.first_reply_at < end)).scalars().all()
        on_time = sum(bool(value) for value in replied)
        return [f"四、昨日回复：{len(replied)} 件，其中按时 {on_time} 件、超时 {len(replied) - on_time} 件"]

    def brief_words(self, day: date) -> str:
        found = hot_words_of_days(self.session, day, day, top_k=BRIEF_HOT_WORDS,
                                  tz=self.settings.timezone)["words"]
        return f"五、昨日热词：{'、'.join(w['word'] for w in found) or '无'}"


# --- sending --------------------------------------------------------------------------------

_warned_no_smtp = False


def send_pending(session: Session, settings: Settings, now: datetime | None = None,
                 limit: int = SEND_BATCH) -> dict[str, int]:
    """Send the pending rows that are due; return how many were sent, will retry, gave up."""
    global _warned_no_smtp
    now = now or utcnow()
    result = {"sent": 0, "retrying": 0, "failed": 0, "skipped": 0}
    if not settings.smtp_host:
        if not _warned_no_smtp and session.scalar(_due_query(session, now).limit(1)) is not None:
            log.warning("HUIYING_SMTP_HOST is not set: notifications stay pending until it is.")
            _warned_no_smtp = True
        return result
    smtp: smtplib.SMTP | None = None
    tried: list[int] = []
    if _outage_waiting(session, now) and session.scalar(_due_query(session, now).limit(1)) is None:
        # Rows back off for minutes after an outage; probe the server so they go once it is back.
        try:
            smtp = connect(settings)
        except (OSError, smtplib.SMTPException):
            return result  # still down: a probe is not an attempt of any row
        release(session, now, unreachable_only=True)
        session.commit()
    try:
        while len(tried) < limit:
            query = _due_query(session, now)
            if tried:
                query = query.where(Notification.id.not_in(tried))
            row = session.scalar(query.limit(1))
            if row is None:
                break
            tried.append(row.id)
            if _outdated(session, row):
                row.status, row.next_attempt_at = "skipped", None
                result["skipped"] += 1
                session.commit()
                continue
            try:
                if smtp is None:
                    smtp = connect(settings)
                    # The server is back: what waited out the outage goes now, not after its backoff.
                    release(session, now, unreachable_only=True)
            except (OSError, smtplib.SMTPException) as exc:
                # No server, no mail: every due row counts one failed attempt and backs off.
                others = _due_query(session, now).where(Notification.id != row.id).limit(limit - 1)
                for waiting in [row, *session.scalars(others)]:
                    result[_failed(waiting, exc, now, prefix=UNREACHABLE)] += 1
                session.commit()
                break
            try:
                smtp.send_message(message(settings, row.recipient, row.subject, row.body, now, row.key,
                                          attachments=_attachments(session, settings, row, now)))
            except (OSError, smtplib.SMTPException) as exc:
                result[_failed(row, exc, now)] += 1
                if isinstance(exc, (OSError, smtplib.SMTPServerDisconnected)):
                    _quit(smtp)
                    smtp = None  # connect again for the next row
            else:
                row.status, row.sent_at, row.attempts = "sent", now, row.attempts + 1
                row.last_error, row.next_attempt_at = None, None
                result["sent"] += 1
            session.commit()  # one row at a time: a crash never sends a row twice
    finally:
        if smtp is not None:
            _quit(smtp)
    if any(result.values()):
        log.info("notifications: %s", result)
    return result


# What a row asks of its department; once the case is answered or closed it would only confuse.
ASKS_FOR_ACTION = ("assign", "remind", "overdue")


def _outdated(session: Session, row: Notification) -> bool:
    """A request to act on a case that is done by now (rows wait while SMTP is down or unset)."""
    if row.kind not in ASKS_FOR_ACTION or row.case_id is None:
        return False
    case = session.get(Case, row.case_id)
    return case is None or case.status in DONE_STATUSES


def _due_query(session: Session, now: datetime):
    query = (select(Notification)
             .where(Notification.status == "pending",
                    or_(Notification.next_attempt_at.is_(None), Notification.next_attempt_at <= now))
             .order_by(Notification.id))
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)  # two senders never share a row
    return query


# Marks the rows that failed because the server could not be reached (not for their address).
UNREACHABLE = "SMTP server unreachable: "


def release(session: Session, now: datetime, unreachable_only: bool = False,
            include_failed: bool = False) -> dict[str, int]:
    """Make waiting rows due now; with `include_failed` also give up-for-good rows a new series
    of attempts. Returns how many rows of each were released."""
    waiting = (update(Notification)
               .where(Notification.status == "pending", Notification.next_attempt_at > now)
               .values(next_attempt_at=now))
    if unreachable_only:
        waiting = waiting.where(Notification.last_error.startswith(UNREACHABLE, autoescape=True))
    released = {"waiting": session.execute(waiting.execution_options(synchronize_session=False)).rowcount}
    if include_failed:
        failed = (update(Notification).where(Notification.status == "failed")
                  .values(status="pending", attempts=0, next_attempt_at=now)
                  .execution_options(synchronize_session=False))
        released["failed"] = session.execute(failed).rowcount
    return released


def _outage_waiting(session: Session, now: datetime) -> bool:
    return session.scalar(select(Notification.id).where(
        Notification.status == "pending", Notification.next_attempt_at > now,
        Notification.last_error.startswith(UNREACHABLE, autoescape=True)).limit(1)) is not None


def _failed(row: Notification, exc: Exception, now: datetime, prefix: str = "") -> str:
    row.attempts += 1
    row.last_error = f"{prefix}{type(exc).__name__}: {exc}"[:2000]
    permanent = isinstance(exc, smtplib.SMTPRecipientsRefused) and all(
        code >= 500 for code, _ in exc.recipients.values())
    if permanent or row.attempts >= MAX_ATTEMPTS:
        row.status, row.next_attempt_at = "failed", None
        log.error("notification %s to %s failed after %d attempts, giving up: %s",
                  row.id, row.recipient, row.attempts, row.last_error)
        return "failed"
    row.next_attempt_at = now + FIRST_RETRY * 2 ** (row.attempts - 1)
    log.warning("notification %s to %s failed (attempt %d), retrying at %s: %s",
                row.id, row.recipient, row.attempts, row.next_attempt_at.isoformat(), row.last_error)
    return "retrying"


def counts(session: Session) -> dict[str, int]:
    """Rows by status: pending, sent, failed."""
    found = Counter(dict(session.execute(
        select(Notification.status, func.count(Notification.id)).group_by(Notification.status)).all()))
    return {status: found[status] for status in ("pending", "sent", "failed")}


def connect(settings: Settings) -> smtplib.SMTP:
    """An SMTP connection as the settings ask: TLS on port 465, STARTTLS, login."""
    context = ssl.create_default_context()
    if settings.smtp_port == 465:
        smtp: smtplib.SMTP = smtplib.SMTP_SSL(settings.smtp_host, settings.smtp_port,
                                              timeout=SMTP_TIMEOUT, context=context)
    else:
        smtp = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=SMTP_TIMEOUT)
    try:
        if settings.smtp_starttls:
            smtp.starttls(context=context)
        if settings.smtp_user:
            smtp.login(settings.smtp_user, settings.smtp_password or "")
    except BaseException:
        smtp.close()
        raise
    return smtp


def _quit(smtp: smtplib.SMTP) -> None:
    try:
        smtp.quit()
    except (OSError, smtplib.SMTPException):
        smtp.close()


def _attachments(session: Session, settings: Settings, row: Notification,
                 now: datetime) -> list[tuple[str, str, bytes]]:
    """Files sent with a row, made when it is sent: the monthly report's xlsx, as of now."""
    if row.kind != Kind.MONTHLY:
        return []
    from huiying.monthly_export import MEDIA_TYPES, file_name, render

    report = monthly(session, parse_month(row.key.split(":")[1]), settings.timezone, now=now)
    data = render(report, "xlsx", settings.base_url, settings.bureau_name)
    return [(file_name(report, "xlsx"), MEDIA_TYPES["xlsx"], data)]


def message(settings: Settings, recipient: str, subject: str, body: str, now: datetime,
            key: str | None = None,
            attachments: Iterable[tuple[str, str, bytes]] = ()) -> EmailMessage:
    mail = EmailMessage()
    mail["Subject"] = subject
    mail["From"] = settings.smtp_from
    mail["To"] = recipient
    mail["Date"] = format_datetime(now)
    # The sender's domain, not the host name: make_msgid would otherwise ask DNS.
    mail["Message-ID"] = make_msgid(domain=parseaddr(settings.smtp_from)[1].rpartition("@")[2] or "huiying")
    mail["Auto-Submitted"] = "auto-generated"
    if key:
        mail["X-Huiying-Key"] = key
    mail.set_content(body)
    for name, media_type, data in attachments:
        maintype, _, subtype = media_type.partition("/")
        mail.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return mail


def send_test(settings: Settings, recipient: str, now: datetime | None = None) -> None:
    """Send one test email at once (not through the table); a problem is one sentence."""
    now = now or utcnow()
    if not settings.smtp_host:
        raise SettingsError("HUIYING_SMTP_HOST is not set; set it (and HUIYING_SMTP_PORT, _USER, "
                            "_PASSWORD, _FROM, _STARTTLS as the mail server needs) to send email.")
    if "@" not in recipient:
        raise InputError(f"{recipient!r} is not an email address.")
    server = f"{settings.smtp_host}:{settings.smtp_port}"
    try:
        smtp = connect(settings)
    except smtplib.SMTPAuthenticationError as exc:
        raise SettingsError(f"HUIYING_SMTP_USER / HUIYING_SMTP_PASSWORD: {server} refused the login "
                            f"({_reason(exc)}).") from None
    except smtplib.SMTPNotSupportedError:
        raise SettingsError(f"HUIYING_SMTP_STARTTLS is on but {server} does not offer STARTTLS; "
                            "turn it off or use the server's TLS port.") from None
    except (OSError, smtplib.SMTPException) as exc:
        raise SettingsError(f"HUIYING_SMTP_HOST: cannot reach the mail server {server} ({_reason(exc)}); "
                            "check HUIYING_SMTP_HOST and HUIYING_SMTP_PORT.") from None
    body = (f"这是回应舆情系统的测试邮件。收到此邮件，说明邮件发送设置正确。\n\n"
            f"发送时间：{now.astimezone(ZoneInfo(settings.timezone)).strftime('%Y-%m-%d %H:%M')}\n"
            f"邮件服务器：{server}\n系统地址：{settings.base_url}/\n\n{FOOTER}\n")
    try:
        smtp.send_message(message(settings, recipient, "【回应】测试邮件", body, now))
    except smtplib.SMTPRecipientsRefused as exc:
        raise InputError(f"{server} refused the address {recipient} "
                         f"({_reason(exc)}).") from None
    except (OSError, smtplib.SMTPException) as exc:
        raise SettingsError(f"the mail server {server} did not accept the test email "
                            f"({_reason(exc)}); check HUIYING_SMTP_FROM and the server's log.") from None
    finally:
        _quit(smtp)


def _reason(exc: Exception) -> str:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        code, text = next(iter(exc.recipients.values()))
        return f"{code} {text.decode(errors='replace') if isinstance(text, bytes) else text}"
    if isinstance(exc, smtplib.SMTPResponseException):
        error = exc.smtp_error
        return f"{exc.smtp_code} {error.decode(errors='replace') if isinstance(error, bytes) else error}"
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
