"""The case workflow, and the only writer of case state (DESIGN.md "Route and respond").

People's actions: who may move a case from which state to which, one function per action,
each appending a CaseEvent. The rules are the data in `RULES`; `check` and
`available_actions` read nothing else, so the dashboard shows exactly the actions that would
succeed. The admin may do everything, a leader nothing. A refused action raises
`WorkflowError`, whose message is one Chinese sentence (the dashboard translates it: the
templates are marked with `N_`).

The system's actions (opening a case from a comment, automatic routing, triage, re-routing
after a topic edit, heat escalation, folding a repost in, a reply the source already
carried) are functions here too, recorded with no actor (shown as 系统). Every due time
comes from huiying/clocks.py and counts from when the public wrote (`Case.first_seen_at`).

State lives in columns of the case (status, department, due_at, severity, heat,
merged_into_id, first_comment_id, first_reply_at, replied_on_time …); events are its history
and are never read back as state. `awaiting_answer`, `overdue` and `due_within` are the one
definition of what still needs an answer, used by the dashboard, notifications and figures.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, and_, bindparam, func, or_, select, update
from sqlalchemy.orm import Session

from analysis.rules import escalate_for_heat
from huiying import disclosure
from huiying.clocks import (
    DEFAULT_TIMEZONE,
    STATUTORY_WORKING_DAYS,
    CalendarMissing,
    WorkCalendar,
    due_after_hours,
    due_after_working_days,
)
from huiying.errors import HuiyingError
from huiying.models import (
    Case,
    CaseEvent,
    CaseStatus,
    Comment,
    Department,
    DisclosureRequest,
    Role,
    Severity,
    User,
    utcnow,
)

if TYPE_CHECKING:
    from analysis import Analysis

S = CaseStatus


def N_(message: str) -> str:  # marks a message for the dashboard's catalog (babel.cfg)
    return message


MIN_REPLY = 10  # characters of a reply, after stripping
# What the person who asked said of the answer, recorded with a 回访 (follow_up data
# "satisfaction"); the annual report counts them (huiying/annual.py).
SATISFACTION = ("满意", "基本满意", "不满意")
EXTENSION_HOURS = (1, 720)  # bounds of one approved extension
CLOSED_STATUSES = frozenset({S.CLOSED, S.REJECTED, S.MERGED})
OPEN_STATUSES = frozenset(set(S) - CLOSED_STATUSES)
# Set aside by the press office: nobody owes these an answer (figures leave them out).
NOT_TO_ANSWER = frozenset({S.REJECTED, S.MERGED})
# Answered: from here on nothing is asked of the department (no reminder, no 催办).
ANSWERED_STATUSES = frozenset({S.REPLIED, S.FOLLOWED_UP, S.CLOSED})
DONE_STATUSES = CLOSED_STATUSES | ANSWERED_STATUSES

# Hours to the first response for 政务舆情 (国办发〔2016〕61号): major within 5 h, others 48 h.
RESPONSE_HOURS = {Severity.MAJOR: 5, Severity.SERIOUS: 48, Severity.GENERAL: 48}
# Working days of an imported request type without a period of its own (求助, 举报, …): the
# longest hotline period, as 12345 rules give most non-咨询 requests (docs/import.md).
OTHER_REQUEST_WORKING_DAYS = 13
# A manual due time may lie at most this far ahead (a typo such as 2062 is refused).
MAX_DUE_AHEAD = timedelta(days=366)


# --- what still needs an answer (SQL clauses over Case) ------------------------------------

def awaiting_answer() -> ColumnElement[bool]:
    """A case that needs an answer, has none yet and is not closed."""
    return and_(Case.status.not_in(DONE_STATUSES), Case.first_reply_at.is_(None))


def _unanswered_at(moment: datetime) -> ColumnElement[bool]:
    """Needs an answer and had none by `moment` (a reply given later does not count)."""
    return and_(Case.status.not_in(NOT_TO_ANSWER), or_(
        Case.first_reply_at > moment,
        and_(Case.first_reply_at.is_(None), Case.status.not_in(ANSWERED_STATUSES))))


def overdue(now: datetime, due_before: datetime | None = None) -> ColumnElement[bool]:
    """Awaiting an answer as of `now` and its due time has passed by then (or by `due_before`:
    a month's report counts what was due by the month's end). For the present moment this is
    `awaiting_answer()` and due_at < now; for a past moment (a report made then) a reply given
    after it does not count."""
    cutoff = now if due_before is None else due_before
    return and_(_unanswered_at(now), Case.due_at.is_not(None), Case.due_at < cutoff)


def due_within(now: datetime, hours: float) -> ColumnElement[bool]:
    """Awaiting an answer and due from now to `hours` from now."""
    return and_(awaiting_answer(), Case.due_at >= now, Case.due_at < now + timedelta(hours=hours))


def unanswered_at(case: Case, moment: datetime) -> bool:
    """`_unanswered_at` for one loaded case (the same rule, without a query)."""
    if case.status in NOT_TO_ANSWER:
        return False
    if case.first_reply_at is not None:
        return case.first_reply_at > moment
    return case.status not in ANSWERED_STATUSES


def is_overdue(case: Case, now: datetime) -> bool:
    """`overdue(now)` for one loaded case."""
    return unanswered_at(case, now) and case.due_at is not None and case.due_at < now


class WorkflowError(HuiyingError):
    """An action that is not allowed now; str() is the Chinese sentence, `template` and
    `params` let the dashboard show it in the UI language."""

    def __init__(self, template: str, **params: Any) -> None:
        self.template, self.params = template, params
        super().__init__(template % params if params else template)


class Action(enum.StrEnum):
    """Action names, as stored in CaseEvent.action."""

    ASSIGN = "assign"
    ACCEPT = "accept"
    RETURN = "return"
    REPLY = "reply"
    REQUEST_EXTENSION = "request_extension"
    APPROVE_EXTENSION = "extend"
    REJECT_EXTENSION = "reject_extension"
    FOLLOW_UP = "follow_up"
    CLOSE = "close"
    REJECT = "reject"
    MERGE = "merge"
    SET_DUE = "set_due"
    # 依申请公开 requests only (huiying/disclosure.py)
    ASK_CORRECTION = "ask_correction"
    CORRECTION_RECEIVED = "correction_received"
    EXTEND_DISCLOSURE = "extend_disclosure"
    ANSWER_DISCLOSURE = "answer_disclosure"


class SystemAction(enum.StrEnum):
    """What the system records (no actor): stored in CaseEvent.action like `Action`."""

    CREATE = "create"
    REGISTER_DISCLOSURE = "register_disclosure"  # by a person, or by `huiying import --kind disclosure`
    TRIAGE = "triage"
    MERGE_COMMENT = "merge_comment"
    ESCALATE = "escalate"
    RECLASSIFY = "reclassify"
    CALENDAR_MISSING = "calendar_missing"
    CALENDAR_DUE = "calendar_due"  # the missing year was entered: the clock starts
    SOURCE_REPLY = "source_reply"  # a reply the board or the export already carried


# Recorded on the case a merged case went into (no action of its own).
MERGED_IN = "merge_in"


@dataclass(frozen=True)
class Rule:
    """Who (besides the admin) may take an action, from which states, to which (None:
    unchanged). `own_department`: only users of the case's department."""

    roles: frozenset[str]
    from_statuses: frozenset[str]
    to_status: str | None
    own_department: bool = False
    extension: str = ""  # "none": no request may be pending; "pending": one must be
    # True: for 依申请公开 requests only, which take no other action; False: for other cases.
    disclosure: bool = False
    once: str = ""  # a DisclosureRequest column set by the action: it may be taken only once


