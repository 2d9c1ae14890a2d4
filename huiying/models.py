"""SQLAlchemy 2 typed models: the database is the truth, the broker only carries ids."""

from __future__ import annotations

import enum
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from huiying.search import search_text

# Stable constraint names so Alembic batch migrations work the same on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Stores UTC; always returns timezone-aware UTC datetimes, also on SQLite."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class CaseStatus(enum.StrEnum):
    """The 12345 vocabulary; see DESIGN.md 'Route and respond'."""

    TRIAGE = "待研判"
    ASSIGNED = "已派单"
    ACCEPTED = "已签收"
    REPLIED = "已回复"
    FOLLOWED_UP = "已回访"
    CLOSED = "办结"
    RETURNED = "退回"
    EXTENDED = "延期"
    REJECTED = "不予处理"
    MERGED = "合并"
    # 依申请公开 only: the applicant was asked to complete the request; its clock is paused.
    CORRECTION = "待补正"


class Role(enum.StrEnum):
    ADMIN = "admin"
    PRESS = "press"
    DEPARTMENT = "department"
    LEADER = "leader"


class Severity(enum.StrEnum):
    MAJOR = "重大"
    SERIOUS = "较大"
    GENERAL = "一般"


class Source(Base):
    __tablename__ = "source"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    title: Mapped[str] = mapped_column(String(200), default="")
    kind: Mapped[str] = mapped_column(String(20), default="board")
    config: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    enabled: Mapped[bool] = mapped_column(default=True)
    last_crawled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_item_count: Mapped[int | None] = mapped_column(Integer)
    # Set (atomically) when a crawl of the source is claimed, cleared when it ends: one crawl
    # of a source at a time (huiying/sources.py claim_crawl).
    crawl_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CrawlError(Base):
    """A page that failed, kept against its source so an admin can see what broke."""

    __tablename__ = "crawl_error"

    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("source.id", ondelete="CASCADE"), index=True)
    url: Mapped[str] = mapped_column(Text)
    error: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CrawlRun(Base):
    """One crawl of a source, as it ended: what it fetched and found (huiying/crawl_health.py)."""

    __tablename__ = "crawl_run"
    __table_args__ = (Index("ix_crawl_run_source_started", "source_id", "started_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("source.id", ondelete="CASCADE"))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime] = mapped_column(UTCDateTime)
    pages: Mapped[int] = mapped_column(default=0)  # responses received, list pages included
    items: Mapped[int] = mapped_column(default=0)  # comments read, new or not
    new: Mapped[int] = mapped_column(default=0)
    errors: Mapped[int] = mapped_column(default=0)  # crawl_error rows the run wrote
    robots_refused: Mapped[int] = mapped_column(default=0)  # requests robots.txt forbade


class Heartbeat(Base):
    """The last sign of life of a process that must be running (the one scheduler): /readyz
    reads it (huiying/heartbeat.py). One row per name, overwritten."""

    __tablename__ = "heartbeat"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    host: Mapped[str] = mapped_column(String(200), default="")


class Department(Base):
    __tablename__ = "department"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    email: Mapped[str | None] = mapped_column(String(200))


class RoutingRule(Base):
    """topic and/or keyword → department; the highest priority matching rule wins."""

    __tablename__ = "routing_rule"

    id: Mapped[int] = mapped_column(primary_key=True)
    topic: Mapped[str | None] = mapped_column(String(40))
    keyword: Mapped[str | None] = mapped_column(String(80))
    department_id: Mapped[int] = mapped_column(ForeignKey("department.id", ondelete="CASCADE"))
    priority: Mapped[int] = mapped_column(default=0)

    department: Mapped[Department] = relationship()


class Topic(Base):
    """An education topic of the taxonomy, edited by the admin at /admin/topics.

    Strong words mark a text as education on their own; weak words count only beside an
    education term. Topics are tried in id order: ties go to the older one.
    """

    __tablename__ = "topic"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(40), unique=True)
    strong_words: Mapped[list[str]] = mapped_column(JSON, default=list)
    weak_words: Mapped[list[str]] = mapped_column(JSON, default=list)
    enabled: Mapped[bool] = mapped_column(default=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


def _search_text_default(context) -> str:
    row = context.get_current_parameters()
    return search_text(row.get("title"), row.get("summary"))


class Case(Base):
    """One public concern: reposts and near-duplicates of it fold into the same case."""

    __tablename__ = "case"
    __table_args__ = (
        # The list's default order and the common filters, newest first (dashboard/case_query.py).
        Index("ix_case_first_seen", "first_seen_at", "id"),
        Index("ix_case_status_first_seen", "status", "first_seen_at"),
        Index("ix_case_department_first_seen", "department_id", "first_seen_at"),
        Index("ix_case_due", "due_at"),
        # Chinese search (huiying/search.py): GIN over the tokens, PostgreSQL only.
        Index("ix_case_search", text("to_tsvector('simple', search_text)"),
              postgresql_using="gin").ddl_if(dialect="postgresql"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    summary: Mapped[str] = mapped_column(Text, default="")
    fingerprint: Mapped[str] = mapped_column(String(64), unique=True)
    # The first comment's normalised text: what a near-duplicate is compared with.
    match_text: Mapped[str] = mapped_column(Text, default="")
    # Title and summary as search tokens (huiying/search.py), written with them on insert.
    search_text: Mapped[str] = mapped_column(Text, default=_search_text_default, server_default="")
    status: Mapped[str] = mapped_column(String(10), default=CaseStatus.TRIAGE, index=True)
    topic: Mapped[str | None] = mapped_column(String(40))
    severity: Mapped[str] = mapped_column(String(4), default=Severity.GENERAL)
    severity_reasons: Mapped[list[str]] = mapped_column(JSON, default=list)
    sentiment: Mapped[float | None] = mapped_column(Float)
    sentiment_label: Mapped[str | None] = mapped_column(String(10))
    department_id: Mapped[int | None] = mapped_column(
        ForeignKey("department.id", ondelete="SET NULL"), index=True
    )
    heat: Mapped[int] = mapped_column(default=1)
    # When the public wrote (the first comment's published / received time): every clock and
    # every figure counts from here, never from when Huiying stored or processed the row.
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The state below is written by huiying/workflow.py only; events keep the history of it.
    # 咨询/投诉/… of a hotline or mailbox request: statutory working days; None: 舆情 hours.
    request_type: Mapped[str | None] = mapped_column(String(10))
    # The comment the case was opened from. No foreign key: comment.case_id points the other
    # way, and a cycle of keys would complicate every insert and delete for nothing.
    first_comment_id: Mapped[int | None] = mapped_column(Integer)
    merged_into_id: Mapped[int | None] = mapped_column(
        ForeignKey("case.id", ondelete="SET NULL"), index=True)
    # The first official reply: a reply in the workflow, or one the source already carried.
    first_reply_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    replied_on_time: Mapped[bool | None] = mapped_column()
    # The severity the case opened with and the time of its last escalation (alerts).
    initial_severity: Mapped[str | None] = mapped_column(String(4))
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    department: Mapped[Department | None] = relationship()
    merged_into: Mapped[Case | None] = relationship(remote_side=[id])
    comments: Mapped[list[Comment]] = relationship(back_populates="case", order_by="Comment.id")
    events: Mapped[list[CaseEvent]] = relationship(
        back_populates="case", order_by="CaseEvent.id", cascade="all, delete-orphan"
    )
    # A 依申请公开 request (huiying/disclosure.py), for the cases that are one.
    disclosure: Mapped[DisclosureRequest | None] = relationship(
        back_populates="case", uselist=False, cascade="all, delete-orphan")


class CaseSignature(Base):
    """MinHash LSH band keys of a case: near-duplicate candidates by one indexed lookup."""

    __tablename__ = "case_signature"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id", ondelete="CASCADE"), index=True)
    key: Mapped[int] = mapped_column(BigInteger, index=True)


UNCOUNTED_TERMS = text("relevant AND processed_at IS NOT NULL AND terms_day IS NULL")


class Comment(Base):
    """What one person wrote, stored before anything else happens to it."""

    __tablename__ = "comment"
    __table_args__ = (
        UniqueConstraint("source_id", "external_id", name="uq_comment_source_external"),
        Index("ix_comment_unprocessed", "processed_at"),
        Index("ix_comment_thread", "source_id", "thread_id"),
        # When the public wrote: the overview's and the monthly report's periods.
        Index("ix_comment_written", text("coalesce(published_at, fetched_at)")),
        # Relevant comments not (yet) counted in term_day: what the sweep counts (hot_terms.py).
        Index("ix_comment_terms_uncounted", "id", postgresql_where=UNCOUNTED_TERMS,
              sqlite_where=UNCOUNTED_TERMS),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("source.id", ondelete="CASCADE"))
    external_id: Mapped[str] = mapped_column(String(200))
    # A forum floor: the external id of its thread's first floor (the post), whose case it joins.
    thread_id: Mapped[str | None] = mapped_column(String(200))
    url: Mapped[str | None] = mapped_column(Text)
    title: Mapped[str] = mapped_column(Text, default="")
    body: Mapped[str] = mapped_column(Text, default="")
    author: Mapped[str | None] = mapped_column(String(200))
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    official_reply: Mapped[str | None] = mapped_column(Text)
    replied_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Who answered and when the matter was closed, as a hotline/mailbox export says.
    reply_unit: Mapped[str | None] = mapped_column(String(200))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # 咨询/投诉/建议/… of an imported hotline or mailbox case: which working-day clock applies.
    request_type: Mapped[str | None] = mapped_column(String(10))
    content_hash: Mapped[str] = mapped_column(String(64), index=True)
    fetched_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Filled by analysis; processed_at IS NULL means "still to do" for the sweep.
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    text_norm: Mapped[str | None] = mapped_column(Text)
    relevant: Mapped[bool | None] = mapped_column()
    relevance: Mapped[float | None] = mapped_column(Float)
    sentiment: Mapped[float | None] = mapped_column(Float)
    sentiment_label: Mapped[str | None] = mapped_column(String(10))
    topic: Mapped[str | None] = mapped_column(String(40))
    severity: Mapped[str | None] = mapped_column(String(4))
    fingerprint: Mapped[str | None] = mapped_column(String(64), index=True)
    model_version: Mapped[str | None] = mapped_column(String(120))
    analysis_error: Mapped[str | None] = mapped_column(Text)
    case_id: Mapped[int | None] = mapped_column(
        ForeignKey("case.id", ondelete="SET NULL"), index=True
    )
    # The hot-word terms of the text (distinct, sorted) and the local day under which they are
    # counted in term_day; terms_day NULL: not counted (huiying/hot_terms.py keeps both).
    terms: Mapped[list[str] | None] = mapped_column(JSON)
    terms_day: Mapped[date | None] = mapped_column(Date)

    source: Mapped[Source] = relationship()
    case: Mapped[Case | None] = relationship(back_populates="comments")


class TermDay(Base):
    """How many relevant comments written on a local day (HUIYING_TIMEZONE) use a term: what
    hot words are ranked from, kept by the worker as it processes comments (hot_terms.py)."""

    __tablename__ = "term_day"
    # The background of a few candidate terms: their days, without reading every term's.
    __table_args__ = (Index("ix_term_day_term_day", "term", "day"),)

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    term: Mapped[str] = mapped_column(String(40), primary_key=True)
    docs: Mapped[int] = mapped_column(Integer)


class TermDayTotal(Base):
    """How many relevant comments were written on a local day: the size of a background."""

    __tablename__ = "term_day_total"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    docs: Mapped[int] = mapped_column(Integer)


class CaseEvent(Base):
    """Append-only history of a case: who did what, when."""

    __tablename__ = "case_event"
    __table_args__ = (Index("ix_case_event_action_at", "action", "at"),)  # the reports' counts

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(40))
    from_status: Mapped[str | None] = mapped_column(String(10))
    to_status: Mapped[str | None] = mapped_column(String(10))
    note: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    case: Mapped[Case] = relationship(back_populates="events")
    actor: Mapped[User | None] = relationship()


class LabelField(enum.StrEnum):
    SENTIMENT = "sentiment"  # value: negative / neutral / positive
    TOPIC = "topic"  # value: a topic name, "" for none
    RELEVANT = "relevant"  # value: true / false


class Label(Base):
    """A person's correction of one analysed value of a comment: training data later.

    Append-only; the newest label of a comment and field is the one that counts.
    """

    __tablename__ = "label"

    id: Mapped[int] = mapped_column(primary_key=True)
    comment_id: Mapped[int] = mapped_column(ForeignKey("comment.id", ondelete="CASCADE"), index=True)
    field: Mapped[str] = mapped_column(String(20))
    value: Mapped[str] = mapped_column(String(40))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    comment: Mapped[Comment] = relationship()
    user: Mapped[User | None] = relationship()


class User(Base):
    __tablename__ = "user"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[str] = mapped_column(String(20), default=Role.PRESS)
    department_id: Mapped[int | None] = mapped_column(
        ForeignKey("department.id", ondelete="SET NULL")
    )
    email: Mapped[str | None] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(default=True)
    api_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Part of every session's key (huiying.users.session_key): logout increments it.
    session_version: Mapped[int] = mapped_column(default=0, server_default="0")
    failed_logins: Mapped[int] = mapped_column(default=0, server_default="0")
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)

    department: Mapped[Department | None] = relationship()


def _fact_default(context) -> str:
    return context.get_current_parameters()["key"]


class Notification(Base):
    """One message to one recipient by one channel (huiying.notify): the unique (channel, key)
    makes sending idempotent; `fact` names what is told, the same for every channel."""

    __tablename__ = "notification"
    __table_args__ = (Index("ix_notification_due", "status", "next_attempt_at"),
                      UniqueConstraint("channel", "key", name="uq_notification_channel_key"),
                      Index("ix_notification_user", "user_id", "id"),
                      Index("ix_notification_fact", "fact"))

    id: Mapped[int] = mapped_column(primary_key=True)
    # email | wecom | dingtalk | inapp (huiying.notify.kinds.Channel)
    channel: Mapped[str] = mapped_column(String(10), default="email", server_default="email")
    key: Mapped[str] = mapped_column(String(200))
    # One fact gives a row per channel and recipient; a row made by hand tells its own key.
    fact: Mapped[str] = mapped_column(String(200), default=_fact_default)
    kind: Mapped[str] = mapped_column(String(40))
    recipient: Mapped[str] = mapped_column(String(200))
    # The account an in-app row is for.
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("case.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(10), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    # The last failure was the server being unreachable (not this row's fault): such rows go
    # as soon as the server is back.
    outage: Mapped[bool] = mapped_column(default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # A pending row is sent when this is NULL or past: failures back off exponentially.
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # in-app rows the user read


class CalendarOverride(Base):
    """One change to the working-day calendar (huiying/workdays.py), append-only.

    The newest row of a day is the one that counts: True a working day (调休), False a day off,
    None the override withdrawn (the official calendar again). Older rows are the history.
    """

    __tablename__ = "calendar_override"

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date, index=True)
    is_working_day: Mapped[bool | None] = mapped_column()
    note: Mapped[str] = mapped_column(String(200), default="")
    # The username, or "cli:<login>" for `huiying calendar add`: kept when an account goes.
    created_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CalendarNotice(Base):
    """The State Council's holiday notice of a year has been entered: the year is covered."""

    __tablename__ = "calendar_notice"

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(unique=True)
    title: Mapped[str] = mapped_column(String(200), default="")
    created_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
class AuditEvent(Base):
    """An administrative change: who changed what, when (written by huiying.audit.record only).

    Append-only. `target_kind` names what was changed (user, department, routing_rule,
    source, topic, …) and `target_id` its row (or source name); `data` holds the before/after
    values worth keeping, never a password.
    """

    __tablename__ = "audit_event"
    __table_args__ = (Index("ix_audit_event_kind_at", "target_kind", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(40))
    target_kind: Mapped[str] = mapped_column(String(40))
    target_id: Mapped[str | None] = mapped_column(String(80))
    summary: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    actor: Mapped[User | None] = relationship()


class AnnualInput(Base):
    """A figure of the yearly 政府信息公开工作年度报告 that only a person knows (huiying.annual_format
    names the keys): press conferences held, table 三's applications … A missing row is 未填报."""

    __tablename__ = "annual_input"
    __table_args__ = (UniqueConstraint("year", "key", name="uq_annual_input_year_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(Integer, index=True)
    key: Mapped[str] = mapped_column(String(40))
    value: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))


class DisclosureRequest(Base):
    """A 依申请公开 request (政府信息公开条例 第二十九条 to 第三十三条), one per case.

    Written by huiying/workflow.py only, like the case's state; huiying/disclosure.py holds the
    rules (applicant types and result rows of the annual report's table 三, the clock)."""

    __tablename__ = "disclosure_request"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id", ondelete="CASCADE"), unique=True)
    # The request's number in the bureau's register (an import's 编号): unique when given.
    reference: Mapped[str | None] = mapped_column(String(80), unique=True)
    applicant_type: Mapped[str] = mapped_column(String(20))  # a column key of table 三
    applicant_name: Mapped[str] = mapped_column(String(200))  # personal data: shown masked
    content: Mapped[str] = mapped_column(Text)
    form: Mapped[str] = mapped_column(String(10))  # 信函 / 网络 / 当面 / 传真 / 其他
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    correction_asked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    correction_received_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    extended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    extension_reason: Mapped[str | None] = mapped_column(Text)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    result: Mapped[str | None] = mapped_column(String(4))  # a result row of table 三: r03 … r23
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # the legal due time

    case: Mapped[Case] = relationship(back_populates="disclosure")
