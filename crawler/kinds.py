"""Which spider crawls each source kind (the YAML of each kind: huiying/source_kinds.py).

A new kind is a spider module in crawler/spiders/ on SourceSpider, named here, and its keys
in huiying.source_kinds.KINDS.
"""

from __future__ import annotations

from crawler.spiders.base import SourceSpider
from crawler.spiders.board import BoardSpider
from crawler.spiders.feed import FeedSpider
from crawler.spiders.forum import ForumSpider
from crawler.spiders.json_api import JsonApiSpider
from crawler.spiders.search import SearchSpider

SPIDERS: dict[str, type[SourceSpider]] = {
    spider.kind: spider for spider in (BoardSpider, FeedSpider, JsonApiSpider, ForumSpider, SearchSpider)
}


def spider_for(kind: str) -> type[SourceSpider]:
    return SPIDERS[kind]