PRESS = frozenset({Role.PRESS})
DEPARTMENT = frozenset({Role.DEPARTMENT})
WORKING = frozenset({S.ASSIGNED, S.ACCEPTED, S.EXTENDED})  # with a department, not yet answered

RULES: dict[Action, Rule] = {
    Action.ASSIGN: Rule(PRESS, frozenset({S.TRIAGE, S.RETURNED, S.ASSIGNED}), S.ASSIGNED),
    Action.ACCEPT: Rule(DEPARTMENT, frozenset({S.ASSIGNED}), S.ACCEPTED, own_department=True),
    Action.RETURN: Rule(DEPARTMENT, frozenset({S.ASSIGNED, S.ACCEPTED}), S.RETURNED,
                        own_department=True),
    Action.REPLY: Rule(DEPARTMENT, frozenset({S.ACCEPTED, S.EXTENDED}), S.REPLIED, own_department=True),
    Action.REQUEST_EXTENSION: Rule(DEPARTMENT, WORKING, None, own_department=True, extension="none"),
    Action.APPROVE_EXTENSION: Rule(PRESS, WORKING, S.EXTENDED, extension="pending"),
    Action.REJECT_EXTENSION: Rule(PRESS, WORKING, None, extension="pending"),
    Action.FOLLOW_UP: Rule(PRESS, frozenset({S.REPLIED}), S.FOLLOWED_UP),
    Action.CLOSE: Rule(PRESS, frozenset({S.REPLIED, S.FOLLOWED_UP}), S.CLOSED),
    Action.REJECT: Rule(PRESS, frozenset({S.TRIAGE, S.RETURNED}), S.REJECTED),
    Action.MERGE: Rule(PRESS, OPEN_STATUSES, S.MERGED),
    Action.SET_DUE: Rule(PRESS, OPEN_STATUSES - ANSWERED_STATUSES, None),
    Action.ASK_CORRECTION: Rule(PRESS, frozenset({S.ACCEPTED}), S.CORRECTION, disclosure=True,
                                once="correction_asked_at"),
    Action.CORRECTION_RECEIVED: Rule(PRESS, frozenset({S.CORRECTION}), S.ACCEPTED, disclosure=True),
    Action.EXTEND_DISCLOSURE: Rule(PRESS, frozenset({S.ACCEPTED}), S.EXTENDED, disclosure=True,
                                   once="extended_at"),
    Action.ANSWER_DISCLOSURE: Rule(PRESS, frozenset({S.ACCEPTED, S.EXTENDED, S.CORRECTION}), S.CLOSED,
                                   disclosure=True),
}
ONCE_REFUSALS = {
    "correction_asked_at": N_("已要求申请人补正过一次，补正只能一次性告知。"),
    "extended_at": N_("该申请已延期一次，不能再次延期。"),
}
# Who registers a request: the press office (and the admin, who may do everything).
REGISTER_DISCLOSURE = PRESS

# Shown in refusals; the dashboard translates them as its buttons (context "button").
ACTION_NAMES = {
    Action.ASSIGN: "派单", Action.ACCEPT: "签收", Action.RETURN: "退回", Action.REPLY: "回复",
    Action.REQUEST_EXTENSION: "申请延期", Action.APPROVE_EXTENSION: "批准延期",
    Action.REJECT_EXTENSION: "驳回延期申请", Action.FOLLOW_UP: "回访", Action.CLOSE: "办结",
    Action.REJECT: "不予处理", Action.MERGE: "合并", Action.SET_DUE: "调整时限",
    Action.ASK_CORRECTION: "告知补正", Action.CORRECTION_RECEIVED: "收到补正",
    Action.EXTEND_DISCLOSURE: "延长答复期限", Action.ANSWER_DISCLOSURE: "答复申请",
}


