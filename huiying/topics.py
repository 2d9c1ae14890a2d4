"""After the admin edits the topic taxonomy: re-classify what is stored, and show where the
rules and the people who corrected topics still disagree.

`reclassify_topics` is idempotent: a second run with the same taxonomy changes nothing, so
the task may be delivered twice and the CLI may be run at any time.

A new topic word can also make a comment relevant that was dismissed (the local-topic
rescue of `analysis.pipeline.rescued`): such a comment is marked unprocessed, so the
worker's next pass (or the CLI, at once) analyses it again and it becomes a case.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from analysis.pipeline import decide_route, rescued
from analysis.rules import TopicMatcher, topic_matcher, topic_of
from huiying import workflow
from huiying.cases import enabled_topics, routing_rules
from huiying.models import Case, Comment, Department, Label, LabelField, User

BATCH = 1000
REASON = "topic_edit"
NO_TOPIC = "无"  # how case notes write "no topic" (the correction form's wording)


def reclassify_topics(session: Session, router=None) -> dict[str, int]:
    """Give every analysed comment the topic the current enabled topics give its normalised
    text, as processing would now; a comment whose topic a person corrected keeps it.

    A case's topic is its first comment's, as when it was created; each case whose topic
    changes gets a `reclassify` event. A case still waiting for triage that nobody has
    acted on is then routed as processing would route it now: by the routing table, else
    by `router` (the installation's trained router, if any) when it is confident.
    Commits as it goes; returns the counts.
    """
    matcher = topic_matcher(enabled_topics(session))
    summary = {"comments_checked": 0, "comments_changed": 0, "skipped_corrected": 0,
               "comments_reanalysed": 0, "cases_changed": 0, "cases_routed": 0}
    last_id = 0
    while True:
        comments = session.scalars(
            select(Comment).where(Comment.id > last_id, Comment.processed_at.is_not(None),
                                  Comment.text_norm.is_not(None), Comment.analysis_error.is_(None))
            .order_by(Comment.id).limit(BATCH)).all()
        if not comments:
            break
        # Read just before the writes, so a correction made meanwhile is not overwritten.
        corrected = _corrected(session, last_id + 1, comments[-1].id)
        judged = _corrected(session, last_id + 1, comments[-1].id, LabelField.RELEVANT)
        last_id = comments[-1].id
        for comment in comments:
            summary["comments_checked"] += 1
            if comment.id in corrected:
                summary["skipped_corrected"] += 1
                continue
            topic, strong = topic_of(comment.text_norm, matcher)
            if topic != comment.topic:
                comment.topic = topic
                summary["comments_changed"] += 1
            comment.model_version = _with_topics_version(comment.model_version, matcher)
            if (comment.case_id is None and not comment.relevant and comment.id not in judged
                    and rescued(comment.text_norm, comment.relevance or 0.0, topic, strong)):
                comment.processed_at = None  # analysed again by the next processing pass
                summary["comments_reanalysed"] += 1
        session.commit()
    _reclassify_cases(session, _corrected(session), summary, router)
    return summary


def _corrected(session: Session, low: int = 0, high: int | None = None,
               field: str = LabelField.TOPIC) -> set[int]:
    """Ids (between low and high) of the comments whose `field` a person corrected."""
    query = select(Label.comment_id).where(Label.field == field, Label.comment_id >= low)
    if high is not None:
        query = query.where(Label.comment_id <= high)
    return set(session.scalars(query))


def _with_topics_version(version: str | None, matcher: TopicMatcher) -> str | None:
    """The comment's model version with the taxonomy part as analysis.pipeline writes it:
    `topics-<digest>` last, absent for the lexicon's own taxonomy."""
    if not version:
        return version
    parts = [p for p in version.split(";") if not p.startswith("topics-")]
    if matcher.digest != topic_matcher().digest:
        parts.append(f"topics-{matcher.digest}")
    return ";".join(parts)


def _reclassify_cases(session: Session, corrected: set[int], summary: dict[str, int], router) -> None:
    first = _first_comments(session)
    changed = {case_id: first[case_id][1] for case_id, topic in session.execute(select(Case.id, Case.topic))
               if case_id in first and first[case_id][0] not in corrected  # else a person chose it
               and first[case_id][1] != topic}
    if not changed:
        return
    rules = routing_rules(session)
    departments = {d.name: d for d in session.scalars(select(Department))}
    for case in session.scalars(select(Case).where(Case.id.in_(changed)).order_by(Case.id)):
        old, new = case.topic, changed[case.id]
        summary["cases_changed"] += 1
        note = f"主题 {old or NO_TOPIC}→{new or NO_TOPIC}（主题设置修改后重新归类）"
        workflow.reclassify(session, case, new, note, REASON)
        if workflow.untouched_triage(session, case):
            summary["cases_routed"] += _route(session, case, rules, router, departments)
    session.commit()


def _first_comments(session: Session) -> dict[int, tuple[int, str | None]]:
    """case id → (id, topic) of the comment that opened it (Case.first_comment_id), else of
    its oldest comment."""
    attached: dict[int, tuple[int, str | None]] = {}  # comment id → (case id, topic)
    first: dict[int, tuple[int, str | None]] = {}
    for comment_id, case_id, topic in session.execute(
            select(Comment.id, Comment.case_id, Comment.topic).where(Comment.case_id.is_not(None))
            .order_by(Comment.id.desc())):
        attached[comment_id] = (case_id, topic)
        first[case_id] = (comment_id, topic)
    for case_id, comment_id in session.execute(select(Case.id, Case.first_comment_id)
                                               .where(Case.first_comment_id.is_not(None))):
        if comment_id in attached and attached[comment_id][0] == case_id:
            first[case_id] = (comment_id, attached[comment_id][1])
    return first


def _route(session: Session, case: Case, rules, router, departments: dict[str, Department]) -> int:
    """Route a triage case as processing routes a new one (the table, then the installation's
    trained router when it is confident), if that now decides."""
    routed = router.predict([case.match_text], normalised=True)[0] if router is not None else None
    decision = decide_route(case.match_text, case.topic, rules, routed)
    department = departments.get(decision.department) if decision.department else None
    if department is None:
        return 0
    workflow.auto_assign(session, case, department, confidence=decision.confidence,
                         note="按分办规则派至{department}（主题重新归类后）", reason=REASON)
    return 1


@dataclass(frozen=True)
class Disagreement:
    """A person's topic correction that the current rules would not make."""

    comment_id: int
    case_id: int | None
    text: str
    rule_topic: str | None
    corrected_topic: str | None
    username: str | None
    at: datetime


def topic_disagreements(session: Session, limit: int = 50) -> list[Disagreement]:
    """The newest topic correction of each comment where the current enabled topics give
    another topic, newest first: the words the admin may want to add."""
    matcher = topic_matcher(enabled_topics(session))
    rows = session.execute(
        select(Label, Comment, User.username).join(Comment, Label.comment_id == Comment.id)
        .outerjoin(User, Label.user_id == User.id)
        .where(Label.field == LabelField.TOPIC).order_by(Label.id.desc())).all()
    seen: set[int] = set()
    found: list[Disagreement] = []
    for label, comment, username in rows:
        if comment.id in seen:
            continue
        seen.add(comment.id)
        text = comment.text_norm or f"{comment.title} {comment.body}".strip()
        rule_topic, _ = topic_of(text, matcher)
        corrected = label.value or None
        if rule_topic == corrected:
            continue
        found.append(Disagreement(comment.id, comment.case_id, text, rule_topic, corrected,
                                  username, label.created_at))
        if len(found) >= limit:
            break
    return found
