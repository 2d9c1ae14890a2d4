"""From stored comments to cases: analyse, fold reposts; huiying/workflow.py opens, routes
and escalates the cases and starts their clocks.

Everything here is idempotent: a comment is processed once whatever the number of
messages that name it, so a redelivered or swept id costs nothing.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select, tuple_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from analysis import Analysis, analyse_many
from analysis.fingerprint import containment, is_near_duplicate
from analysis.routing import Rule
from huiying import hot_terms, workflow
from huiying.clocks import DEFAULT_TIMEZONE
from huiying.models import (
    Case,
    CaseSignature,
    Comment,
    Department,
    Label,
    LabelField,
    RoutingRule,
    Topic,
    utcnow,
)
from huiying.sources import IMPORT_KIND

log = logging.getLogger(__name__)


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
    threads = _thread_cases(session, comments)
    _lock_cases_of(session, comments, results, threads)
    now = utcnow()
    for comment, result in zip(comments, results, strict=True):
        _store_analysis(comment, result, now)
        if result.error:
            continue
        thread = _thread_case(session, comment, threads) if comment.case_id is None else None
        if _imported(comment):
            _open_own_case(session, comment, result, departments, now, tz)
        elif thread is not None:
            # A forum floor joins its thread's case, whatever its own relevance: it is the
            # thread's discussion (a later floor is heat on the same concern, not a new case).
            workflow.add_comment(session, workflow.carried_on_by(session, thread), comment, "跟帖", now=now)
        elif result.relevant and comment.case_id is None:
            # (One already in a case, processed again after an edit of its text, stays there:
            # joining again would count it twice in the case's heat.)
            _attach_to_case(session, comment, result, departments, now, tz)
    # The hot-word terms, in the same transaction: a comment is counted exactly when it is stored.
    hot_terms.count_comments(session, comments, tz)
    session.commit()
    return len(comments)


def _thread_cases(session: Session, comments: list[Comment]) -> dict[tuple[int, str], int | None]:
    """The case of each forum floor's thread post among `comments` (posts not stored: absent;
    not in a case yet: None), by (source id, thread id). A post processed earlier in the same
    batch gets its case then: see `_thread_case`."""
    keys = {(c.source_id, c.thread_id) for c in comments if c.thread_id and c.case_id is None}
    if not keys:
        return {}
    rows = session.execute(select(Comment.source_id, Comment.external_id, Comment.case_id)
                           .where(tuple_(Comment.source_id, Comment.external_id).in_(list(keys))))
    return {(source_id, external_id): case_id for source_id, external_id, case_id in rows}


def _thread_case(session: Session, comment: Comment,
                 threads: dict[tuple[int, str], int | None]) -> Case | None:
    key = (comment.source_id, comment.thread_id)
    if not comment.thread_id or key not in threads:
        return None
    if threads[key] is None:  # the post is in this batch: it may have become a case just now
        session.flush()
        threads[key] = session.scalar(select(Comment.case_id).where(
            Comment.source_id == key[0], Comment.external_id == key[1]))
    return session.get(Case, threads[key]) if threads[key] is not None else None


def _lock_cases_of(session: Session, comments: list[Comment], results: list[Analysis],
                   threads: dict[tuple[int, str], int | None]) -> None:
    """Lock the existing cases this batch's reposts, near-duplicates and forum floors may join,
    in id order, before touching any.

    Two workers folding reposts of the same posts would otherwise lock those cases in the
    order of their own batches — one waits for the other's case while holding the case the
    other waits for, a deadlock that PostgreSQL breaks by failing one batch (retried, slowly).
    """
    if session.bind is None or session.bind.dialect.name != "postgresql":
        return  # SQLite has one writer at a time
    joining = [result for comment, result in zip(comments, results, strict=True)
               if result.relevant and not result.error and comment.case_id is None]
    fingerprints = {result.fingerprint for result in joining}
    # Near-duplicates join the case whose signature keys they share: every candidate is locked
    # (a superset of the cases joined: waiting a little longer beats a deadlock).
    keys = sorted({key for result in joining for key in result.lsh_keys})
    candidates = set(session.scalars(select(CaseSignature.case_id).where(CaseSignature.key.in_(keys))
                                     .distinct())) if keys else set()
    thread_cases = {case_id for case_id in threads.values() if case_id is not None}
    if fingerprints or thread_cases or candidates:
        session.execute(select(Case.id).where(Case.fingerprint.in_(fingerprints)
                                              | Case.id.in_(thread_cases | candidates))
                        .order_by(Case.id).with_for_update())


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


def _attach_to_case(session: Session, comment: Comment, result: Analysis,
                    departments: dict[str, Department], now: datetime, tz: str) -> None:
    case = session.scalar(select(Case).where(Case.fingerprint == result.fingerprint))
    how = "相同诉求"
    if case is None:
        case = _near_duplicate_case(session, result)
        how = "近似重复"
    case = workflow.carried_on_by(session, case)
    if case is None:
        department = departments.get(result.department) if result.department else None
        try:
            with session.begin_nested():
                # A crawled comment: the 舆情 clock in hours (imports open their own cases).
                case = workflow.open_case(session, comment, result, department, now=now, tz=tz)
                session.add_all(CaseSignature(case_id=case.id, key=key) for key in result.lsh_keys)
                comment.case = case
                session.flush()
                log.info("case %d opened from comment %d (source %d): %s, %s", case.id, comment.id,
                         comment.source_id, case.severity, department.name if department else "待研判")
        except IntegrityError:
            # Another worker created the same case a moment ago: join it instead.
            case = session.scalar(select(Case).where(Case.fingerprint == result.fingerprint))
            if case is None:
                raise
        else:
            return
    workflow.add_comment(session, case, comment, how, now=now)
    log.debug("comment %d (source %d) joined case %d: %s", comment.id, comment.source_id, case.id, how)


def _imported(comment: Comment) -> bool:
    return comment.source.kind == IMPORT_KIND


def _open_own_case(session: Session, comment: Comment, result: Analysis,
                   departments: dict[str, Department], now: datetime, tz: str) -> None:
    """An imported hotline or mailbox row is a request addressed to the bureau: it becomes a
    case of its own whatever the relevance score (kept on the comment), and two tickets of
    the same text are two requests, each owed its answer (docs/figures.md)."""
    if comment.case_id is not None:  # processed again after an edit of its text
        return
    own = hashlib.sha256(f"{result.fingerprint}:{comment.source_id}:{comment.external_id}".encode())
    result.fingerprint = own.hexdigest()
    department = departments.get(result.department) if result.department else None
    case = workflow.open_case(session, comment, result, department, request_type=comment.request_type,
                              now=now, tz=tz)
    session.add_all(CaseSignature(case_id=case.id, key=key) for key in result.lsh_keys)
    comment.case = case
    log.info("case %d opened from imported row %s (comment %d, source %d)", case.id, comment.external_id,
             comment.id, comment.source_id)


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
