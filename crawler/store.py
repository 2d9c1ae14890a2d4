"""Store first: upsert each comment, record each failure, enqueue ids after commit."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import select

from crawler.dates import parse_site_time
from crawler.items import CommentItem
from huiying.db import session_scope
from huiying.models import CrawlError, CrawlRun, Source, utcnow
from huiying.sources import SourceConfig
from huiying.store import CommentData, upsert_comment

ENQUEUE_EVERY = 50


@dataclass
class CrawlStats:
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    excluded: int = 0  # left out by the source's include/exclude keywords
    errors: list[str] = field(default_factory=list)


class Store:
    def __init__(self, database_url: str, config: SourceConfig,
                 enqueue: Callable[[list[int]], object] | None = None) -> None:
        self.database_url = database_url
        self.config = config
        self.enqueue = enqueue
        self.stats = CrawlStats()
        self.started_at = utcnow()
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
        tz = self.config.timezone
        fetched_at = utcnow()  # items are saved as they are parsed, moments after the fetch
        times = {}
        for name in ("published_at", "replied_at"):
            text = getattr(item, name)
            times[name] = parse_site_time(text, tz, fetched_at)
            if text and times[name] is None:
                # Kept empty and flagged: the crawl time would make an old post look new.
                self.error(item.url, f"{name}: cannot read the date {text[:80]!r}")
        data = CommentData(external_id=item.external_id, title=item.title, body=item.body,
                           url=item.url, author=item.author, reply=item.reply, thread_id=item.thread,
                           **times)
        with session_scope(self.database_url) as session:
            outcome, comment = upsert_comment(session, self.source_id, data)
            setattr(self.stats, outcome, getattr(self.stats, outcome) + 1)
            if outcome == "unchanged":
                return None
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

    def close(self, item_count: int, scrapy_stats: dict | None = None) -> None:
        """The crawl ended: the source's last crawl, and one crawl_run row (crawl health)."""
        self.flush()
        scrapy_stats = scrapy_stats or {}
        self.stats.excluded = scrapy_stats.get("huiying/excluded", 0)
        now = utcnow()
        with session_scope(self.database_url) as session:
            source = session.get(Source, self.source_id)
            source.last_crawled_at = now
            source.last_item_count = item_count
            session.add(CrawlRun(
                source_id=self.source_id, started_at=self.started_at, finished_at=now,
                pages=scrapy_stats.get("response_received_count", 0), items=item_count,
                new=self.stats.new, errors=len(self.stats.errors),
                robots_refused=scrapy_stats.get("robotstxt/forbidden", 0)))