# --- who may do what -----------------------------------------------------------------------

def pending_extension(case: Case) -> CaseEvent | None:
    """The department's extension request still waiting for the press office, if any.

    A request is answered by an approval or a rejection; an assignment or a return starts
    afresh (the request was about the previous assignment)."""
    for event in reversed(case.events):
        if event.action == Action.REQUEST_EXTENSION:
            return event
        if event.action in (Action.APPROVE_EXTENSION, Action.REJECT_EXTENSION, Action.ASSIGN,
                            Action.RETURN):
            return None
    return None


def check(case: Case, actor: Any, action: Action) -> Rule:
    """The rule of `action`, or WorkflowError saying why `actor` may not take it now.

    `actor` needs `role` and `department_id` (a User, or the dashboard's logged-in copy)."""
    rule = RULES[action]
    name = ACTION_NAMES[action]
    if actor.role != Role.ADMIN:
        if actor.role not in rule.roles:
            raise WorkflowError(N_("您的角色不能对案件执行“%(action)s”。"), action=name)
        if rule.own_department and (actor.department_id is None
                                    or actor.department_id != case.department_id):
            raise WorkflowError(N_("只有承办科室才能对案件执行“%(action)s”。"), action=name)
    if rule.disclosure != (case.disclosure is not None):
        raise WorkflowError(N_("“%(action)s”不适用于这类案件。"), action=name)
    if case.status not in rule.from_statuses:
        raise WorkflowError(N_("案件当前状态为“%(status)s”，不能执行“%(action)s”。"),
                            status=case.status, action=name)
    if rule.once and getattr(case.disclosure, rule.once) is not None:
        raise WorkflowError(ONCE_REFUSALS[rule.once])
    if rule.extension == "none" and pending_extension(case) is not None:
        raise WorkflowError(N_("已有一项延期申请等待审批。"))
    if rule.extension == "pending" and pending_extension(case) is None:
        raise WorkflowError(N_("没有待审批的延期申请。"))
    return rule


def available_actions(case: Case, actor: Any) -> list[Action]:
    """The actions `actor` may take on `case` now, in the order of `Action`."""
    allowed = []
    for action in Action:
        try:
            check(case, actor, action)
        except WorkflowError:
            continue
        allowed.append(action)
    return allowed


# --- the actions ---------------------------------------------------------------------------

def _required(value: str | None, message: str, minimum: int = 1) -> str:
    text = (value or "").strip()
    if len(text) < minimum:
        raise WorkflowError(message, **({"minimum": minimum} if minimum > 1 else {}))
    return text


def _record(session: Session, case: Case, actor: User, action: Action, *, now: datetime | None,
            note: str = "", data: dict[str, Any] | None = None) -> CaseEvent:
    """Check, move the case to the rule's state, append the event."""
    rule = check(case, actor, action)
    now = now or utcnow()
    before = case.status
    if rule.to_status is not None:
        case.status = rule.to_status
    case.updated_at = now
    event = CaseEvent(case=case, at=now, actor_id=actor.id, action=action, note=note,
                      from_status=before if rule.to_status else None, to_status=rule.to_status,
                      data=data or {})
    session.add(event)
    return event


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def assign(session: Session, case: Case, actor: User, department: Department, *,
           note: str = "", now: datetime | None = None, tz: str = DEFAULT_TIMEZONE) -> CaseEvent:
    """Send the case to `department` (again). The clock started when the public wrote and keeps
    running; a case without a due time gets the one of its own clock (`clock_due`)."""
    check(case, actor, Action.ASSIGN)
    if department is None:
        raise WorkflowError(N_("请选择承办科室。"))
    if case.status == S.ASSIGNED and case.department_id == department.id:
        raise WorkflowError(N_("案件已派至%(department)s。"), department=department.name)
    now = now or utcnow()
    previous = case.department.name if case.department else None
    event = _record(session, case, actor, Action.ASSIGN, now=now,
                    note=f"派至{department.name}" + (f"：{note.strip()}" if note.strip() else ""),
                    data={"department": department.name, "previous": previous})
    case.department = department
    if case.due_at is None:  # e.g. the calendar lacked the year when the case was opened
        _start_clock(session, case, now, tz)
    session.flush()  # department_id, which the next check compares
    return event


def accept(session: Session, case: Case, actor: User, *, now: datetime | None = None) -> CaseEvent:
    return _record(session, case, actor, Action.ACCEPT, now=now)


def return_case(session: Session, case: Case, actor: User, reason: str, *,
                now: datetime | None = None) -> CaseEvent:
    """Send the case back to the press office's triage list, with the reason."""
    check(case, actor, Action.RETURN)
    reason = _required(reason, N_("退回须说明理由。"))
    event = _record(session, case, actor, Action.RETURN, now=now, note=reason,
                    data={"department": case.department.name if case.department else None})
    case.department = None
    session.flush()
    return event


def reply(session: Session, case: Case, actor: User, text: str, *,
          now: datetime | None = None) -> CaseEvent:
    """The department's answer; on time when given no later than the case's due time."""
    check(case, actor, Action.REPLY)
    text = _required(text, N_("回复内容至少 %(minimum)s 个字。"), MIN_REPLY)
    now = now or utcnow()
    on_time = case.due_at is None or now <= case.due_at
    event = _record(session, case, actor, Action.REPLY, now=now, note=text,
                    data={"on_time": on_time, "due_at": _iso(case.due_at)})
    _first_reply(case, now)
    return event


def request_extension(session: Session, case: Case, actor: User, reason: str, *,
                      now: datetime | None = None) -> CaseEvent:
    check(case, actor, Action.REQUEST_EXTENSION)
    reason = _required(reason, N_("申请延期须说明理由。"))
    return _record(session, case, actor, Action.REQUEST_EXTENSION, now=now, note=reason,
                   data={"due_at": _iso(case.due_at)})


