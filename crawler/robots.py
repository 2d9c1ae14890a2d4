"""Scrapy's robots.txt middleware, reading a site's robots.txt again once it is a day old.

Scrapy reads robots.txt once per crawl process, which suits a crawl of minutes. A following
crawl runs for weeks, and a site that changes its robots.txt to refuse us must be obeyed
within HUIYING_ROBOTSTXT_MAX_AGE seconds (a Scrapy setting, crawler/settings.py), not at our
next restart.
"""

from __future__ import annotations

import time

from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.utils.httpobj import urlparse_cached
from twisted.internet.defer import Deferred


class RereadingRobotsTxt(RobotsTxtMiddleware):
    def __init__(self, crawler) -> None:
        super().__init__(crawler)
        self.max_age = crawler.settings.getfloat("HUIYING_ROBOTSTXT_MAX_AGE")
        self._read_at: dict[str, float] = {}

    async def robot_parser(self, request):
        netloc = urlparse_cached(request).netloc
        now = time.monotonic()
        read_at = self._read_at.setdefault(netloc, now)
        # Scrapy's cache of parsed files (private; a read still in progress is left alone).
        if now - read_at >= self.max_age and not isinstance(self._parsers.get(netloc), Deferred):
            self._parsers.pop(netloc, None)
            self._read_at[netloc] = now
        return await super().robot_parser(request)
