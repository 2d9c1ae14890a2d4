"""Store first: comments upserted in batches, each failure recorded, ids enqueued after commit.

Items wait in a buffer and are written BATCH_SIZE at a time, or when the oldest has waited
the store's batch_seconds (BATCH_SECONDS; FOLLOW_BATCH_SECONDS for a crawl that follows its
source, where a new post should reach the worker at once), and at the spider's close: one
transaction per batch (huiying.store.upsert_comments: the same outcomes as one upsert per
item). The batch's ids go to the queue only after its commit. A crawl that dies loses at most
the buffer, which the next crawl stores (those comments are new to it). A batch that fails is
written again item by item, so one bad item is recorded as an error and the others are stored.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import select

from crawler.dates import parse_site_time
from crawler.items import CommentItem
from huiying.db import session_scope
from huiying.models import Comment, CrawlError, CrawlRun, Source, utcnow
from huiying.sources import SourceConfig
from huiying.store import CommentData, upsert_comments

BATCH_SIZE = 100  # comments per transaction
BATCH_SECONDS = 1.0  # the longest a parsed comment waits in the buffer while the crawl goes on
FOLLOW_BATCH_SECONDS = 0.1


@dataclass
class CrawlStats:
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    excluded: int = 0  # left out by the source's include/exclude keywords
    errors: list[str] = field(default_factory=list)


class Store:
    def __init__(self, database_url: str, config: SourceConfig,
                 enqueue: Callable[[list[int]], object] | None = None,
                 batch_seconds: float = BATCH_SECONDS, following: bool = False) -> None:
        self.database_url = database_url
        self.batch_seconds = batch_seconds
        self.following = following  # a crawl that follows the source: a crawl_run per stretch
        self.config = config
        self.enqueue = enqueue
        self.stats = CrawlStats()
        self.started_at = self._period_started = utcnow()
        self._recorded: dict[str, int] = {}  # the totals the last crawl_run row counted up to
        self._saved = 0  # items handed to save()
        self._buffer: list[tuple[str, CommentData]] = []  # (the page's url, the comment)
        self._buffer_since = 0.0
        with session_scope(database_url) as session:
            # `huiying crawl` registered the source already; a direct caller may not have.
            source = session.scalar(select(Source).where(Source.name == config.name))
            if source is None:
                source = Source(name=config.name, title=config.title, kind=config.kind,
                                config=config.as_dict())
                session.add(source)
                session.flush()
            self.source_id = source.id

    def stored_urls(self) -> set[str]:
        """The pages of the source's comments stored already (a following crawl skips them)."""
        with session_scope(self.database_url) as session:
            return set(session.scalars(select(Comment.url).where(Comment.source_id == self.source_id,
                                                                 Comment.url.is_not(None))))

    def save(self, item: CommentItem) -> None:
        """Buffer the item; write the buffer when it is full or its oldest item waited long enough."""
        self._saved += 1
        tz = self.config.timezone
        fetched_at = utcnow()  # items are saved as they are parsed, moments after the fetch
        times = {}
        for name in ("published_at", "replied_at"):
            text = getattr(item, name)
            times[name] = parse_site_time(text, tz, fetched_at)
            if text and times[name] is None:
                # Kept empty and flagged: the crawl time would make an old post look new.
                self.error(item.url, f"{name}: cannot read the date {text[:80]!r}")
        if not self._buffer:
            self._buffer_since = time.monotonic()
        self._buffer.append((item.url, CommentData(
            external_id=item.external_id, title=item.title, body=item.body, url=item.url,
            author=item.author, reply=item.reply, thread_id=item.thread, **times)))
        if len(self._buffer) >= BATCH_SIZE:
            self.flush()
        else:
            self.flush_due()

    def flush_due(self) -> None:
        """Write the buffer if its oldest item has waited batch_seconds (the pipeline also
        calls this every batch_seconds, so a slow polite crawl stores as it goes)."""
        if self._buffer and time.monotonic() - self._buffer_since >= self.batch_seconds:
            self.flush()

    def flush(self) -> None:
        """Write the buffer in one transaction, then enqueue the ids that need processing."""
        batch, self._buffer = self._buffer, []
        if not batch:
            return
        try:
            with session_scope(self.database_url) as session:
                results = upsert_comments(session, self.source_id, [data for _, data in batch])
        except Exception:  # one bad item must not cost the others
            results = self._one_by_one(batch)
        ids = []
        for result in results:
            if result is None:
                continue
            setattr(self.stats, result.outcome, getattr(self.stats, result.outcome) + 1)
            if result.needs_processing:
                ids.append(result.comment_id)
        # Committed: only now may a worker see the ids.
        if ids and self.enqueue is not None:
            self.enqueue(ids)

    def _one_by_one(self, batch: list[tuple[str, CommentData]]) -> list:
        """The batch written again item by item, each in its own transaction: None for an item
        that cannot be stored (recorded as a crawl error)."""
        results = []
        for url, data in batch:
            try:
                with session_scope(self.database_url) as session:
                    results.extend(upsert_comments(session, self.source_id, [data]))
            except Exception as exc:  # recorded, and the crawl goes on
                self.error(url, f"could not store the comment ({exc})")
                results.append(None)
        return results

    def error(self, url: str, message: str) -> None:
        self.stats.errors.append(f"{url}: {message}")
        with session_scope(self.database_url) as session:
            session.add(CrawlError(source_id=self.source_id, url=url, error=message[:2000]))

    def close(self, item_count: int, scrapy_stats: dict | None = None) -> None:
        """The crawl ended: the source's last crawl, and one crawl_run row (crawl health) of
        what it read since the last row; a follower's stretch that read and failed nothing
        has none (a quiet board is no empty crawl)."""
        self.flush()
        scrapy_stats = scrapy_stats or {}
        self.stats.excluded = scrapy_stats.get("huiying/excluded", 0)
        self._record_run(item_count, scrapy_stats, always=not self.following)

    def checkpoint(self, scrapy_stats: dict) -> None:
        """A following crawl has read every page again: a crawl_run row, as a crawl once
        writes, of what it read since the last row."""
        self.flush()
        self._record_run(self._saved, scrapy_stats, always=True)

    def _record_run(self, item_count: int, scrapy_stats: dict, always: bool) -> None:
        totals = {"pages": scrapy_stats.get("response_received_count", 0), "items": item_count,
                  "new": self.stats.new, "errors": len(self.stats.errors),
                  "robots_refused": scrapy_stats.get("robotstxt/forbidden", 0)}
        period = {name: totals[name] - self._recorded.get(name, 0) for name in totals}
        now = utcnow()
        with session_scope(self.database_url) as session:
            source = session.get(Source, self.source_id)
            source.last_crawled_at = now
            if always or period["items"] or period["errors"]:
                source.last_item_count = period["items"]
                session.add(CrawlRun(source_id=self.source_id, started_at=self._period_started,
                                     finished_at=now, **period))
        self._recorded, self._period_started = totals, now