def approve_extension(session: Session, case: Case, actor: User, hours: int, *, note: str = "",
                      now: datetime | None = None) -> CaseEvent:
    """Move the due time `hours` beyond the current one (or beyond now, if that has passed)."""
    check(case, actor, Action.APPROVE_EXTENSION)
    low, high = EXTENSION_HOURS
    if not isinstance(hours, int) or not low <= hours <= high:
        raise WorkflowError(N_("延期时长须为 %(low)s 至 %(high)s 小时。"), low=low, high=high)
    now = now or utcnow()
    session.flush()  # the request's id, for the record
    request = pending_extension(case)
    before = case.due_at
    due = max(before, now) if before else now
    event = _record(session, case, actor, Action.APPROVE_EXTENSION, now=now,
                    note=f"延期 {hours} 小时" + (f"：{note.strip()}" if note.strip() else ""),
                    data={"hours": hours, "request_id": request.id if request else None,
                          "from_due": _iso(before), "to_due": _iso(due + timedelta(hours=hours))})
    case.due_at = due + timedelta(hours=hours)
    return event


def reject_extension(session: Session, case: Case, actor: User, reason: str = "", *,
                     now: datetime | None = None) -> CaseEvent:
    check(case, actor, Action.REJECT_EXTENSION)
    session.flush()
    request = pending_extension(case)
    return _record(session, case, actor, Action.REJECT_EXTENSION, now=now, note=(reason or "").strip(),
                   data={"request_id": request.id if request else None})


def follow_up(session: Session, case: Case, actor: User, note: str, *,
              satisfaction: str | None = None, now: datetime | None = None) -> CaseEvent:
    """The press office called back the person who asked: what they said, and whether they
    were satisfied (one of SATISFACTION; None when they would not say)."""
    check(case, actor, Action.FOLLOW_UP)
    note = _required(note, N_("请填写回访情况。"))
    if satisfaction is not None and satisfaction not in SATISFACTION:
        raise WorkflowError(N_("满意度只能是“满意”“基本满意”或“不满意”。"))
    return _record(session, case, actor, Action.FOLLOW_UP, now=now, note=note,
                   data={"satisfaction": satisfaction} if satisfaction else None)


def close(session: Session, case: Case, actor: User, note: str = "", *,
          now: datetime | None = None) -> CaseEvent:
    return _record(session, case, actor, Action.CLOSE, now=now, note=(note or "").strip())


def reject(session: Session, case: Case, actor: User, reason: str, *,
           now: datetime | None = None) -> CaseEvent:
    """不予处理: spam, or nothing the bureau has to answer."""
    check(case, actor, Action.REJECT)
    reason = _required(reason, N_("不予处理须说明理由。"))
    return _record(session, case, actor, Action.REJECT, now=now, note=reason)


def merge(session: Session, case: Case, actor: User, into_case_id: int | None, *,
          now: datetime | None = None) -> CaseEvent:
    """Fold `case` into another open case: its comments and heat move there; both record it."""
    check(case, actor, Action.MERGE)
    if into_case_id is None:
        raise WorkflowError(N_("请输入要并入的案件编号。"))
    if into_case_id == case.id:
        raise WorkflowError(N_("案件不能并入它自己。"))
    target = session.get(Case, into_case_id)
    if target is None:
        raise WorkflowError(N_("没有编号为 %(id)s 的案件。"), id=into_case_id)
    if target.status in CLOSED_STATUSES:
        raise WorkflowError(N_("案件 %(id)s 已是“%(status)s”，不能并入。"), id=target.id,
                            status=target.status)
    now = now or utcnow()
    moved = _move_comments(session, case, target)
    event = _record(session, case, actor, Action.MERGE, now=now, note=f"并入案件 #{target.id}",
                    data={"into": target.id, "comment_ids": moved, "heat": case.heat})
    _carry_into(session, case, target, moved, now, actor.id, f"案件 #{case.id} 并入本案")
    return event


def fold_concurrent(session: Session, case: Case, into: Case, *, now: datetime) -> CaseEvent:
    """The system's merge of two cases two workers opened at the same moment from
    near-duplicate texts (neither saw the other's case before its commit): `case`, the newer,
    goes into `into` as a press officer's merge would take it, its comments and heat with it."""
    moved = _move_comments(session, case, into)
    event = _system(session, case, Action.MERGE, now=now, from_status=case.status, to_status=S.MERGED,
                    note=f"与案件 #{into.id} 同时生成、内容近似，自动并入",
                    data={"into": into.id, "comment_ids": moved, "heat": case.heat})
    _carry_into(session, case, into, moved, now, None, f"案件 #{case.id} 并入本案（同时生成的近似重复）")
    return event


def _move_comments(session: Session, case: Case, target: Case) -> list[int]:
    """Move the comments of `case` to `target`; their ids."""
    moved = list(session.scalars(select(Comment.id).where(Comment.case_id == case.id)
                                 .order_by(Comment.id)))
    session.execute(update(Comment).where(Comment.case_id == case.id).values(case_id=target.id)
                    .execution_options(synchronize_session="fetch"))
    return moved


def _carry_into(session: Session, case: Case, target: Case, moved: list[int], now: datetime,
                actor_id: int | None, note: str) -> None:
    """`target` carries `case` on: its heat added, the merge recorded on it too."""
    case.merged_into_id = target.id
    _add_heat(session, {target: case.heat}, now)
    session.add(CaseEvent(case=target, at=now, actor_id=actor_id, action=MERGED_IN, note=note,
                          data={"from": case.id, "comment_ids": moved, "heat": case.heat}))


