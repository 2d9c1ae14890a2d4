"""One spider for every list/detail message board, driven by a SourceConfig."""

from __future__ import annotations

from typing import Any

import scrapy
from parsel import Selector
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.internet.error import ConnectionRefusedError, DNSLookupError, TCPTimedOutError, TimeoutError

try:  # Scrapy ≥ 2.14 wraps download failures in its own exceptions
    from scrapy.exceptions import DownloadConnectionRefusedError, DownloadTimeoutError
except ImportError:  # pragma: no cover - older Scrapy
    DownloadTimeoutError = TimeoutError
    DownloadConnectionRefusedError = ConnectionRefusedError

from crawler.extract import UndecodablePage, decode_body, external_id, text_of
from crawler.items import CommentItem
from huiying.sources import SourceConfig


class BoardSpider(scrapy.Spider):
    name = "board"

    def __init__(self, config: SourceConfig, store: Any = None, **kwargs: Any) -> None:
        super().__init__(name=f"board-{config.name}", **kwargs)
        self.config = config
        self.store = store  # crawler.store.Store, or None when crawling without storing
        self.pages_seen = 0

    async def start(self):
        for url in self.config.start_urls:
            yield scrapy.Request(url, callback=self.parse_list, errback=self.on_error,
                                 cb_kwargs={"page": 1})

    def _selector(self, response) -> Selector | None:
        try:
            text = decode_body(response.body, getattr(response, "encoding", None),
                               self.config.encoding)
        except UndecodablePage as exc:
            self.record_error(response.url, str(exc))
            return None
        return Selector(text=text)

    def parse_list(self, response, page: int):
        selector = self._selector(response)
        if selector is None:
            return
        links = selector.css(self.config.list["link"]).getall()
        if not links:
            self.record_error(response.url, "the list page has no links matching list.link "
                                            "(did the site's layout change?)")
        for link in links:
            yield response.follow(link.strip(), callback=self.parse_detail,
                                  errback=self.on_error)
        next_css = self.config.list.get("next")
        next_link = selector.css(next_css).get() if next_css else None
        if next_link and page < self.config.max_pages:
            yield response.follow(next_link.strip(), callback=self.parse_list,
                                  errback=self.on_error, cb_kwargs={"page": page + 1})

    def parse_detail(self, response):
        selector = self._selector(response)
        if selector is None:
            return
        detail = self.config.detail
        try:
            ident = external_id(response.url, detail.get("id", {}), selector)
            title = text_of(selector, detail["title"])
            body = text_of(selector, detail["body"])
        except Exception as exc:  # a hostile page must not stop the crawl
            self.record_error(response.url, f"could not read the page ({exc})")
            return
        if not ident:
            self.record_error(response.url, "no id found with detail.id")
            return
        if not (title or body):
            self.record_error(response.url, "no title or body matches the configured selectors "
                                            "(did the site's layout change?)")
            return
        yield CommentItem(
            source=self.config.name,
            external_id=ident,
            url=response.url,
            title=title,
            body=body,
            author=text_of(selector, detail.get("author")) or None,
            published_at=text_of(selector, detail.get("published_at")) or None,
            reply=text_of(selector, detail.get("reply")) or None,
            replied_at=text_of(selector, detail.get("replied_at")) or None,
        )

    def on_error(self, failure):
        request = failure.request
        if failure.check(HttpError):
            message = f"HTTP {failure.value.response.status}"
        elif failure.check(TimeoutError, TCPTimedOutError, DownloadTimeoutError):
            message = "timed out"
        elif failure.check(ConnectionRefusedError, DownloadConnectionRefusedError):
            message = "connection refused"
        elif failure.check(DNSLookupError):
            message = "host name not found"
        else:
            message = f"{failure.type.__name__}: {failure.getErrorMessage()}"
        self.record_error(request.url, message)

    def record_error(self, url: str, message: str) -> None:
        self.logger.warning("%s: %s", url, message)
        if self.store is not None:
            self.store.error(url, message)
        else:
            self.crawler.stats.inc_value("huiying/errors")
