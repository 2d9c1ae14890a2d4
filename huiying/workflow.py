"""The case workflow: who may move a case from which state to which (DESIGN.md "Route and
respond"), one function per action, each appending a CaseEvent. Events are never edited.

The rules are the data in `RULES`; `check` and `available_actions` read nothing else, so the
dashboard shows exactly the actions that would succeed. The admin may do everything, a
leader nothing. A refused action raises `WorkflowError`, whose message is one Chinese
sentence (the dashboard translates it: the templates are marked with `N_`).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from huiying.cases import RESPONSE_HOURS
from huiying.errors import HuiyingError
from huiying.models import Case, CaseEvent, CaseStatus, Comment, Department, Role, Severity, User, utcnow

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
}

# Shown in refusals; the dashboard translates them as its buttons (context "button").
ACTION_NAMES = {
    Action.ASSIGN: "派单", Action.ACCEPT: "签收", Action.RETURN: "退回", Action.REPLY: "回复",
    Action.REQUEST_EXTENSION: "申请延期", Action.APPROVE_EXTENSION: "批准延期",
    Action.REJECT_EXTENSION: "驳回延期申请", Action.FOLLOW_UP: "回访", Action.CLOSE: "办结",
    Action.REJECT: "不予处理", Action.MERGE: "合并",
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
    if case.status not in rule.from_statuses:
        raise WorkflowError(N_("案件当前状态为“%(status)s”，不能执行“%(action)s”。"),
                            status=case.status, action=name)
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
           note: str = "", now: datetime | None = None) -> CaseEvent:
    """Send the case to `department` (again). The clock started when the case was created and
    keeps running; a case without one gets the response time of its severity from now."""
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
    if case.due_at is None:
        case.due_at = now + timedelta(hours=RESPONSE_HOURS[Severity(case.severity)])
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
    return _record(session, case, actor, Action.REPLY, now=now, note=text,
                   data={"on_time": on_time, "due_at": _iso(case.due_at)})


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
    moved = list(session.scalars(select(Comment.id).where(Comment.case_id == case.id)
                                 .order_by(Comment.id)))
    session.execute(update(Comment).where(Comment.case_id == case.id).values(case_id=target.id)
                    .execution_options(synchronize_session="fetch"))
    event = _record(session, case, actor, Action.MERGE, now=now, note=f"并入案件 #{target.id}",
                    data={"into": target.id, "comment_ids": moved, "heat": case.heat})
    target.heat += case.heat
    target.updated_at = now
    session.add(CaseEvent(case=target, at=now, actor_id=actor.id, action=MERGED_IN,
                          note=f"案件 #{case.id} 并入本案", data={"from": case.id, "comment_ids": moved,
                                                                   "heat": case.heat}))
    return event
