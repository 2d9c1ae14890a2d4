"""From stored comments to cases: analyse, fold reposts; huiying/workflow.py opens, routes
and escalates the cases and starts their clocks.

Everything here is idempotent: a comment is processed once whatever the number of
messages that name it, so a redelivered or swept id costs nothing.
"""

from __future__ import annotations

import hashlib
import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import count

from sqlalchemy import ARRAY, BigInteger, any_, bindparam, func, select, text, tuple_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified

from analysis import Analysis, analyse_many
from analysis.fingerprint import NEAR_DUPLICATE_CONTAINMENT, shingle_containment, shingles
from analysis.routing import Rule
from huiying import hot_terms, workflow
from huiying.clocks import DEFAULT_TIMEZONE, WorkCalendar
from huiying.db import insert_rows, is_postgresql
from huiying.models import (
    Case,
    CaseSignature,
    Comment,
    Department,
    Label,
    LabelField,
    RoutingRule,
    Source,
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


RETRIES_ON_CONFLICT = 3


def process_comments(session: Session, ids: Sequence[int], *, engine: str = "default",
                     router=None, relevance=None, tz: str = DEFAULT_TIMEZONE) -> int:
    """Analyse the still-unprocessed comments among `ids`; return how many were processed.
    `router` and `relevance`: the installation's own models (None: none / the shipped one);
    `tz`: the installation's time zone (HUIYING_TIMEZONE), where working days are counted."""
    for attempt in count():
        try:
            return _process(session, ids, engine=engine, router=router, relevance=relevance, tz=tz)
        except IntegrityError:
            # SQLite: another worker opened a case of the same text between this batch's read
            # and its write (PostgreSQL waits on the fingerprint's lock instead). Done again,
            # the batch joins that case.
            session.rollback()
            if attempt == RETRIES_ON_CONFLICT:
                raise
            log.info("processing batch met a case opened meanwhile; processing it again")


def _process(session: Session, ids: Sequence[int], *, engine: str, router, relevance, tz: str) -> int:
    query = select(Comment).where(Comment.id.in_(ids), Comment.processed_at.is_(None))
    if is_postgresql(session):
        # Two workers given the same id: one takes it, the other skips it.
        query = query.with_for_update(skip_locked=True)
    comments = list(session.scalars(query.order_by(Comment.id)))
    if not comments:
        return 0
    results = analyse_many([(c.title, c.body) for c in comments],
                           rules=routing_rules(session), engine=engine, router=router,
                           topics=enabled_topics(session), relevance=relevance)
    departments = {d.name: d for d in session.scalars(select(Department))}
    known = _known_cases(session, comments, results)
    # Imported requests count working days: the calendar is read once for the batch.
    calendar = workflow.work_calendar(session) if any(_imported(c) for c in comments) else None
    now = utcnow()
    joins: list[tuple[Case, Comment, str]] = []
    opened: list[tuple[Case, Comment]] = []
    keys = {comment.id: result.lsh_keys for comment, result in zip(comments, results, strict=True)}
    # No flush until every change is made: the cases the batch changes are then written in one
    # sweep in id order (see _known_cases).
    with session.no_autoflush:
        for comment, result in zip(comments, results, strict=True):
            _store_analysis(comment, result, now)
            if result.error or comment.case_id is not None:
                # (One already in a case, processed again after an edit of its text, stays there:
                # joining again would count it twice in the case's heat.)
                continue
            thread = known.thread_case(comment)
            if _imported(comment):
                case = _open_own_case(session, comment, result, departments, now, tz, calendar)
                known.add(case, result.lsh_keys)
                opened.append((case, comment))
            elif thread is not None:
                # A forum floor joins its thread's case, whatever its own relevance: it is the
                # thread's discussion (a later floor is heat on the same concern, not a new case).
                joins.append((workflow.carried_on_by(session, thread), comment, "跟帖"))
            elif result.relevant:
                case, how = known.case_for(result)
                case = workflow.carried_on_by(session, case)
                if case is not None:
                    joins.append((case, comment, how))
                    known.twin(result.fingerprint, case)  # its reposts word for word follow it
                    continue
                department = departments.get(result.department) if result.department else None
                # A crawled comment: the 舆情 clock in hours (imports open their own cases).
                case = workflow.open_case(session, comment, result, department, now=now, tz=tz)
                known.add(case, result.lsh_keys)
                opened.append((case, comment))
    # The hot-word terms, in the same transaction: a comment is counted exactly when it is
    # stored. On PostgreSQL the batch's rows were read FOR UPDATE, so they are current and their
    # terms go in the same UPDATE as the analysis; SQLite reads outside the write transaction,
    # so there they are read again once it holds the write lock (count_comments).
    counted = hot_terms.recount(comments, tz) if is_postgresql(session) else None
    workflow.add_comments(session, joins, now=now)
    session.flush()
    # The new cases' near-duplicate signatures: plain rows in one statement, no objects.
    insert_rows(session, CaseSignature.__table__,
                [{"case_id": case.id, "key": key} for case, comment in opened for key in keys[comment.id]])
    for case, comment in opened:
        log.info("case %d opened from comment %d (source %d): %s, %s", case.id, comment.id,
                 comment.source_id, case.severity, case.department.name if case.department else "待研判")
    for case, comment, how in joins:
        log.debug("comment %d (source %d) joined case %d: %s", comment.id, comment.source_id, case.id, how)
    if counted is None:
        hot_terms.count_comments(session, comments, tz)
    else:
        hot_terms.add_counts(session, counted)
    session.commit()
    crawled = [(case.id, case.match_text, keys[comment.id]) for case, comment in opened
               if not _imported(comment)]
    if crawled:
        _fold_concurrent(session, crawled, known.compared, now)
    return len(comments)


# Cases opened this long before a batch's start may have been invisible to it (their batch
# not committed yet when it read): compared again with the batch's new cases after its commit.
# A batch takes well under a second from its start to its commit, seconds on a loaded machine.
CONCURRENT_WINDOW = timedelta(seconds=10)


def _fold_concurrent(session: Session, opened: list[tuple[int, str, list[int]]], compared: set[int],
                     now: datetime) -> None:
    """Two workers opening cases of near-duplicate texts at the same moment each miss the
    other's case (not committed when it read; only exact texts wait on a lock). After its
    commit a batch compares the (id, text, signature keys) of the crawled cases it `opened`
    with the cases opened just before it that its read did not see (`compared`: the cases
    that read found sharing a key, compared then already), and the newer of two near-duplicates
    goes into the older (workflow.fold_concurrent): of two such batches the one that commits
    second sees the other's case, and row locks make one of them fold it. Commits."""
    ours = {case_id for case_id, _, _ in opened}
    seen = ours | compared
    # PostgreSQL leaves them out with a hashed NOT IN over one array parameter; SQLite, whose
    # statements take a bounded number of parameters, leaves them out here.
    unseen = (Case.id.not_in(select(func.unnest(bindparam("seen", sorted(seen), type_=ARRAY(BigInteger)))))
              if is_postgresql(session) else Case.id.not_in(ours))
    keys = sorted({key for _, _, case_keys in opened for key in case_keys})
    imported = select(Source.id).where(Source.kind == IMPORT_KIND)
    recent = (select(CaseSignature.case_id, CaseSignature.key)
              .join(Case, Case.id == CaseSignature.case_id)
              .join(Comment, Comment.id == Case.first_comment_id)
              .where(_shares_key(session, keys), Case.created_at >= now - CONCURRENT_WINDOW,
                     unseen, Case.status.not_in(workflow.CLOSED_STATUSES),
                     Comment.source_id.not_in(imported)))
    cases_of: dict[int, list[int]] = {}
    for case_id, key in session.execute(recent):
        if case_id not in seen:
            cases_of.setdefault(key, []).append(case_id)
    if not cases_of:
        session.rollback()
        return
    for case_id, (other, _) in sorted(_nearest(session, opened, cases_of).items()):
        newer, older = max(case_id, other), min(case_id, other)
        pair = {case.id: case for case in session.scalars(
            select(Case).where(Case.id.in_([older, newer])).order_by(Case.id)
            .with_for_update().execution_options(populate_existing=True))}
        # Checked again under the locks: the other batch may have folded the pair already.
        if len(pair) == 2 and all(case.status not in workflow.CLOSED_STATUSES for case in pair.values()) \
                and workflow.untouched(session, pair[newer]):
            workflow.fold_concurrent(session, pair[newer], pair[older], now=utcnow())
            log.info("case %d folded into case %d: near-duplicates opened at the same moment",
                     newer, older)
        session.commit()
    session.commit()


NEAR_DUPLICATE_CANDIDATES = 20  # of most shared signature keys, compared by containment


@dataclass
class _KnownCases:
    """The cases a batch may fold its comments into, read once: the existing ones its reposts,
    near-duplicates and forum floors may join, and those the batch opens as it goes."""

    by_fingerprint: dict[str, Case] = field(default_factory=dict)
    by_id: dict[int, Case] = field(default_factory=dict)
    # The cases opened in this batch, by signature key (existing ones were compared already).
    opened_by_key: dict[int, list[Case]] = field(default_factory=dict)
    # fingerprint → (existing case, containment) of the nearest existing case of that text.
    nearest: dict[str, tuple[int, float]] = field(default_factory=dict)
    compared: set[int] = field(default_factory=set)  # existing cases sharing a key with a text
    # Forum threads: (source id, thread post's external id) → the post's case id (None: not
    # in a case); the batch's own comments by the same key, for a post processed just now.
    threads: dict[tuple[int, str], int | None] = field(default_factory=dict)
    posts: dict[tuple[int, str], Comment] = field(default_factory=dict)
    shingles: dict[Case, set[int]] = field(default_factory=dict)  # of an opened case's text, made once

    def add(self, case: Case, keys: Sequence[int]) -> None:
        """A case the batch opened, with its signature keys: later comments may fold into it."""
        self.by_fingerprint.setdefault(case.fingerprint, case)
        for key in keys:
            self.opened_by_key.setdefault(key, []).append(case)

    def twin(self, fingerprint: str, case: Case) -> None:
        """A text that is in `case` without being its first (a near-duplicate joined it): its
        reposts word for word join the same case, unless a case was opened from the text."""
        self.by_fingerprint.setdefault(fingerprint, case)

    def case_for(self, result: Analysis) -> tuple[Case | None, str]:
        """The case the comment repeats word for word, else the one whose first text it nearly
        repeats most (by containment): the nearest existing case, or one the batch opened."""
        case = self.by_fingerprint.get(result.fingerprint)
        if case is not None:
            return case, "相同诉求"
        best, best_score = None, 0.0
        if result.fingerprint in self.nearest:
            case_id, best_score = self.nearest[result.fingerprint]
            best = self.by_id[case_id]
        opened = Counter(case for key in result.lsh_keys for case in self.opened_by_key.get(key, ()))
        if opened:
            own = shingles(result.text_norm)
            for case, _ in opened.most_common(NEAR_DUPLICATE_CANDIDATES):
                if case not in self.shingles:
                    self.shingles[case] = shingles(case.match_text)
                score = shingle_containment(result.text_norm, own, case.match_text, self.shingles[case])
                if score >= NEAR_DUPLICATE_CONTAINMENT and score > best_score:
                    best, best_score = case, score
        return best, "近似重复"

    def thread_case(self, comment: Comment) -> Case | None:
        key = (comment.source_id, comment.thread_id)
        if not comment.thread_id or key not in self.threads:
            return None
        if self.threads[key] is not None:
            return self.by_id.get(self.threads[key])
        post = self.posts.get(key)  # the post is in this batch: it may have become a case just now
        return post.case if post is not None else None


def _known_cases(session: Session, comments: list[Comment], results: list[Analysis]) -> _KnownCases:
    """Read the existing cases this batch may join.

    Near-duplicates are decided on narrow rows (id and text of the cases sharing most
    signature keys with each text); only the cases the batch may join are read whole, in one
    statement. Not locked: two workers folding into the same cases do not wait for each other.
    Heat is an SQL increment, and every case a batch changes is written in one flush, in id
    order (the ORM's order), before any other row it locks — two batches lock shared cases in
    the same order and cannot deadlock on them. The fingerprints of the texts the batch may
    open a case for are locked first (advisory locks, in order): of two workers opening a case
    of the same new text, the second waits, then finds the first one's case here and joins it.
    """
    known = _KnownCases(posts={(c.source_id, c.external_id): c for c in comments})
    joining = {result.fingerprint: result for comment, result in zip(comments, results, strict=True)
               if result.relevant and not result.error and comment.case_id is None
               and not _imported(comment)}
    fingerprints = sorted(joining)
    if fingerprints and is_postgresql(session):
        session.execute(text("SELECT pg_advisory_xact_lock(k) FROM (SELECT DISTINCT unnest(CAST(:keys "
                             "AS bigint[])) AS k ORDER BY k) AS sorted"),
                        {"keys": [int(fingerprint[:15], 16) for fingerprint in fingerprints]})
    twins = _twin_cases(session, fingerprints)
    # A text already in a case joins it word for word: no near-duplicate to look for.
    searched = [result for fingerprint, result in joining.items() if fingerprint not in twins]
    known.nearest, known.compared = _nearest_cases(session, searched)
    known.threads = _thread_cases(session, comments)
    ids = ({case_id for case_id, _ in known.nearest.values()} | set(twins.values())
           | {i for i in known.threads.values() if i is not None})
    if fingerprints or ids:
        known.by_id = {case.id: case for case in session.scalars(
            select(Case).where(Case.fingerprint.in_(fingerprints) | Case.id.in_(ids)).order_by(Case.id))}
    for case in known.by_id.values():
        known.by_fingerprint.setdefault(case.fingerprint, case)
    for fingerprint, case_id in twins.items():
        if case_id in known.by_id:
            known.twin(fingerprint, known.by_id[case_id])
    return known


def _shares_key(session: Session, keys: list[int]):
    if is_postgresql(session):  # one array parameter, not thousands
        return CaseSignature.key == any_(bindparam("keys", keys, type_=ARRAY(BigInteger)))
    return CaseSignature.key.in_(keys)


def _nearest_cases(session: Session, results: list[Analysis]
                   ) -> tuple[dict[str, tuple[int, float]], set[int]]:
    """fingerprint → (case id, containment) of the existing case each text nearly repeats
    most, among the NEAR_DUPLICATE_CANDIDATES sharing most signature keys with it (texts with
    none at NEAR_DUPLICATE_CONTAINMENT or above are absent); and every case sharing a key."""
    keys = sorted({key for result in results for key in result.lsh_keys})
    if not keys:
        return {}, set()
    cases_of: dict[int, list[int]] = {}
    for case_id, key in session.execute(select(CaseSignature.case_id, CaseSignature.key)
                                        .where(_shares_key(session, keys))):
        cases_of.setdefault(key, []).append(case_id)
    texts = [(result.fingerprint, result.text_norm, result.lsh_keys) for result in results]
    return _nearest(session, texts, cases_of), {case_id for ids in cases_of.values() for case_id in ids}


def _nearest(session: Session, texts: list[tuple], cases_of: dict[int, list[int]]) -> dict:
    """For each (name, text, signature keys) of `texts`, the case among `cases_of` (key →
    case ids) it nearly repeats most: name → (case id, containment), for those at
    NEAR_DUPLICATE_CONTAINMENT or above. The candidates' texts are read in one statement."""
    candidates = {name: [case_id for case_id, _ in Counter(
        case_id for key in text_keys for case_id in cases_of.get(key, ())
    ).most_common(NEAR_DUPLICATE_CANDIDATES)] for name, _, text_keys in texts}
    wanted = sorted({case_id for ids in candidates.values() for case_id in ids})
    if not wanted:
        return {}
    case_texts = dict(session.execute(select(Case.id, Case.match_text).where(Case.id.in_(wanted))).all())
    made: dict[int, set[int]] = {}  # a case's shingles, made once for the batch
    nearest: dict = {}
    for name, text_norm, _ in texts:
        own = shingles(text_norm)
        for case_id in candidates[name]:
            if case_id not in made:
                made[case_id] = shingles(case_texts[case_id])
            score = shingle_containment(text_norm, own, case_texts[case_id], made[case_id])
            if score >= NEAR_DUPLICATE_CONTAINMENT and score > nearest.get(name, (0, 0.0))[1]:
                nearest[name] = (case_id, score)
    return nearest


def _twin_cases(session: Session, fingerprints: Sequence[str]) -> dict[str, int]:
    """fingerprint → the case of the earliest crawled comment of that text already in a case:
    where a text joined a case as a near-duplicate, its later reposts find that case by the
    fingerprint although no case was opened from it."""
    if not fingerprints:
        return {}
    imported = select(Source.id).where(Source.kind == IMPORT_KIND)  # requests have their own cases
    rows = session.execute(
        select(Comment.fingerprint, Comment.case_id, func.min(Comment.id))
        .where(Comment.fingerprint.in_(fingerprints), Comment.case_id.is_not(None),
               Comment.source_id.not_in(imported))
        .group_by(Comment.fingerprint, Comment.case_id)).all()
    earliest: dict[str, tuple[int, int]] = {}
    for fingerprint, case_id, first in rows:
        if fingerprint not in earliest or first < earliest[fingerprint][0]:
            earliest[fingerprint] = (first, case_id)
    return {fingerprint: case_id for fingerprint, (_, case_id) in earliest.items()}


def _thread_cases(session: Session, comments: list[Comment]) -> dict[tuple[int, str], int | None]:
    """The case of each forum floor's thread post among `comments` (posts not stored: absent;
    not in a case yet: None), by (source id, thread id)."""
    keys = {(c.source_id, c.thread_id) for c in comments if c.thread_id and c.case_id is None}
    if not keys:
        return {}
    rows = session.execute(select(Comment.source_id, Comment.external_id, Comment.case_id)
                           .where(tuple_(Comment.source_id, Comment.external_id).in_(list(keys))))
    return {(source_id, external_id): case_id for source_id, external_id, case_id in rows}


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
    # Every comment's UPDATE names the same columns, unchanged ones too: the batch's comments
    # are then written by one executemany instead of one statement per run of equal columns.
    for name in ANALYSIS_COLUMNS:
        flag_modified(comment, name)


ANALYSIS_COLUMNS = ("text_norm", "relevance", "relevant", "sentiment", "sentiment_label", "topic",
                    "severity", "fingerprint", "model_version", "analysis_error", "processed_at",
                    "case_id", "terms", "terms_day")


def _imported(comment: Comment) -> bool:
    return comment.source.kind == IMPORT_KIND


def _open_own_case(session: Session, comment: Comment, result: Analysis,
                   departments: dict[str, Department], now: datetime, tz: str,
                   calendar: WorkCalendar | None) -> Case:
    """An imported hotline or mailbox row is a request addressed to the bureau: it becomes a
    case of its own whatever the relevance score (kept on the comment), and two tickets of
    the same text are two requests, each owed its answer (docs/figures.md)."""
    own = hashlib.sha256(f"{result.fingerprint}:{comment.source_id}:{comment.external_id}".encode())
    result.fingerprint = own.hexdigest()
    department = departments.get(result.department) if result.department else None
    return workflow.open_case(session, comment, result, department, request_type=comment.request_type,
                              now=now, tz=tz, calendar=calendar)


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
