"""Run spiders in this process (one reactor run: call once per process)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from scrapy import signals
from scrapy.crawler import CrawlerProcess

from crawler.kinds import spider_for
from crawler.settings import SCRAPY_SETTINGS
from crawler.store import CrawlStats, Store
from huiying.sources import SourceConfig


def _process(overrides: dict | None) -> CrawlerProcess:
    return CrawlerProcess({**SCRAPY_SETTINGS, **(overrides or {})})


def crawl(configs: list[SourceConfig], database_url: str,
          enqueue: Callable[[list[int]], object] | None = None,
          settings: dict | None = None) -> dict[str, CrawlStats]:
    """Crawl each source once and store what it yields; return stats per source."""
    process = _process(settings)
    stores: dict[str, Store] = {}
    for config in configs:
        store = Store(database_url, config, enqueue)
        stores[config.name] = store
        process.crawl(spider_for(config.kind), config=config, store=store)
    process.start()
    return {name: store.stats for name, store in stores.items()}


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