def set_due(session: Session, case: Case, actor: User, due_at: datetime | None, reason: str, *,
            now: datetime | None = None) -> CaseEvent:
    """The press office (or the admin) sets the due time by hand, saying why: e.g. the
    requester agreed to a later answer, or a clock rule does not fit the matter."""
    check(case, actor, Action.SET_DUE)
    if due_at is None:
        raise WorkflowError(N_("请填写新的办理时限。"))
    if due_at.tzinfo is None or due_at.utcoffset() is None:
        raise ValueError("due_at must be timezone-aware")
    reason = _required(reason, N_("调整办理时限须说明理由。"))
    now = now or utcnow()
    if due_at <= now:
        raise WorkflowError(N_("新的办理时限须晚于当前时间。"))
    if due_at > now + MAX_DUE_AHEAD:
        raise WorkflowError(N_("新的办理时限不能超过一年以后。"))
    if case.due_at is not None and due_at == case.due_at:
        raise WorkflowError(N_("新的办理时限与当前时限相同。"))
    before = case.due_at
    event = _record(session, case, actor, Action.SET_DUE, now=now, note=reason,
                    data={"from_due": _iso(before), "to_due": _iso(due_at)})
    case.due_at = due_at
    return event


# --- 依申请公开 requests (huiying/disclosure.py) -----------------------------------------------

@dataclass(frozen=True)
class Importer:
    """The actor of `huiying import --kind disclosure`: the rules of the states apply, not those
    of a role (the server's operator imports the register); its events show as 系统."""

    id: None = None
    role: str = Role.ADMIN
    department_id: None = None


IMPORTER = Importer()


def _moment(value: datetime | None, now: datetime, future: str, earliest: datetime | None = None,
            too_early: str = "") -> datetime:
    """A time a person gives for an action (None: now): refused with the sentence `future` when
    it lies ahead, with `too_early` when it is before `earliest` (the step it follows)."""
    value = value or now
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("the time of a request's step must be timezone-aware")
    if value > now + disclosure.FUTURE_TOLERANCE:
        raise WorkflowError(future)
    if earliest is not None and value < earliest:
        raise WorkflowError(too_early)
    return value


def register_disclosure(session: Session, actor: Any, *, applicant_type: str, applicant_name: str,
                        content: str, form: str, received_at: datetime | None,
                        reference: str | None = None, now: datetime | None = None,
                        tz: str = DEFAULT_TIMEZONE) -> Case:
    """A new 依申请公开 request as a case (已签收, with the press office), due 20 working days
    after its receipt. Refused with one sentence: a role other than press/admin, an unknown
    applicant type or form, no content, a receipt in the future."""
    if actor.role != Role.ADMIN and actor.role not in REGISTER_DISCLOSURE:
        raise WorkflowError(N_("您的角色不能登记依申请公开申请。"))
    now = now or utcnow()
    if applicant_type not in disclosure.APPLICANT_TYPES:
        raise WorkflowError(N_("请选择申请人类型。"))
    if form not in disclosure.FORMS:
        raise WorkflowError(N_("请选择申请方式。"))
    name = _required(applicant_name, N_("请填写申请人名称。"))[:disclosure.NAME_CHARS]
    content = _required(content, N_("请填写申请内容。"))[:disclosure.CONTENT_CHARS]
    if received_at is None:
        raise WorkflowError(N_("请填写收到申请的时间。"))
    received_at = _moment(received_at, now, N_("收到申请的时间不能晚于现在。"))
    reference = (reference or "").strip()[:80] or None
    if reference and session.scalar(select(DisclosureRequest.id).where(
            DisclosureRequest.reference == reference)):
        raise WorkflowError(N_("编号 %(reference)s 的申请已登记。"), reference=reference)
    case = Case(title=f"依申请公开：{content[:50]}"[:300], summary=content[:500],
                fingerprint=f"disclosure:{uuid.uuid4().hex}", first_seen_at=received_at,
                request_type=disclosure.REQUEST_TYPE, status=S.ACCEPTED, created_at=now,
                disclosure=DisclosureRequest(reference=reference, applicant_type=applicant_type,
                                             applicant_name=name, content=content, form=form,
                                             received_at=received_at))
    session.add(case)
    session.flush()
    session.add(CaseEvent(case=case, at=now, actor_id=actor.id, action=SystemAction.REGISTER_DISCLOSURE,
                          note=f"登记依申请公开申请（{form}，{disclosure.APPLICANT_TYPES[applicant_type]}）",
                          to_status=S.ACCEPTED, data={"reference": reference,
                                                      "received_at": _iso(received_at)}))
    _start_clock(session, case, now, tz)
    return case


def ask_correction(session: Session, case: Case, actor: Any, what: str, *,
                   now: datetime | None = None) -> CaseEvent:
    """告知补正, once: the clock stops until the completed request arrives."""
    check(case, actor, Action.ASK_CORRECTION)
    what = _required(what, N_("请写明需要补正的内容。"))
    now = now or utcnow()
    request = case.disclosure
    _moment(now, utcnow(), N_("告知补正的时间不能晚于现在。"), request.received_at,
            N_("告知补正的时间不能早于收到申请的时间。"))
    event = _record(session, case, actor, Action.ASK_CORRECTION, now=now, note=what,
                    data={"from_due": _iso(case.due_at)})
    request.correction_asked_at = now
    _set_due_at(case, None)
    return event


