"""Store first, shared by the crawler and `huiying import`: one upsert per source + external id.

A comment whose text (title + body) changed gets its processed_at cleared, so it is analysed
again; one whose text and reply are the same is left alone. Callers commit, then enqueue the
ids of the comments that need processing (huiying.queue.enqueue_comments).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from huiying import workflow
from huiying.models import Comment, utcnow

_CN_DATE = re.compile(r"(\d{4})\s*[年/.-]\s*(\d{1,2})\s*[月/.-]\s*(\d{1,2})\s*日?")
_TIME = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2}))?")

Outcome = Literal["new", "updated", "unchanged"]


def parse_time(text: str | None, tz: str) -> datetime | None:
    """'2026-11-03 10:20', '2026年11月3日 10:20', '2026/11/03' → aware UTC; else None."""
    if not text:
        return None
    date = _CN_DATE.search(text)
    if not date:
        return None
    hour = minute = second = 0
    clock = _TIME.search(text, date.end())
    if clock:
        hour, minute, second = int(clock[1]), int(clock[2]), int(clock[3] or 0)
    try:
        local = datetime(int(date[1]), int(date[2]), int(date[3]), hour, minute, second,
                         tzinfo=ZoneInfo(tz))
    except ValueError:
        return None
    return local.astimezone(ZoneInfo("UTC"))


def content_hash(title: str, body: str) -> str:
    return hashlib.sha256(f"{title}\n{body}".encode()).hexdigest()


@dataclass(frozen=True)
class CommentData:
    """One comment as a source gives it, times already parsed (aware)."""

    external_id: str
    title: str = ""
    body: str = ""
    url: str | None = None
    author: str | None = None
    published_at: datetime | None = None
    reply: str | None = None
    replied_at: datetime | None = None
    request_type: str | None = None  # 咨询/投诉/建议/… of hotline and mailbox imports
    reply_unit: str | None = None  # who answered, as an export says
    closed_at: datetime | None = None  # when an export says the matter was closed (办结)
    thread_id: str | None = None  # a forum floor: its thread's post (external id)

    @property
    def digest(self) -> str:
        return content_hash(self.title.strip(), self.body.strip())


def find_comment(session: Session, source_id: int, external_id: str) -> Comment | None:
    return session.scalar(select(Comment).where(
        Comment.source_id == source_id, Comment.external_id == external_id))


def plan(existing: Comment | None, data: CommentData) -> Outcome:
    """What `upsert_comment` would do with `data`, given the stored comment (None: none)."""
    if existing is None:
        return "new"
    if (existing.content_hash == data.digest and (existing.official_reply or None) == (data.reply or None)
            and existing.replied_at == data.replied_at and existing.closed_at == data.closed_at
            and (existing.reply_unit or None) == (data.reply_unit or None)
            and (existing.request_type or None) == (data.request_type or None)
            and (existing.thread_id or None) == (data.thread_id or None)):
        return "unchanged"
    return "updated"


def _reply_of(comment: Comment) -> tuple:
    return (comment.official_reply or None, comment.replied_at, comment.closed_at, comment.reply_unit or None)


def upsert_comment(session: Session, source_id: int, data: CommentData) -> tuple[Outcome, Comment]:
    """Insert or update the comment of `source_id` + `data.external_id` (flushed, not committed).

    A comment already in a case that gained an official reply since it was last seen (the
    board answered it, the export's 答复 was filled in) has the reply recorded on its case at
    once, through the workflow: its text is unchanged, so it is not analysed again."""
    return _write(session, source_id, find_comment(session, source_id, data.external_id), data)


def _write(session: Session, source_id: int, comment: Comment | None,
           data: CommentData) -> tuple[Outcome, Comment]:
    outcome = plan(comment, data)
    if outcome == "unchanged":
        return outcome, comment
    reply_before = _reply_of(comment) if comment is not None else None
    if comment is None:
        comment = Comment(source_id=source_id, external_id=data.external_id)
        session.add(comment)
    digest = data.digest
    if comment.content_hash != digest:
        comment.processed_at = None  # the text changed: analyse it again
    for name, value in _columns(data).items():
        setattr(comment, name, value)
    session.flush()
    replied = comment.official_reply or comment.replied_at
    if (replied and reply_before is not None and _reply_of(comment) != reply_before
            and comment.case_id is not None and comment.processed_at is not None):
        # Not yet processed: the worker opens (or joins) the case with the reply as it is.
        workflow.source_reply_later(session, comment.case, comment, now=comment.fetched_at)
    return outcome, comment


def _columns(data: CommentData) -> dict:
    """The comment's columns as `data` gives them (what a new row and an update write)."""
    return {"url": data.url, "title": data.title.strip(), "body": data.body.strip(),
            "author": data.author, "published_at": data.published_at,
            "official_reply": data.reply or None, "replied_at": data.replied_at,
            "request_type": data.request_type, "reply_unit": data.reply_unit,
            "closed_at": data.closed_at, "thread_id": data.thread_id,
            "content_hash": data.digest, "fetched_at": utcnow()}


@dataclass(frozen=True)
class Upserted:
    """What `upsert_comments` did with one CommentData."""

    outcome: Outcome
    comment_id: int
    needs_processing: bool  # processed_at is NULL: its id goes to the queue after the commit


def upsert_comments(session: Session, source_id: int,
                    batch: Sequence[CommentData]) -> list[Upserted]:
    """`upsert_comment` for many comments of one source, in the caller's transaction (flushed,
    not committed), with the same outcomes, one per item and in order.

    The stored ones are read in one query; those whose external id is not stored yet go in as
    one INSERT … ON CONFLICT DO NOTHING; the stored ones that changed (and a row another
    process inserted meanwhile) take `upsert_comment`'s path, reply recorded on the case
    included. An external id twice in the batch is taken as two upserts one after the other."""
    results: list[Upserted | None] = [None] * len(batch)
    start = 0
    while start < len(batch):  # runs without a repeated external id, each in one go
        seen: set[str] = set()
        end = start
        while end < len(batch) and batch[end].external_id not in seen:
            seen.add(batch[end].external_id)
            end += 1
        _upsert_run(session, source_id, batch, range(start, end), results)
        start = end
    return results  # type: ignore[return-value]


def _upsert_run(session: Session, source_id: int, batch: Sequence[CommentData], run: range,
                results: list[Upserted | None]) -> None:
    stored = {comment.external_id: comment for comment in session.scalars(select(Comment).where(
        Comment.source_id == source_id,
        Comment.external_id.in_([batch[i].external_id for i in run])))}
    fresh = [i for i in run if batch[i].external_id not in stored]
    inserted = _insert_new(session, source_id, [batch[i] for i in fresh])
    for i in fresh:
        comment_id = inserted.get(batch[i].external_id)
        if comment_id is not None:
            results[i] = Upserted("new", comment_id, True)
    for i in run:
        if results[i] is None:  # stored before, or inserted by another process meanwhile
            data = batch[i]
            comment = stored.get(data.external_id) or find_comment(session, source_id, data.external_id)
            outcome, comment = _write(session, source_id, comment, data)
            results[i] = Upserted(outcome, comment.id,
                                  outcome != "unchanged" and comment.processed_at is None)


def _insert_new(session: Session, source_id: int, batch: list[CommentData]) -> dict[str, int]:
    """Insert the comments (external ids not stored yet) in one statement; {external id: id}
    of those inserted (one another process inserted meanwhile is left out)."""
    if not batch:
        return {}
    session.flush()
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    rows = [{"source_id": source_id, "external_id": data.external_id, **_columns(data)} for data in batch]
    statement = (insert(Comment).on_conflict_do_nothing(index_elements=["source_id", "external_id"])
                 .returning(Comment.id, Comment.external_id))
    # Core, executemany: SQLAlchemy sends the rows as multi-row INSERTs ("insertmanyvalues")
    # from one cached compilation; the ORM would build an object per row for nothing.
    inserted = session.connection().execute(statement, rows)
    return {external_id: comment_id for comment_id, external_id in inserted}
