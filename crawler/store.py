"""Store first: upsert each comment, record each failure, enqueue ids after commit."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select

from crawler.items import CommentItem
from huiying.db import session_scope
from huiying.models import Comment, CrawlError, Source, utcnow
from huiying.sources import SourceConfig

_CN_DATE = re.compile(r"(\d{4})\s*[年/.-]\s*(\d{1,2})\s*[月/.-]\s*(\d{1,2})\s*日?")
_TIME = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2}))?")
ENQUEUE_EVERY = 50


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


@dataclass
class CrawlStats:
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[str] = field(default_factory=list)


class Store:
    def __init__(self, database_url: str, config: SourceConfig,
                 enqueue: Callable[[list[int]], object] | None = None) -> None:
        self.database_url = database_url
        self.config = config
        self.enqueue = enqueue
        self.stats = CrawlStats()
        self._pending: list[int] = []
        with session_scope(database_url) as session:
            # `huiying crawl` registered the source already; a direct caller may not have.
            source = session.scalar(select(Source).where(Source.name == config.name))
            if source is None:
                source = Source(name=config.name, title=config.title, kind=config.kind,
                                config=config.as_dict())
                session.add(source)
                session.flush()
            self.source_id = source.id

    def save(self, item: CommentItem) -> int | None:
        title, body = item.title.strip(), item.body.strip()
        digest = content_hash(title, body)
        tz = self.config.timezone
        with session_scope(self.database_url) as session:
            comment = session.scalar(select(Comment).where(
                Comment.source_id == self.source_id, Comment.external_id == item.external_id))
            if comment is None:
                comment = Comment(source_id=self.source_id, external_id=item.external_id)
                session.add(comment)
                self.stats.new += 1
            elif comment.content_hash == digest and (comment.official_reply or None) == (
                    item.reply or None):
                self.stats.unchanged += 1
                return None
            else:
                self.stats.updated += 1
            if comment.content_hash != digest:
                comment.processed_at = None  # the text changed: analyse it again
            comment.url = item.url
            comment.title = title
            comment.body = body
            comment.author = item.author
            comment.published_at = parse_time(item.published_at, tz)
            comment.official_reply = item.reply or None
            comment.replied_at = parse_time(item.replied_at, tz)
            comment.content_hash = digest
            comment.fetched_at = utcnow()
            session.flush()
            comment_id = comment.id
            needs_processing = comment.processed_at is None
        # Committed: only now may a worker see the id.
        if needs_processing:
            self._pending.append(comment_id)
            if len(self._pending) >= ENQUEUE_EVERY:
                self.flush()
        return comment_id

    def error(self, url: str, message: str) -> None:
        self.stats.errors.append(f"{url}: {message}")
        with session_scope(self.database_url) as session:
            session.add(CrawlError(source_id=self.source_id, url=url, error=message[:2000]))

    def flush(self) -> None:
        if self._pending and self.enqueue is not None:
            self.enqueue(self._pending)
        self._pending = []

    def close(self, item_count: int) -> None:
        self.flush()
        with session_scope(self.database_url) as session:
            source = session.get(Source, self.source_id)
            source.last_crawled_at = utcnow()
            source.last_item_count = item_count