def correction_received(session: Session, case: Case, actor: Any, received_at: datetime | None = None,
                        *, now: datetime | None = None, tz: str = DEFAULT_TIMEZONE) -> CaseEvent:
    """收到补正: the 20 working days count again from the day the completed request arrived."""
    check(case, actor, Action.CORRECTION_RECEIVED)
    now = now or utcnow()
    request = case.disclosure
    at = _moment(received_at, now, N_("收到补正的时间不能晚于现在。"), request.correction_asked_at,
                 N_("收到补正的时间不能早于告知补正的时间。"))
    request.correction_received_at = at
    event = _record(session, case, actor, Action.CORRECTION_RECEIVED, now=now,
                    note=f"收到补正，自收到补正之日起重新计算 {disclosure.ANSWER_DAYS} 个工作日",
                    data={"received_at": _iso(at)})
    _start_clock(session, case, now, tz)
    event.data = {**event.data, "to_due": _iso(case.due_at)}
    return event


def extend_disclosure(session: Session, case: Case, actor: Any, reason: str, *,
                      now: datetime | None = None, tz: str = DEFAULT_TIMEZONE) -> CaseEvent:
    """延长答复期限, once and with a reason: 20 more working days."""
    check(case, actor, Action.EXTEND_DISCLOSURE)
    reason = _required(reason, N_("延长答复期限须说明理由。"))
    now = now or utcnow()
    request = case.disclosure
    before = case.due_at
    event = _record(session, case, actor, Action.EXTEND_DISCLOSURE, now=now,
                    note=f"延长 {disclosure.EXTENSION_DAYS} 个工作日：{reason}",
                    data={"from_due": _iso(before)})
    request.extended_at, request.extension_reason = now, reason
    _start_clock(session, case, now, tz)
    event.data = {**event.data, "to_due": _iso(case.due_at)}
    return event


def answer_disclosure(session: Session, case: Case, actor: Any, result: str, note: str = "", *,
                      now: datetime | None = None) -> CaseEvent:
    """答复申请 with one of table 三's result rows: the request is 办结, on time when answered by
    its legal due time. （六）1 (no correction in time) only while a correction is awaited."""
    check(case, actor, Action.ANSWER_DISCLOSURE)
    if result not in disclosure.RESULTS:
        raise WorkflowError(N_("请选择办理结果。"))
    waiting = case.status == S.CORRECTION
    if waiting != (result == disclosure.NOT_CORRECTED):
        raise WorkflowError(N_("申请正等待补正：只能按“申请人无正当理由逾期不补正”办结。") if waiting
                            else N_("只有等待补正的申请才能按“申请人无正当理由逾期不补正”办结。"))
    now = now or utcnow()
    request = case.disclosure
    on_time = case.due_at is None or now <= case.due_at
    event = _record(session, case, actor, Action.ANSWER_DISCLOSURE, now=now,
                    note=f"{disclosure.RESULTS[result]}" + (f"：{note.strip()}" if note.strip() else ""),
                    data={"result": result, "on_time": on_time, "due_at": _iso(case.due_at)})
    request.answered_at, request.result = now, result
    _first_reply(case, now)
    return event


# --- the system's actions (no actor) -------------------------------------------------------

def _system(session: Session, case: Case, action: str, *, now: datetime, note: str = "",
            from_status: str | None = None, to_status: str | None = None,
            data: dict[str, Any] | None = None, touch: bool = True) -> CaseEvent:
    """Append an event of the system (actor_id NULL: shown as 系统) and move the status.
    `touch=False`: the caller's own UPDATE of the case sets updated_at (add_comments' heat
    increment), so the ORM does not write the row a second time for it."""
    if to_status is not None:
        case.status = to_status
    if touch:
        case.updated_at = now
    event = CaseEvent(case=case, at=now, actor_id=None, action=action, note=note,
                      from_status=from_status, to_status=to_status, data=data or {})
    session.add(event)
    return event


def work_calendar(session: Session) -> WorkCalendar:
    """The working-day calendar the clocks of this installation use (one place to read it):
    chinesecalendar with the admin's overrides and entered notices (huiying/workdays.py)."""
    from huiying import workdays  # it reads the workflow's states

    return workdays.work_calendar(session)


def start_waiting_clock(session: Session, case: Case, calendar: WorkCalendar, tz: str = DEFAULT_TIMEZONE,
                        *, now: datetime | None = None) -> bool:
    """A case that waited for a missing calendar year gets its due time once `calendar` has
    the days (the admin entered the year); False while it still lacks them."""
    try:
        due = clock_due(case, calendar, tz)
    except CalendarMissing:
        return False
    _set_due_at(case, due)
    _system(session, case, SystemAction.CALENDAR_DUE, now=now or utcnow(),
            note="工作日历已补录，按工作日计算办理时限", data={"due_at": _iso(due)})
    return True


def clock_due(case: Case, calendar: WorkCalendar | None, tz: str = DEFAULT_TIMEZONE) -> datetime | None:
    """The due time of the case's own clock, from when the public wrote (`first_seen_at`):
    statutory working days for a typed hotline/mailbox request, 舆情 hours by severity
    otherwise; a 依申请公开 request's legal due time (None while it waits for a correction).
    Raises CalendarMissing when the calendar does not cover the days needed (`calendar` may be
    None for a 舆情 clock, which counts hours)."""
    if case.disclosure is not None:
        return disclosure.legal_due(case.disclosure, calendar, tz)
    if case.request_type:
        days = STATUTORY_WORKING_DAYS.get(case.request_type, OTHER_REQUEST_WORKING_DAYS)
        return due_after_working_days(case.first_seen_at, days, calendar, tz=tz)
    return due_after_hours(case.first_seen_at, RESPONSE_HOURS[Severity(case.severity)])


