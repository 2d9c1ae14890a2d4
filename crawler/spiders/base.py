"""What every source's spider shares: requests with the source's headers, decoding, the
include/exclude filter, field cuts, pagination limits and loops, and errors per source.

A spider of a new kind subclasses SourceSpider, sets `kind`, and yields `self.comment(…)`
for each item; a failure is `self.record_error(url, reason)` and the crawl goes on.

A spider given `follow_seconds` follows its source instead of crawling it once: when it is
idle (Scrapy's spider_idle signal) it schedules the next read of the start pages, at most
every follow_seconds, and keeps the spider open (DontCloseSpider). Its kind asks
`self.unseen(links)` for the detail pages it has not requested yet (nor stored before it
started), and whether to read the next list page: yes while a page shows a new link, or shows
only links first seen in this read (on a busy board the posts move down a page between two
requests, so a page of those hides the new ones on the page after it). Every `full_seconds` it
reads every page again, as a crawl once does, so an answer a board adds later is seen, and
records that read as a crawl_run (crawl health compares like with like).
"""

from __future__ import annotations

import time
from typing import Any, ClassVar

import scrapy
from parsel import Selector
from scrapy import signals
from scrapy.exceptions import DontCloseSpider, IgnoreRequest
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.internet.error import ConnectionRefusedError, DNSLookupError, TCPTimedOutError, TimeoutError

try:  # Scrapy ≥ 2.14 wraps download failures in its own exceptions
    from scrapy.exceptions import DownloadConnectionRefusedError, DownloadTimeoutError
except ImportError:  # pragma: no cover - older Scrapy
    DownloadTimeoutError = TimeoutError
    DownloadConnectionRefusedError = ConnectionRefusedError

from analysis.normalise import normalise
from crawler.extract import MAX_FIELD_CHARS, UndecodablePage, decode_body, external_id, text_of
from crawler.items import CommentItem
from huiying.sources import SourceConfig

CUT_FIELDS = ("title", "body", "reply")


