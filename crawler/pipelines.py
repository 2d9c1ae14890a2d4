"""Item pipelines: validate and store (the store writes in batches and enqueues after each commit)."""

from __future__ import annotations

from scrapy.exceptions import DropItem
from twisted.internet.task import LoopingCall

from crawler.items import CommentItem


class StorePipeline:
    """Hands each comment to the spider's Store, which buffers it and writes it with its batch."""

    def __init__(self, crawler) -> None:
        self.crawler = crawler
        self.count = 0
        self._flusher: LoopingCall | None = None

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def open_spider(self) -> None:
        store = self.crawler.spider.store
        if store is not None:
            self._flusher = LoopingCall(store.flush_due)
            self._flusher.start(store.batch_seconds, now=False)

    def process_item(self, item: CommentItem) -> CommentItem:
        store = self.crawler.spider.store
        self.count += 1
        if store is not None:
            try:
                store.save(item)
            except Exception as exc:
                store.error(item.url, f"could not store the comment ({exc})")
                raise DropItem(f"not stored: {exc}") from exc
        return item

    def close_spider(self) -> None:
        if self._flusher is not None and self._flusher.running:
            self._flusher.stop()
        store = self.crawler.spider.store
        if store is not None:
            store.close(self.count, self.crawler.stats.get_stats())
