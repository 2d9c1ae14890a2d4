"""Run spiders in this process (one reactor run: call once per process)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from scrapy import signals
from scrapy.crawler import CrawlerProcess

from crawler.kinds import spider_for
from crawler.settings import SCRAPY_SETTINGS
from crawler.store import BATCH_SECONDS, FOLLOW_BATCH_SECONDS, CrawlStats, Store
from huiying.sources import SourceConfig

# A source followed without its own follow_seconds (`huiying crawl --follow NAME`).
DEFAULT_FOLLOW_SECONDS = 5.0


def _process(overrides: dict | None) -> CrawlerProcess:
    return CrawlerProcess({**SCRAPY_SETTINGS, **(overrides or {})})


@dataclass(frozen=True)
class Following:
    """How a crawl follows its sources: every page read again every interval (the source's
    interval_minutes, else `full_seconds`; None: never), and `keep(name)` asked every
    `keep_seconds` whether the crawl may go on (the source's claim)."""

    full_seconds: float | None = None
    keep: Callable[[str], bool] | None = None
    keep_seconds: float = 300.0


def crawl(configs: list[SourceConfig], database_url: str,
          enqueue: Callable[[list[int]], object] | None = None,
          settings: dict | None = None, following: Following | None = None) -> dict[str, CrawlStats]:
    """Crawl each source once, or follow it until stopped (SIGTERM, Ctrl-C, or `keep` saying
    no), and store what it yields; return stats per source."""
    process = _process(settings)
    stores: dict[str, Store] = {}
    askers = []  # held here: Scrapy's signals keep only weak references
    for config in configs:
        store = Store(database_url, config, enqueue, following=following is not None,
                      batch_seconds=FOLLOW_BATCH_SECONDS if following else BATCH_SECONDS)
        stores[config.name] = store
        if following is None:
            process.crawl(spider_for(config.kind), config=config, store=store)
            continue
        crawler = process.create_crawler(spider_for(config.kind))
        if following.keep is not None:
            askers.append(_KeepAsking(crawler, config.name, following))
        full = config.interval_minutes * 60 if config.interval_minutes else following.full_seconds
        process.crawl(crawler, config=config, store=store, full_seconds=full,
                      follow_seconds=config.follow_seconds or DEFAULT_FOLLOW_SECONDS)
    process.start()
    return {name: store.stats for name, store in stores.items()}


class _KeepAsking:
    """While the spider is open, ask `keep(name)` every keep_seconds; stop the crawl on a no."""

    def __init__(self, crawler, name: str, following: Following) -> None:
        self.crawler, self.name, self.following = crawler, name, following
        self.calls = None
        crawler.signals.connect(self.opened, signal=signals.spider_opened)
        crawler.signals.connect(self.closed, signal=signals.spider_closed)

    def opened(self) -> None:
        from twisted.internet.task import LoopingCall  # made in the reactor Scrapy installed

        self.calls = LoopingCall(self.ask)
        self.calls.start(self.following.keep_seconds, now=False)

    def ask(self) -> None:
        try:
            kept = self.following.keep(self.name)
        except Exception as exc:  # the database away for a moment: asked again next time
            self.crawler.spider.logger.warning("%s: could not renew the claim (%s)", self.name, exc)
            return
        if not kept:
            self.crawler.spider.logger.error("%s: the crawl's claim on the source was lost; stopping",
                                             self.name)
            self.closed()
            self.crawler.stop()

    def closed(self) -> None:
        if self.calls is not None and self.calls.running:
            self.calls.stop()


@dataclass
class Crawled:
    """What a crawl without storing found: the items, and each page error as "url: reason"."""

    items: list[dict] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    excluded: int = 0  # items the source's include/exclude keywords left out


def crawl_to_items(config: SourceConfig, settings: dict | None = None) -> Crawled:
    """Crawl without storing (`huiying crawl --source-file`, `huiying sources check`)."""
    crawled = Crawled()
    process = _process(settings)
    crawler = process.create_crawler(spider_for(config.kind))
    crawler.signals.connect(lambda item, **_: crawled.items.append(asdict(item)),
                            signal=signals.item_scraped, weak=False)

    def closed(spider, **_) -> None:
        crawled.errors.extend(spider.errors)
        crawled.excluded = spider.excluded

    crawler.signals.connect(closed, signal=signals.spider_closed, weak=False)
    process.crawl(crawler, config=config)
    process.start()
    return crawled