class SourceSpider(scrapy.Spider):
    kind: ClassVar[str] = ""

    def __init__(self, config: SourceConfig, store: Any = None, follow_seconds: float | None = None,
                 full_seconds: float | None = None, **kwargs: Any) -> None:
        super().__init__(name=f"{self.kind}-{config.name}", **kwargs)
        self.config = config
        self.store = store  # crawler.store.Store, or None when crawling without storing
        self.follow_seconds = follow_seconds  # None: crawl once and close
        self.full_seconds = full_seconds  # following: between reads of every page (None: never)
        self._known: dict[str, int] = {}  # following: detail page → the read that found it (0: stored)
        self._reads = 0  # following: reads of the start pages so far
        self._full = False  # following: this read of the list pages reads every page again
        self._poll_started = self._full_started = time.monotonic()
        self._next_poll = None  # following: the reactor's call of the next poll
        self.errors: list[str] = []  # "url: reason", also when nothing is stored
        self.excluded = 0  # items the include/exclude keywords left out
        self._pages_read: set[str] = set()  # list/result pages followed (pagination loops)
        # Compared as analysis reads text: simplified, NFKC (学校 matches a Big5 page's 學校).
        self._include = tuple(normalise(word) for word in config.include)
        self._exclude = tuple(normalise(word) for word in config.exclude)

    @classmethod
    def from_crawler(cls, crawler, *args: Any, **kwargs: Any):
        spider = super().from_crawler(crawler, *args, **kwargs)
        if spider.following:
            crawler.signals.connect(spider.on_idle, signal=signals.spider_idle)
            crawler.signals.connect(spider.on_closed, signal=signals.spider_closed)
        return spider

    @property
    def following(self) -> bool:
        return self.follow_seconds is not None

    # --- requests and pages ---------------------------------------------------------------

    async def start(self):
        if self.following and self.store is not None:
            self._known.update(dict.fromkeys(self.store.stored_urls(), 0))
        for request in self.start_requests_now():
            yield request

    def start_requests_now(self) -> list[scrapy.Request]:
        self._reads += 1
        # Following, the start pages are read again and again: past the duplicate filter.
        return [self.request(url, self.parse_start, page=1, dont_filter=self.following)
                for url in self.config.start_urls]

    # --- following ------------------------------------------------------------------------

    def on_idle(self) -> None:
        """Nothing left to fetch: write what was read, and read the start pages again when
        follow_seconds have passed since the last read began."""
        try:
            self.write_stretch()
        except Exception:  # the database away for a moment: follow on, write at the next idle
            self.logger.exception("%s: could not write what was read", self.config.name)
        if self._next_poll is None:
            from twisted.internet import reactor  # the one Scrapy installed

            wait = max(0.0, self._poll_started + self.follow_seconds - time.monotonic())
            self._next_poll = reactor.callLater(wait, self.poll)
        raise DontCloseSpider

    def write_stretch(self) -> None:
        if self.store is not None:
            self.store.flush()
            if self._full:  # every page read again, as a crawl once reads them: its crawl_run
                self._full = False
                self.store.checkpoint(self.crawler.stats.get_stats())

    def poll(self) -> None:
        self._next_poll = None
        self._pages_read.clear()  # each read of the list walks them afresh
        self._poll_started = time.monotonic()
        self._full = self.full_seconds is not None and \
            self._poll_started - self._full_started >= self.full_seconds
        if self._full:
            self._full_started = self._poll_started
            self._known.clear()
        for request in self.start_requests_now():
            self.crawler.engine.crawl(request)

    def on_closed(self) -> None:
        if self._next_poll is not None and self._next_poll.active():
            self._next_poll.cancel()

    def unseen(self, urls: list[str]) -> tuple[list[str], bool]:
        """The detail pages of a list page to request, and whether to read the next list page.
        Following: the pages not requested (nor stored) before, now marked as requested; the
        next page unless this one shows nothing new and a link found by an earlier read.
        Crawling once: all of them (the duplicate filter drops repeats), and the next page."""
        if not self.following:
            return urls, True
        new = [url for url in dict.fromkeys(urls) if url not in self._known]
        earlier = any(self._known[url] < self._reads for url in urls if url in self._known)
        self._known.update(dict.fromkeys(new, self._reads))
        return new, bool(new) or not earlier

    def parse_start(self, response, page: int):
        """The pages of the source's start_urls and those that follow them."""
        raise NotImplementedError

    def request(self, url: str, callback, errback=None, dont_filter: bool = False,
                **cb_kwargs: Any) -> scrapy.Request:
        return scrapy.Request(url, callback=callback, errback=errback or self.on_error,
                              headers=self.config.headers or None, cb_kwargs=cb_kwargs,
                              dont_filter=dont_filter)

    def follow(self, response, link: str, callback, errback=None, dont_filter: bool = False,
               **cb_kwargs: Any) -> scrapy.Request:
        return response.follow(link.strip(), callback=callback, errback=errback or self.on_error,
                               headers=self.config.headers or None, cb_kwargs=cb_kwargs,
                               dont_filter=dont_filter)

    def follow_detail(self, response, url: str, callback) -> scrapy.Request:
        """A detail page; read again past the duplicate filter only when following reads
        every page again."""
        return self.follow(response, url, callback, dont_filter=self._full)

    def next_page(self, response, link: str | None, page: int, callback, limit: int | None = None,
                  errback=None, **cb_kwargs: Any) -> scrapy.Request | None:
        """The request for the page after `page` (1-based), unless the source's page limit is
        reached or the link leads back to a page already read (recorded: a pagination loop)."""
        if not link or page >= (limit or self.config.max_pages):
            return None
        self._pages_read.add(response.url)
        url = response.urljoin(link.strip())
        if url in self._pages_read:
            self.record_error(response.url, f"pagination loop: the next page {url} was read already; "
                                            "stopped there")
            return None
        return self.follow(response, url, callback, errback, dont_filter=self.following, page=page + 1,
                           **cb_kwargs)

    def pages_after(self, response, selector: Selector, css: str | None, page: int, callback,
                    **kwargs: Any):
        """The next page named by the `css` link, as a request to yield (none at the end)."""
        following = self.next_page(response, selector.css(css).get() if css else None, page, callback,
                                   **kwargs)
        if following is not None:
            yield following

    def text(self, response) -> str | None:
        """The page as text (the source's encoding first), or None with the reason recorded."""
        try:
            return decode_body(response.body, getattr(response, "encoding", None), self.config.encoding)
        except UndecodablePage as exc:
            self.record_error(response.url, str(exc))
            return None

    def selector(self, response) -> Selector | None:
        text = self.text(response)
        return None if text is None else Selector(text=text)

    # --- items --------------------------------------------------------------------------

    def comment(self, **fields: Any) -> CommentItem | None:
        """An item for the pipelines, long fields cut (and the cut recorded); None when the
        source's include/exclude keywords leave it out (counted, not an error)."""
        for name in CUT_FIELDS:
            text = fields.get(name) or ""
            if len(text) > MAX_FIELD_CHARS:
                self.record_error(fields["url"], f"{name}: cut at {MAX_FIELD_CHARS:,} of its "
                                                 f"{len(text):,} characters; the rest was not stored")
                fields[name] = text[:MAX_FIELD_CHARS]
        item = CommentItem(source=self.config.name, **fields)
        if not self.wanted(f"{item.title}\n{item.body}"):
            self.excluded += 1
            self.crawler.stats.inc_value("huiying/excluded")
            return None
        return item

    def wanted(self, text: str) -> bool:
        if not (self._include or self._exclude):
            return True
        text = normalise(text)
        if any(word in text for word in self._exclude):
            return False
        return not self._include or any(word in text for word in self._include)

    def read_detail(self, response):
        """A detail page read with the source's `detail` selectors (boards, search results)."""
        selector = self.selector(response)
        if selector is None:
            return
        detail = self.config.detail
        try:
            ident = external_id(response.url, detail.get("id", {}), selector)
            fields = {name: text_of(selector, detail.get(name), limit=None) for name in CUT_FIELDS}
        except Exception as exc:  # a hostile page must not stop the crawl
            self.record_error(response.url, f"could not read the page ({exc})")
            return
        if not ident:
            self.record_error(response.url, "no id found with detail.id")
            return
        if not (fields["title"] or fields["body"]):
            self.record_error(response.url, "no title or body matches the configured selectors "
                                            "(did the site's layout change?)")
            return
        item = self.comment(
            external_id=ident, url=response.url, title=fields["title"], body=fields["body"],
            author=text_of(selector, detail.get("author")) or None,
            published_at=text_of(selector, detail.get("published_at")) or None,
            reply=fields["reply"] or None,
            replied_at=text_of(selector, detail.get("replied_at")) or None,
        )
        if item is not None:
            yield item

    # --- errors ---------------------------------------------------------------------------

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
