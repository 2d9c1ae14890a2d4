"""Hot-word terms counted as comments are processed, so hot words never segment text on demand.

`term_day` holds, per local day (HUIYING_TIMEZONE) and term, how many relevant comments written
that day use the term; `term_day_total` how many relevant comments were written that day. Hot
words of any run of days are then sums over rows (huiying/trends.py).

Each comment remembers what it added: its distinct terms (`Comment.terms`) and the day it is
counted under (`Comment.terms_day`, NULL when it is not counted). Counting a comment again
first takes that away, under a row lock on the comment, so reprocessing an edited text, a
relevance correction, the sweep and a rebuild never count a comment twice, whichever run
at the same time. The counts only change by SQL increments (INSERT … ON CONFLICT DO UPDATE
docs = docs + n), so two workers counting at once lose nothing.

The day of a comment is the local day of when the public wrote it (`published_at`, else
`fetched_at`) at the time it is counted; `huiying hotwords rebuild` counts everything again,
e.g. after a change of HUIYING_TIMEZONE or of the user dictionary.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from huiying.db import insert_rows
from huiying.models import UNCOUNTED_TERMS, Comment, TermDay, TermDayTotal

log = logging.getLogger(__name__)

TERM_CHARS = 40  # term_day.term; a longer "term" (a rare run jieba did not split) is not counted
REBUILD_BATCH = 2000  # comments per transaction of a rebuild
SWEEP_BATCH = 2000  # uncounted comments the worker's sweep counts at a time


def text_of(comment: Comment) -> str:
    return comment.text_norm or f"{comment.title or ''} {comment.body or ''}".strip()


def day_of(comment: Comment, zone: ZoneInfo) -> date:
    """The local day the public wrote the comment (its fetch time when the source gives none)."""
    return (comment.published_at or comment.fetched_at).astimezone(zone).date()


def terms_of(text: str) -> list[str]:
    from analysis.hotwords import terms

    return sorted({term for term in terms(text) if len(term) <= TERM_CHARS})


def counts(comment: Comment) -> bool:
    """Whether the comment belongs in the counts: processed and relevant."""
    return comment.processed_at is not None and comment.relevant is True


def count_comments(session: Session, comments: Sequence[Comment], tz: str, *,
                   segment: bool = True) -> int:
    """Bring the counts of `comments` up to date with what they are now: take away what each
    added before, then add each relevant processed comment's terms on its day.

    In the caller's transaction (not committed). `segment=False` (a web request): no jieba;
    a comment is counted with the terms stored on it, and one that has none is left for the
    worker's sweep (`count_uncounted`). Returns how many of the comments are now counted.
    """
    return _count(session, [comment.id for comment in comments], tz, segment)


def _count(session: Session, ids: Sequence[int], tz: str, segment: bool) -> int:
    if not ids:
        return 0
    session.flush()  # the caller's changes (relevant, the analysis) first
    # Lock the rows and read what is committed now: of two transactions counting the same
    # comment, the second sees what the first stored and does not take the old count away twice.
    locked = session.scalars(
        select(Comment).where(Comment.id.in_(ids)).order_by(Comment.id)
        .with_for_update().execution_options(populate_existing=True)).all()
    counted = recount(locked, tz, segment=segment)
    add_counts(session, counted)
    return counted.comments


@dataclass
class Recount:
    """What `recount` changed: increments of term_day and term_day_total, and how many of the
    comments are now counted."""

    terms: Counter[tuple[date, str]] = field(default_factory=Counter)
    totals: Counter[date] = field(default_factory=Counter)
    comments: int = 0


def recount(comments: Sequence[Comment], tz: str, *, segment: bool = True) -> Recount:
    """Set each comment's terms and day as it is now, and return the increments that take
    away what it added before and add what it adds now. No SQL: the comments are current and
    row-locked by the caller (processing reads its batch FOR UPDATE, so its comments' UPDATE
    carries their terms: one write of each row), and `add_counts` writes the increments."""
    zone = ZoneInfo(tz)
    counted = Recount()
    segmented: dict[str, list[str]] = {}
    for comment in comments:
        if comment.terms_day is not None:
            for term in comment.terms or ():
                counted.terms[comment.terms_day, term] -= 1
            counted.totals[comment.terms_day] -= 1
            comment.terms_day = None
        if not counts(comment):
            if segment:  # processed again into irrelevance: its old terms may be of an old text
                comment.terms = None
            continue
        if segment:
            # Reposts word for word are segmented once (jieba is most of a comment's cost).
            text = text_of(comment)
            if text not in segmented:
                segmented[text] = terms_of(text)
            comment.terms = list(segmented[text])
        elif comment.terms is None:
            continue  # the sweep segments it
        day = day_of(comment, zone)
        for term in comment.terms:
            counted.terms[day, term] += 1
        counted.totals[day] += 1
        comment.terms_day = day
        counted.comments += 1
    return counted


def add_counts(session: Session, counted: Recount) -> None:
    """Write `recount`'s increments: last in a transaction, since every worker adds to the
    same rows of the day (each holds their row locks from here to its commit)."""
    _add(session, TermDay, [{"day": d, "term": t, "docs": n}
                            for (d, t), n in sorted(counted.terms.items()) if n])
    _add(session, TermDayTotal, [{"day": d, "docs": n} for d, n in sorted(counted.totals.items()) if n])


def _add(session: Session, table: type[TermDay] | type[TermDayTotal], rows: list[dict]) -> None:
    """docs += n for each row, inserting the missing ones: one upsert statement for all rows.
    Rows in key order, so concurrent transactions lock them in the same order and cannot
    deadlock on them."""

    def add_docs(statement):
        return statement.on_conflict_do_update(
            index_elements=[column.name for column in table.__table__.primary_key],
            set_={"docs": table.docs + statement.excluded.docs})

    insert_rows(session, table.__table__, rows, on_conflict=add_docs)


def count_uncounted(session: Session, tz: str, limit: int = SWEEP_BATCH) -> int:
    """Count relevant processed comments that are not counted: a relevance correction whose
    comment had no terms yet, or comments processed by an older version. Commits; returns how
    many were counted."""
    ids = list(session.scalars(select(Comment.id).where(UNCOUNTED_TERMS).order_by(Comment.id)
                               .limit(limit)))
    counted = _count(session, ids, tz, segment=True)
    session.commit()
    return counted


def rebuild(session: Session, tz: str, batch: int = REBUILD_BATCH,
            progress: Callable[[int, int], None] | None = None) -> dict[str, int]:
    """Count every comment again, from its text as it is now: relevant processed comments are
    segmented and counted, counted ones that no longer belong are taken away. The tables stay
    right at every moment (one comment's old count goes in the transaction that adds its new
    one), so workers may go on meanwhile. Commits every `batch` comments; `progress(done,
    total)` after each. Returns the counts."""
    todo = or_(Comment.terms_day.is_not(None),
               (Comment.relevant.is_(True) & Comment.processed_at.is_not(None)))
    total = session.scalar(select(func.count(Comment.id)).where(todo)) or 0
    done = counted = 0
    last_id = 0
    while True:
        ids = list(session.scalars(select(Comment.id).where(todo, Comment.id > last_id)
                                   .order_by(Comment.id).limit(batch)))
        if not ids:
            break
        last_id = ids[-1]
        counted += _count(session, ids, tz, segment=True)
        session.commit()
        session.expunge_all()  # a million comments must not pile up in the identity map
        done += len(ids)
        if progress is not None:
            progress(done, total)
    # Terms nobody uses any more (a comment counted again under another day or text).
    session.execute(delete(TermDay).where(TermDay.docs == 0))
    session.execute(delete(TermDayTotal).where(TermDayTotal.docs == 0))
    session.commit()
    return {"comments_checked": done, "comments_counted": counted,
            "days": session.scalar(select(func.count()).select_from(TermDayTotal)) or 0,
            "day_terms": session.scalar(select(func.count()).select_from(TermDay)) or 0}


def needs_rebuild(session: Session) -> bool:
    """Nothing counted yet though relevant comments are processed: an installation that has
    just migrated to term_day (schema 0011)."""
    if session.scalar(select(TermDayTotal.day).limit(1)) is not None:
        return False
    return session.scalar(select(Comment.id).where(
        Comment.relevant.is_(True), Comment.processed_at.is_not(None)).limit(1)) is not None
