"""The case list's filters and order, read from the query string in one place: the list
page, its xlsx export and GET /api/cases take the same parameters and mean the same by them.

Every clock figure counts from when the public wrote (`Case.first_seen_at`); what is
overdue or due soon is huiying/workflow.py's definition, never worked out again here.
Who may see which case is dashboard/permissions.py's `visible_cases`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, and_, case, false, func, or_, select
from sqlalchemy.orm import Session, defer

from dashboard.filters import SENTIMENT_LABELS
from dashboard.i18n import N_
from dashboard.permissions import can_see_all_departments, visible_cases
from huiying import workflow
from huiying.models import Case, CaseStatus, Comment, Severity, Source
from huiying.search import exact_by_tokens, tsquery
from huiying.sources import IMPORT_KIND

NO_DEPARTMENT = "none"
NO_TOPIC = "none"
DUE_SOON_HOURS = 24
KEYWORD_LIMIT = 100
ID_DIGITS = 9
# Marked with N_ and translated where shown.
SORTS = {"new": N_("最新发现"), "time_left": N_("剩余时间"), "severity": N_("严重程度"),
         "heat": N_("热度")}
DUE = {"overdue": N_("已超时"), "soon": N_("24小时内到期")}
# Where the public wrote: a crawled source of each kind, or an imported hotline / mailbox export.
CHANNELS = {"board": N_("留言板"), "feed": N_("RSS/Atom 订阅"), "json_api": N_("数据接口"),
            "forum": N_("论坛"), "search": N_("站内搜索"), "hotline": N_("12345 热线"), "mailbox": N_("信箱")}
SEVERITY_RANK = {Severity.MAJOR: 0, Severity.SERIOUS: 1, Severity.GENERAL: 2}


def channel_of(source: Source) -> str:
    """board (or another crawled kind) / hotline / mailbox: imports keep their kind in config."""
    if source.kind == IMPORT_KIND:
        return str((source.config or {}).get("import") or "hotline")
    return source.kind


def is_ticket(comment: Comment) -> bool:
    """An imported hotline or mailbox request: its external id is the 工单编号."""
    return comment.source.kind == IMPORT_KIND


@dataclass(frozen=True)
class Problem:
    """A parameter that was not understood: a Chinese message id and its values."""

    template: str
    params: dict[str, Any]


@dataclass
class CaseQuery:
    """The valid parameters (`chosen`, as given, for links) and what was not understood."""

    chosen: dict[str, str] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    start: datetime | None = None  # UTC, inclusive
    end: datetime | None = None  # UTC, exclusive
    # The cases whose hotline ticket number (工单编号) is the keyword `q`: looked up once in
    # parse(), not in every count the page makes.
    ticket_cases: tuple[int, ...] = ()

    def without(self, name: str) -> CaseQuery:
        """The same filters but one (for counts beside a filter's choices)."""
        return replace(self, chosen={k: v for k, v in self.chosen.items() if k != name},
                       ticket_cases=() if name == "q" else self.ticket_cases)

    @property
    def sort(self) -> str:
        return self.chosen.get("sort", "new")

    def where(self, session: Session, query: Select, user: Any, now: datetime, *,
              with_status: bool = True) -> Select:
        """`query` over Case restricted to what `user` may see and to the filters."""
        chosen = self.chosen
        query = visible_cases(query, user)
        if with_status and "status" in chosen:
            query = query.where(Case.status == chosen["status"])
        if "severity" in chosen:
            query = query.where(Case.severity == chosen["severity"])
        if chosen.get("department") == NO_DEPARTMENT:
            query = query.where(Case.department_id.is_(None))
        elif "department" in chosen:
            query = query.where(Case.department_id == int(chosen["department"]))
        if chosen.get("topic") == NO_TOPIC:
            query = query.where(Case.topic.is_(None))
        elif "topic" in chosen:
            query = query.where(Case.topic == chosen["topic"])
        if "sentiment" in chosen:
            query = query.where(Case.sentiment_label == chosen["sentiment"])
        if chosen.get("due") == "overdue":
            query = query.where(workflow.overdue(now))
        elif chosen.get("due") == "soon":
            query = query.where(workflow.due_within(now, DUE_SOON_HOURS))
        if self.start is not None:
            query = query.where(Case.first_seen_at >= self.start)
        if self.end is not None:
            query = query.where(Case.first_seen_at < self.end)
        if "source" in chosen:
            query = query.where(_with_comments_from([int(chosen["source"])]))
        if "channel" in chosen:
            query = query.where(_with_comments_from(source_ids(session, chosen["channel"])))
        if "q" in chosen:
            query = query.where(_matching(session, chosen["q"], self.ticket_cases))
        return query

    def cases(self, session: Session, user: Any, now: datetime) -> Select:
        """The visible, filtered cases in the chosen order."""
        return self.order(self.where(session, select(Case), user, now))

    def order(self, query: Select) -> Select:
        if self.sort == "time_left":
            # Cases still owed an answer first, the least time left first; then the rest.
            return query.order_by(case((workflow.awaiting_answer(), 0), else_=1),
                                  Case.due_at.asc().nulls_last(), Case.id.desc())
        if self.sort == "severity":
            return query.order_by(case(SEVERITY_RANK, value=Case.severity, else_=3),
                                  Case.first_seen_at.desc(), Case.id.desc())
        if self.sort == "heat":
            return query.order_by(Case.heat.desc(), Case.first_seen_at.desc(), Case.id.desc())
        return query.order_by(Case.first_seen_at.desc(), Case.id.desc())


# Wide text columns a list of cases never shows: left out of its query.
LIST_DEFERRED = (defer(Case.match_text), defer(Case.search_text), defer(Case.summary))


def _matching(session: Session, keyword: str, ticket_cases: tuple[int, ...]):
    """Cases whose title or summary contains `keyword`, or whose hotline ticket number it is
    (`ticket_cases`, looked up first, so the condition stays on the case table's own indexes).
    On PostgreSQL the token index (huiying/search.py) finds them."""
    contains = or_(Case.title.contains(keyword, autoescape=True),
                   Case.summary.contains(keyword, autoescape=True))
    tokens = tsquery(keyword)
    if tokens and session.get_bind().dialect.name == "postgresql":
        indexed = func.to_tsvector("simple", Case.search_text).bool_op("@@")(
            func.to_tsquery("simple", tokens))
        # One Chinese character or pair is its own token: the index alone is exact, and the
        # rows need not be read. Longer keywords need LIKE to confirm the order of the pairs.
        contains = indexed if exact_by_tokens(keyword) else and_(indexed, contains)
    return or_(contains, Case.id.in_(ticket_cases)) if ticket_cases else contains


def ticket_cases(session: Session, keyword: str) -> tuple[int, ...]:
    """The cases of the imported rows whose 工单编号 is exactly `keyword`."""
    return tuple(session.scalars(select(Comment.case_id).where(
        Comment.external_id == keyword, Comment.case_id.is_not(None),
        Comment.source_id.in_(select(Source.id).where(Source.kind == IMPORT_KIND)))))


def _with_comments_from(source_ids: list[int]):
    if not source_ids:
        return false()
    return Case.id.in_(select(Comment.case_id).where(Comment.source_id.in_(source_ids)))


def source_ids(session: Session, channel: str) -> list[int]:
    """The sources of one channel (there are a handful of sources, so this is read whole)."""
    return [source.id for source in session.scalars(select(Source)) if channel_of(source) == channel]


def _row_id(text: str) -> bool:
    """Digits a database id can be (SQLite refuses integers beyond 64 bits)."""
    return text.isdigit() and len(text) <= ID_DIGITS


def _local_date(text: str) -> date | None:
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def parse(session: Session, args: Any, user: Any, tz: str) -> CaseQuery:
    """Read the filters from `args` (request.args); anything not understood is left out and
    recorded in `problems`, so the page can say so and the API can refuse it."""
    result = CaseQuery()
    chosen, problems = result.chosen, result.problems

    def choice(name: str, allowed, label: str) -> None:
        value = (args.get(name) or "").strip()
        if not value:
            return
        if value in allowed:
            chosen[name] = value
        else:
            problems.append(Problem(N_("“%(label)s”不认识“%(value)s”，已忽略。"),
                                    {"label": label, "value": value[:40]}))

    choice("status", set(CaseStatus), N_("状态"))
    choice("severity", set(Severity), N_("严重程度"))
    choice("sentiment", set(SENTIMENT_LABELS), N_("情感倾向"))
    choice("due", set(DUE), N_("办理时限"))
    choice("channel", set(CHANNELS), N_("渠道"))
    choice("sort", set(SORTS), N_("排序"))
    if can_see_all_departments(user):  # a department user's list is its own department's
        department = (args.get("department") or "").strip()
        if _row_id(department) or department == NO_DEPARTMENT:
            chosen["department"] = department
        elif department:
            problems.append(Problem(N_("“%(label)s”不认识“%(value)s”，已忽略。"),
                                    {"label": N_("科室"), "value": department[:40]}))
    source = (args.get("source") or "").strip()
    if _row_id(source):
        chosen["source"] = source
    elif source:
        problems.append(Problem(N_("“%(label)s”不认识“%(value)s”，已忽略。"),
                                {"label": N_("来源"), "value": source[:40]}))
    topic = (args.get("topic") or "").strip()[:40]
    if topic:
        chosen["topic"] = topic
    keyword = (args.get("q") or "").strip()[:KEYWORD_LIMIT]
    if keyword:
        chosen["q"] = keyword
        result.ticket_cases = ticket_cases(session, keyword)

    zone = ZoneInfo(tz)
    for name, label in (("from", N_("起始日期")), ("to", N_("截止日期"))):
        text = (args.get(name) or "").strip()
        if not text:
            continue
        day = _local_date(text)
        if day is None:
            problems.append(Problem(N_("“%(label)s”应为 YYYY-MM-DD 格式的日期，“%(value)s”已忽略。"),
                                    {"label": label, "value": text[:40]}))
            continue
        chosen[name] = day.isoformat()
        if name == "to":  # the whole last day counts
            day += timedelta(days=1)
        instant = datetime.combine(day, datetime.min.time(), tzinfo=zone).astimezone(UTC)
        if name == "from":
            result.start = instant
        else:
            result.end = instant
    if result.start is not None and result.end is not None and result.start >= result.end:
        problems.append(Problem(N_("起始日期晚于截止日期，没有符合的案件。"), {}))
    return result


def clock_states(session: Session, ids: list[int], now: datetime) -> dict[int, str]:
    """overdue / soon / open for those of the cases `ids` still owed an answer (the others
    are left out): the workflow's definitions, asked of the database for one page of cases."""
    if not ids:
        return {}
    state = case((workflow.overdue(now), "overdue"),
                 (workflow.due_within(now, DUE_SOON_HOURS), "soon"), else_="open")
    rows = session.execute(select(Case.id, state).where(Case.id.in_(ids), workflow.awaiting_answer()))
    return dict(rows.all())
