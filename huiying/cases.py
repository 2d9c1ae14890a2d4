"""From stored comments to cases: analyse, fold reposts, route, start the clock.

Everything here is idempotent: a comment is processed once whatever the number of
messages that name it, so a redelivered or swept id costs nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from analysis import Analysis, analyse_many
from analysis.fingerprint import containment, is_near_duplicate
from analysis.routing import Rule
from analysis.rules import escalate_for_heat
from huiying.clocks import (
    DEFAULT_TIMEZONE,
    STATUTORY_WORKING_DAYS,
    CalendarMissing,
    due_after_hours,
    due_after_working_days,
)
from huiying.models import (
    Case,
    CaseEvent,
    CaseSignature,
    CaseStatus,
    Comment,
    Department,
    Label,
    LabelField,
    RoutingRule,
    Severity,
    Topic,
    utcnow,
)
from huiying.sources import IMPORT_KIND
from huiying.workdays import CALENDAR_MISSING, missing_note, work_calendar

log = logging.getLogger(__name__)

# Hours to the first response for 政务舆情 (国办发〔2016〕61号): major within 5 h, others 48 h.
RESPONSE_HOURS = {Severity.MAJOR: 5, Severity.SERIOUS: 48, Severity.GENERAL: 48}
# Working days of an imported request type without a period of its own (求助, 举报, …): the
# longest hotline period, as 12345 rules give most non-咨询 requests (docs/import.md).
OTHER_REQUEST_WORKING_DAYS = 13


def routing_rules(session: Session) -> list[Rule]:
    rows = session.execute(
        select(RoutingRule.topic, RoutingRule.keyword, RoutingRule.priority, Department.name)
        .join(Department, RoutingRule.department_id == Department.id)
    )
    return [Rule(department=d, topic=t, keyword=k, priority=p) for t, k, p, d in rows]


def enabled_topics(session: Session) -> dict[str, tuple[list[str], list[str]]] | None:
    """The admin's taxonomy, name → (strong words, weak words), in id order.

    None when the table was never seeded (analysis then uses the lexicon's topics); an
    empty mapping when the admin disabled every topic.
    """
    rows = session.execute(
        select(Topic.name, Topic.strong_words, Topic.weak_words, Topic.enabled).order_by(Topic.id)
    ).all()
    if not rows:
        return None
    return {name: (list(strong), list(weak)) for name, strong, weak, enabled in rows if enabled}


def process_comments(session: Session, ids: Sequence[int], *, engine: str = "default",
                     router=None, relevance=None, tz: str = DEFAULT_TIMEZONE) -> int:
    """Analyse the still-unprocessed comments among `ids`; return how many were processed.
    `router` and `relevance`: the installation's own models (None: none / the shipped one);
    `tz`: the installation's time zone (HUIYING_TIMEZONE), where working days are counted."""
    query = select(Comment).where(Comment.id.in_(ids), Comment.processed_at.is_(None))
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        # Two workers given the same id: one takes it, the other skips it.
        query = query.with_for_update(skip_locked=True)
    comments = list(session.scalars(query.order_by(Comment.id)))
    if not comments:
        return 0
    results = analyse_many([(c.title, c.body) for c in comments],
                           rules=routing_rules(session), engine=engine, router=router,
                           topics=enabled_topics(session), relevance=relevance)
    departments = {d.name: d for d in session.scalars(select(Department))}
    now = utcnow()
    for comment, result in zip(comments, results, strict=True):
        _store_analysis(comment, result, now)
        if result.relevant and not result.error:
            _attach_to_case(session, comment, result, departments, now, tz)
    session.commit()
    return len(comments)


def _store_analysis(comment: Comment, result: Analysis, now: datetime) -> None:
    comment.text_norm = result.text_norm
    comment.relevance = result.relevance
    comment.relevant = result.relevant
    comment.sentiment = result.sentiment
    comment.sentiment_label = result.label
    comment.topic = result.topic
    comment.severity = result.severity
    comment.fingerprint = result.fingerprint
    comment.model_version = result.model_version
    comment.analysis_error = result.error
    comment.processed_at = now


def _near_duplicate_case(session: Session, result: Analysis) -> Case | None:
    """The case whose first text this one nearly repeats (LSH candidates, then containment)."""
    if not result.lsh_keys:
        return None
    shared = func.count(CaseSignature.id)
    candidates = session.execute(
        select(CaseSignature.case_id, shared).where(CaseSignature.key.in_(result.lsh_keys))
        .group_by(CaseSignature.case_id).order_by(shared.desc()).limit(20)
    ).all()
    best, best_score = None, 0.0
    for case_id, _ in candidates:
        case = session.get(Case, case_id)
        if case is None or not is_near_duplicate(result.text_norm, case.match_text):
            continue
        score = containment(result.text_norm, case.match_text)
        if score > best_score:
            best, best_score = case, score
    return best


def _merged_into(session: Session, case: Case | None) -> Case | None:
    """The case a merged case went into (huiying/workflow.py merge), following chains: new
    reposts of a merged matter join the case that carries it on."""
    seen: set[int] = set()
    while case is not None and case.status == CaseStatus.MERGED and case.id not in seen:
        seen.add(case.id)
        data = session.scalar(select(CaseEvent.data).where(
            CaseEvent.case_id == case.id, CaseEvent.action == "merge").order_by(CaseEvent.id.desc()).limit(1))
        target = session.get(Case, data["into"]) if data and data.get("into") else None
        if target is None:
            break
        case = target
    return case


def _attach_to_case(session: Session, comment: Comment, result: Analysis,
                    departments: dict[str, Department], now: datetime, tz: str) -> None:
    case = session.scalar(select(Case).where(Case.fingerprint == result.fingerprint))
    how = "相同诉求"
    if case is None:
        case = _near_duplicate_case(session, result)
        how = "近似重复"
    case = _merged_into(session, case)
    if case is None:
        try:
            with session.begin_nested():
                case = _new_case(session, comment, result, departments, now, tz)
        except IntegrityError:
            # Another worker created the same case a moment ago: join it instead.
            case = session.scalar(select(Case).where(Case.fingerprint == result.fingerprint))
            if case is None:
                raise
        else:
            comment.case = case
            return
    comment.case = case
    case.heat += 1
    case.updated_at = now
    session.add(CaseEvent(case=case, action="merge_comment", note=f"{how}：留言 #{comment.id}",
                          data={"comment_id": comment.id}))
    _escalate_for_heat(session, case, now)


def _escalate_for_heat(session: Session, case: Case, now: datetime) -> None:
    session.flush()
    recent = session.scalar(select(func.count(Comment.id)).where(
        Comment.case_id == case.id, Comment.fetched_at >= now - timedelta(hours=24)))
    level, reasons = escalate_for_heat(case.severity, list(case.severity_reasons), recent)
    if level == case.severity:
        return
    session.add(CaseEvent(case=case, action="escalate", note=reasons[-1],
                          data={"from": case.severity, "to": level}))
    case.severity, case.severity_reasons = level, reasons
    # A faster clock applies from now if it ends before the current one.
    due = due_after_hours(now, RESPONSE_HOURS[Severity(level)])
    if case.due_at is None or due < case.due_at:
        case.due_at = due


def _first_due(session: Session, comment: Comment, severity: str, now: datetime,
               tz: str) -> tuple[datetime | None, dict]:
    """The due time of a new case, and what to record when the calendar lacks the year.

    An imported hotline or mailbox request with a type runs on statutory working days from
    its received time; everything else on the 政务舆情 hours from now.
    """
    if comment.source.kind == IMPORT_KIND and comment.request_type:
        days = STATUTORY_WORKING_DAYS.get(comment.request_type, OTHER_REQUEST_WORKING_DAYS)
        try:
            return due_after_working_days(comment.published_at or now, days, work_calendar(session),
                                          tz=tz), {}
        except CalendarMissing as exc:
            # Shown in the case history: Chinese; the admin's instructions are in the log.
            log.warning("case of comment %s has no due time yet: %s", comment.id, exc)
            return None, {"note": missing_note(exc.year),
                          "data": {"year": exc.year, "working_days": days,
                                   "request_type": comment.request_type}}
    # The clock starts when the bureau learns of the matter, not when it was written.
    return due_after_hours(now, RESPONSE_HOURS[Severity(severity)]), {}


def _new_case(session: Session, comment: Comment, result: Analysis,
              departments: dict[str, Department], now: datetime, tz: str = DEFAULT_TIMEZONE) -> Case:
    department = departments.get(result.department) if result.department else None
    first_seen = comment.published_at or now
    due_at, missing = _first_due(session, comment, result.severity, now, tz)
    case = Case(
        title=(comment.title or result.text_norm[:60])[:300],
        summary=result.text_norm[:500],
        fingerprint=result.fingerprint,
        match_text=result.text_norm,
        topic=result.topic,
        severity=result.severity,
        severity_reasons=result.severity_reasons,
        sentiment=result.sentiment,
        sentiment_label=result.label,
        first_seen_at=first_seen,
        due_at=due_at,
        status=CaseStatus.ASSIGNED if department else CaseStatus.TRIAGE,
        department=department,
    )
    session.add(case)
    session.flush()
    session.add_all(CaseSignature(case_id=case.id, key=key) for key in result.lsh_keys)
    session.add(CaseEvent(case=case, action="create", to_status=CaseStatus.TRIAGE,
                          note=f"由留言 #{comment.id} 生成", data={"comment_id": comment.id}))
    if missing:  # visibly without a deadline until the calendar knows the year
        session.add(CaseEvent(case=case, action=CALENDAR_MISSING, **missing))
    if department:
        session.add(CaseEvent(
            case=case, action="assign", from_status=CaseStatus.TRIAGE,
            to_status=CaseStatus.ASSIGNED, note=f"按分办规则派至{department.name}",
            data={"department": department.name, "confidence": result.route_confidence},
        ))
    else:
        session.add(CaseEvent(
            case=case, action="triage", to_status=CaseStatus.TRIAGE,
            note="无法确定承办科室，待宣传办研判",
            data={"suggestions": result.suggestions},
        ))
    return case


def unprocessed_ids(session: Session, limit: int = 10_000,
                    stored_before: datetime | None = None) -> list[int]:
    """Comments stored but not processed; with `stored_before`, only those stored earlier."""
    query = select(Comment.id).where(Comment.processed_at.is_(None))
    if stored_before is not None:
        query = query.where(Comment.fetched_at < stored_before)
    return list(session.scalars(query.order_by(Comment.id).limit(limit)))


def routing_history(session: Session) -> tuple[list[str], list[str]]:
    """(text, department) of every case that went to a department: what the router learns.

    A press officer's reassignment changes the case's department, so corrections are
    included as they are made.
    """
    rows = session.execute(
        select(Case.match_text, Department.name).join(Department, Case.department_id == Department.id)
        .where(Case.match_text != "")
    ).all()
    return [text for text, _ in rows], [name for _, name in rows]


def _newest_corrections(session: Session, field: LabelField) -> list[tuple[str, str]]:
    """(value, title + " " + body) of the newest correction of `field` of each comment."""
    rows = session.execute(
        select(Label.comment_id, Label.value, Comment.title, Comment.body)
        .join(Comment, Label.comment_id == Comment.id)
        .where(Label.field == field).order_by(Label.id)
    ).all()
    latest = {comment_id: (value, f"{title or ''} {body or ''}".strip())
              for comment_id, value, title, body in rows}
    return [(value, text) for value, text in latest.values() if text]


def sentiment_corrections(session: Session) -> list[tuple[str, int]]:
    """(title + " " + body, 1 positive / 0 negative) of every comment whose sentiment a person
    corrected in the dashboard; the newest correction of a comment counts, neutral is skipped."""
    return [(text, 1 if value == "positive" else 0)
            for value, text in _newest_corrections(session, LabelField.SENTIMENT)
            if value in ("positive", "negative")]


def relevance_corrections(session: Session) -> list[tuple[str, bool]]:
    """(title + " " + body, relevant) of every comment whose relevance (相关) a person corrected
    in the dashboard; the newest correction of a comment counts."""
    return [(text, value == "true") for value, text in _newest_corrections(session, LabelField.RELEVANT)
            if value in ("true", "false")]


_installation_models: dict[str, tuple] = {}


def _installation_model(data_dir, name: str, load):
    """The model `huiying model train NAME` wrote to data_dir/models/NAME, if any; loaded
    once per process and again only when a new one has been written."""
    meta = data_dir / "models" / name / "meta.json"
    if not meta.is_file():
        return None
    key = (str(meta), meta.stat().st_mtime_ns)
    if name not in _installation_models or _installation_models[name][0] != key:
        _installation_models[name] = (key, load(meta.parent))
    return _installation_models[name][1]


def installation_router(data_dir):
    """The router trained on this installation's history, if any."""
    from analysis.router import RouterModel

    return _installation_model(data_dir, "router", RouterModel.load)


def installation_relevance(data_dir):
    """The relevance model trained for this installation (with its corrections), if any;
    None: analysis uses the shipped one."""
    from analysis.relevance import RelevanceModel

    return _installation_model(data_dir, "relevance", RelevanceModel.load)
