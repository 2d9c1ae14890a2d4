"""Scrapy's duplicate filter, which also reports redirect loops.

A redirect back to a URL this crawl already fetched (a loop, or every detail page sent to the
same login page) is dropped by the duplicate filter, and Scrapy says so only at DEBUG level:
the page would be lost without a word. Here it becomes a crawl error of the source.
"""

from __future__ import annotations

from scrapy import Request, Spider
from scrapy.dupefilters import RFPDupeFilter


class ReportingDupeFilter(RFPDupeFilter):
    def log(self, request: Request, spider: Spider) -> None:
        super().log(request, spider)
        chain = request.meta.get("redirect_urls")
        record = getattr(spider, "record_error", None)
        if chain and record is not None:
            hops = " → ".join([*chain, request.url])
            record(chain[0], f"redirect loop: {hops} leads back to a page already fetched; not read")