def _start_clock(session: Session, case: Case, now: datetime, tz: str,
                 calendar: WorkCalendar | None = None) -> None:
    """Set the due time from the case's clock; without a calendar for the year the case is
    visibly without one (an event says why) until the calendar knows the year. `calendar`:
    one a batch read once (None: read it here, and only for a clock counting working days)."""
    if calendar is None and (case.request_type or case.disclosure is not None):
        calendar = work_calendar(session)
    try:
        _set_due_at(case, clock_due(case, calendar, tz))
    except CalendarMissing as exc:
        _set_due_at(case, None)  # a request's extension or correction: not the old due time either
        days = STATUTORY_WORKING_DAYS.get(case.request_type or "", OTHER_REQUEST_WORKING_DAYS)
        _system(session, case, SystemAction.CALENDAR_MISSING, now=now,
                note=f"工作日历缺少 {exc.year} 年的节假日安排，暂无办理时限；管理员在“工作日历”页录入该年"
                     "节假日安排后，系统自动计算时限。",
                data={"year": exc.year, "working_days": days, "request_type": case.request_type,
                      "detail": str(exc)})


def _set_due_at(case: Case, due: datetime | None) -> None:
    """The case's due time, and a request's legal due time with it."""
    case.due_at = due
    if case.disclosure is not None:
        case.disclosure.due_at = due


def _first_reply(case: Case, at: datetime) -> None:
    """Keep the first official reply and whether it came by the due time."""
    if case.first_reply_at is None or at < case.first_reply_at:
        case.first_reply_at = at
        case.replied_on_time = case.due_at is None or at <= case.due_at


def _add_heat(session: Session, amounts: dict[Case, int], now: datetime) -> None:
    """heat = heat + amount in SQL for each case, in one statement and in id order: two
    workers folding comments into a case at once both count."""
    session.flush()  # the changes before (new cases get their ids)
    table = Case.__table__
    session.connection().execute(
        update(table).where(table.c.id == bindparam("case_id"))
        .values(heat=table.c.heat + bindparam("amount"), updated_at=now),
        [{"case_id": case.id, "amount": amount}
         for case, amount in sorted(amounts.items(), key=lambda item: item[0].id)])
    for case in amounts:
        session.expire(case, ["heat", "updated_at"])


def open_case(session: Session, comment: Comment, result: Analysis, department: Department | None, *,
              request_type: str | None = None, now: datetime | None = None,
              tz: str = DEFAULT_TIMEZONE, calendar: WorkCalendar | None = None) -> Case:
    """A new case from `comment` and its analysis: created, then routed to `department` or
    left for triage; its clock starts when the public wrote. A comment that already carries
    an official reply (a board's answer, an imported row's 答复) opens as already replied.
    `request_type`: the working-day clock of a hotline/mailbox request (None: 舆情 hours).

    Nothing is flushed: a batch opens its cases and their events in memory and inserts them
    together (the case has no id until then)."""
    now = now or utcnow()
    case = Case(
        title=(comment.title or result.text_norm[:60])[:300],
        summary=result.text_norm[:500],
        fingerprint=result.fingerprint,
        match_text=result.text_norm,
        topic=result.topic,
        severity=result.severity,
        initial_severity=result.severity,
        severity_reasons=result.severity_reasons,
        sentiment=result.sentiment,
        sentiment_label=result.label,
        first_seen_at=comment.published_at or now,
        request_type=request_type,
        first_comment_id=comment.id,
        status=S.TRIAGE,
        created_at=now,
    )
    session.add(case)
    comment.case = case
    _system(session, case, SystemAction.CREATE, now=now, to_status=S.TRIAGE,
            note=f"由留言 #{comment.id} 生成", data={"comment_id": comment.id})
    _start_clock(session, case, now, tz, calendar)
    if department is not None:
        auto_assign(session, case, department, confidence=result.route_confidence, now=now, tz=tz,
                    calendar=calendar)
    else:
        triage(session, case, result.suggestions, now=now)
    if comment.official_reply or comment.replied_at:
        source_reply(session, case, comment, now=now)
    return case


def auto_assign(session: Session, case: Case, department: Department, *, confidence: float,
                note: str = "按分办规则派至{department}", reason: str | None = None,
                now: datetime | None = None, tz: str = DEFAULT_TIMEZONE,
                calendar: WorkCalendar | None = None) -> CaseEvent:
    """The routing table or the trained router sends a case waiting for triage to `department`."""
    now = now or utcnow()
    before = case.status
    case.department = department
    event = _system(session, case, Action.ASSIGN, now=now, from_status=before, to_status=S.ASSIGNED,
                    note=note.format(department=department.name),
                    data={"department": department.name, "confidence": confidence,
                          **({"reason": reason} if reason else {})})
    if case.due_at is None:
        _start_clock(session, case, now, tz, calendar)
    return event


def triage(session: Session, case: Case, suggestions: list[str], *,
           now: datetime | None = None) -> CaseEvent:
    """No department is sure: the case waits for the press office (待研判)."""
    return _system(session, case, SystemAction.TRIAGE, now=now or utcnow(), to_status=S.TRIAGE,
                   note="无法确定承办科室，待宣传办研判", data={"suggestions": list(suggestions)})


def reclassify(session: Session, case: Case, topic: str | None, note: str, reason: str, *,
               now: datetime | None = None) -> CaseEvent:
    """The topic taxonomy changed and gives the case another topic."""
    before, case.topic = case.topic, topic
    return _system(session, case, SystemAction.RECLASSIFY, now=now or utcnow(), note=note,
                   data={"from": before, "to": topic, "reason": reason})


def untouched_triage(session: Session, case: Case) -> bool:
    """Waiting for triage and nobody has acted on it: the system may still route it."""
    if case.status != S.TRIAGE or case.department_id is not None:
        return False
    return untouched(session, case)


def untouched(session: Session, case: Case) -> bool:
    """Nobody has acted on the case: every event of it is the system's."""
    acted = session.scalar(select(func.count(CaseEvent.id)).where(
        CaseEvent.case_id == case.id, CaseEvent.actor_id.is_not(None)))
    return not acted


