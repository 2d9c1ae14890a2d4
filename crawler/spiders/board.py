"""One spider for every list/detail message board, driven by a SourceConfig."""

from __future__ import annotations

from typing import Any

import scrapy
from parsel import Selector
from scrapy.exceptions import IgnoreRequest
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.internet.error import ConnectionRefusedError, DNSLookupError, TCPTimedOutError, TimeoutError

try:  # Scrapy ≥ 2.14 wraps download failures in its own exceptions
    from scrapy.exceptions import DownloadConnectionRefusedError, DownloadTimeoutError
except ImportError:  # pragma: no cover - older Scrapy
    DownloadTimeoutError = TimeoutError
    DownloadConnectionRefusedError = ConnectionRefusedError

from crawler.extract import MAX_FIELD_CHARS, UndecodablePage, decode_body, external_id, text_of
from crawler.items import CommentItem
from huiying.sources import SourceConfig


class BoardSpider(scrapy.Spider):
    name = "board"

    def __init__(self, config: SourceConfig, store: Any = None, **kwargs: Any) -> None:
        super().__init__(name=f"board-{config.name}", **kwargs)
        self.config = config
        self.store = store  # crawler.store.Store, or None when crawling without storing
        self.pages_seen = 0
        self.errors: list[str] = []  # "url: reason", also when nothing is stored

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
            title = self._field(response.url, selector, "title")
            body = self._field(response.url, selector, "body")
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
            reply=self._field(response.url, selector, "reply") or None,
            replied_at=text_of(selector, detail.get("replied_at")) or None,
        )

    def _field(self, url: str, selector: Selector, name: str) -> str:
        """A field's text, cut at MAX_FIELD_CHARS; a cut is recorded, never silent."""
        text = text_of(selector, self.config.detail.get(name), limit=None)
        if len(text) > MAX_FIELD_CHARS:
            self.record_error(url, f"{name}: cut at {MAX_FIELD_CHARS:,} of its {len(text):,} characters; "
                                   "the rest was not stored")
            text = text[:MAX_FIELD_CHARS]
        return text

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
        elif "larger than download max size" in failure.getErrorMessage():
            limit = self.crawler.settings.getint("DOWNLOAD_MAXSIZE") // (1024 * 1024)
            message = f"the page is larger than the {limit} MB download limit; not read"
        elif failure.check(IgnoreRequest) and "robots.txt" in failure.getErrorMessage():
            message = "refused by the site's robots.txt; not read"
        elif failure.check(IgnoreRequest) and "max redirections" in failure.getErrorMessage():
            message = "too many redirects (more than REDIRECT_MAX_TIMES); not read"
        else:
            message = f"{failure.type.__name__}: {failure.getErrorMessage()}"
        # After redirects, the error belongs to the link the list gave (the one a person knows).
        self.record_error(request.meta.get("redirect_urls", [request.url])[0], message)

    def record_error(self, url: str, message: str) -> None:
        self.logger.warning("%s: %s", url, message)
        self.errors.append(f"{url}: {message}")
        self.crawler.stats.inc_value("huiying/errors")
        if self.store is not None:
            self.store.error(url, message)
