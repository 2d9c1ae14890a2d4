"""Item pipelines: validate and store (the store enqueues after its commit)."""

from __future__ import annotations

from scrapy.exceptions import DropItem

from crawler.items import CommentItem


class StorePipeline:
    """Upserts each comment into the database through the spider's Store."""

    def __init__(self, crawler) -> None:
        self.crawler = crawler
        self.count = 0

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

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
        store = self.crawler.spider.store
        if store is not None:
            store.close(self.count, self.crawler.stats.get_stats())