def source_reply(session: Session, case: Case, comment: Comment, *,
                 now: datetime | None = None) -> CaseEvent | None:
    """The official reply the source already carried (a board's answer, an export's 答复):
    the case is replied at that time, on time judged against its own clock, and 办结 when the
    export gives a closing time. Nothing is asked of anyone: no assignment email, no clock."""
    now = now or utcnow()
    # Without a reply time (some boards show none) it was answered by the time it was fetched.
    at = comment.replied_at or comment.fetched_at
    before = case.status
    to_status = S.CLOSED if comment.closed_at is not None else S.REPLIED
    _first_reply(case, at)
    unit = comment.reply_unit or None
    event = _system(session, case, SystemAction.SOURCE_REPLY, now=at, from_status=before,
                    to_status=to_status,
                    note=(comment.official_reply or "（来源已标记为答复，未附答复内容）").strip(),
                    data={"on_time": case.replied_on_time, "due_at": _iso(case.due_at), "unit": unit,
                          "closed_at": _iso(comment.closed_at), "recorded_at": _iso(now)})
    case.updated_at = now
    return event


def source_reply_later(session: Session, case: Case, comment: Comment, *,
                       now: datetime | None = None) -> CaseEvent:
    """A reply that appeared on the source after the case was opened (a board answers days
    later, a re-imported export has its 答复 filled in): recorded on the case — who, when, what.
    A case still owing its answer is replied (or 办结) as `source_reply` does, at the reply's
    time; one already answered, closed or set aside keeps its state and gains the reply as
    history (its first reply stays the earlier one)."""
    now = now or utcnow()
    if case.status not in DONE_STATUSES and case.status not in NOT_TO_ANSWER:
        return source_reply(session, case, comment, now=now)
    at = comment.replied_at or comment.fetched_at
    _first_reply(case, at)  # an earlier reply than the one recorded (rare) becomes the first
    event = _system(session, case, SystemAction.SOURCE_REPLY, now=at,
                    note=(comment.official_reply or "（来源已标记为答复，未附答复内容）").strip(),
                    data={"on_time": case.replied_on_time, "due_at": _iso(case.due_at),
                          "unit": comment.reply_unit or None, "comment_id": comment.id,
                          "recorded_at": _iso(now)})
    case.updated_at = now
    return event


def add_comments(session: Session, joins: Sequence[tuple[Case, Comment, str]], *,
                 now: datetime | None = None) -> None:
    """Reposts, near-duplicates and forum floors join their cases, `joins` being (case,
    comment, how) in the batch's order: an event each; each case's heat grows by its new
    comments in one SQL increment (two workers folding into a case at once both count), and a
    case whose comments came fast is escalated.

    Set-based: one flush, one heat update for all the cases, one read of the comments that
    count towards their heat."""
    if not joins:
        return
    now = now or utcnow()
    joined: dict[Case, list[Comment]] = {}
    for case, comment, how in joins:
        comment.case = case
        _system(session, case, SystemAction.MERGE_COMMENT, now=now, note=f"{how}：留言 #{comment.id}",
                data={"comment_id": comment.id}, touch=False)
        joined.setdefault(case, []).append(comment)
    _add_heat(session, {case: len(comments) for case, comments in joined.items()}, now)
    _escalate_joined(session, joined, now)


def _escalate_joined(session: Session, joined: dict[Case, list[Comment]], now: datetime) -> None:
    """After each joining comment, as if one at a time: the comments of its case written in
    the 24 hours before it (those already in the case, then the batch's in order) may raise
    the severity."""
    ids = {comment.id for comments in joined.values() for comment in comments}
    written = {comment.id: comment.published_at or now for comments in joined.values()
               for comment in comments}
    since = min(written.values()) - timedelta(hours=24)
    earlier: dict[int, list[datetime]] = {}
    for case_id, comment_id, at in session.execute(
            select(Comment.case_id, Comment.id, _written())
            .where(Comment.case_id.in_([case.id for case in joined]), _written() > since)):
        if comment_id not in ids:
            earlier.setdefault(case_id, []).append(at)
    for case, comments in joined.items():
        times = earlier.get(case.id, [])
        for comment in comments:
            times.append(comment.published_at or comment.fetched_at)
            moment = written[comment.id]
            recent = sum(1 for at in times if moment - timedelta(hours=24) < at <= moment)
            escalate(session, case, moment, recent, now=now)


def _written():
    """When a comment was written: its publication time, else when it was fetched."""
    return func.coalesce(Comment.published_at, Comment.fetched_at)


def escalate(session: Session, case: Case, written: datetime, recent: int, *,
             now: datetime | None = None) -> None:
    """Raise the severity when `recent` comments were written within the 24 hours before
    `written` (the newest one's time); a faster clock applies from then if it ends sooner."""
    now = now or utcnow()
    level, reasons = escalate_for_heat(case.severity, list(case.severity_reasons), recent)
    if level == case.severity:
        return
    _system(session, case, SystemAction.ESCALATE, now=now, note=reasons[-1],
            data={"from": case.severity, "to": level})
    case.severity, case.severity_reasons, case.escalated_at = level, reasons, now
    due = due_after_hours(written, RESPONSE_HOURS[Severity(level)])
    if case.due_at is None or due < case.due_at:
        case.due_at = due


def carried_on_by(session: Session, case: Case | None) -> Case | None:
    """The case a merged case went into, following chains: new reposts of a merged matter
    join the case that carries it on."""
    seen: set[int] = set()
    while case is not None and case.status == S.MERGED and case.merged_into_id and case.id not in seen:
        seen.add(case.id)
        target = session.get(Case, case.merged_into_id)
        if target is None:
            break
        case = target
    return case
