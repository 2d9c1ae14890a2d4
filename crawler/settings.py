"""Scrapy settings: polite by default (see STYLE.md, Scrapy)."""

from huiying import __version__


def user_agent(contact: str) -> str:
    """An honest User-Agent: who we are and how the site can reach the installation."""
    return f"Huiying/{__version__} (+{contact}; public-opinion monitor of an education bureau)"


SCRAPY_SETTINGS = {
    "BOT_NAME": "huiying",
    "USER_AGENT": user_agent("https://github.com/huiying"),
    "ROBOTSTXT_OBEY": True,
    # Scrapy's robots.txt middleware in the place of its own, but reading the file again once
    # a day: a following crawl runs for weeks (crawler/robots.py).
    "DOWNLOADER_MIDDLEWARES": {"scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
                               "crawler.robots.RereadingRobotsTxt": 100},
    "HUIYING_ROBOTSTXT_MAX_AGE": 24 * 3600,
    "CONCURRENT_REQUESTS_PER_DOMAIN": 1,
    "AUTOTHROTTLE_ENABLED": True,
    "AUTOTHROTTLE_START_DELAY": 0.0,
    "AUTOTHROTTLE_TARGET_CONCURRENCY": 1.0,
    "DOWNLOAD_DELAY": 0,
    "DOWNLOAD_TIMEOUT": 20,
    "DOWNLOAD_MAXSIZE": 8 * 1024 * 1024,  # a hostile huge page is cut off, not read
    "DOWNLOAD_WARNSIZE": 2 * 1024 * 1024,
    "RETRY_TIMES": 1,
    "REDIRECT_MAX_TIMES": 10,
    "DUPEFILTER_CLASS": "crawler.dupefilter.ReportingDupeFilter",  # redirect loops are errors
    "CLOSESPIDER_ERRORCOUNT": 50,
    "ITEM_PIPELINES": {"crawler.pipelines.StorePipeline": 500},
    # Scrapy starts this many tasks for the output of every response, to run async pipelines
    # side by side; ours is synchronous, so the default 100 only cost ~0.5 ms of CPU a page
    # (a quarter of a bench-board crawl's CPU).
    "CONCURRENT_ITEMS": 1,
    "LOG_LEVEL": "WARNING",
    "LOG_INSTALL_ROOT_HANDLER": False,  # the huiying command configures logging
    "TELNETCONSOLE_ENABLED": False,
    "REQUEST_FINGERPRINTER_IMPLEMENTATION": "2.7",
    "TWISTED_REACTOR": "twisted.internet.asyncioreactor.AsyncioSelectorReactor",
}


# Politeness off, for `huiying bench crawl` only: what `scrapy bench` runs with (Scrapy's
# defaults: 16 requests at once, 8 per site, no delay, no robots.txt, no AutoThrottle). Set by
# the hidden `huiying crawl --bench-unthrottled`, which refuses any source that is not on
# loopback; no setting, environment variable or source config reaches it.
BENCH_UNTHROTTLED = {
    "ROBOTSTXT_OBEY": False,
    "AUTOTHROTTLE_ENABLED": False,
    "CONCURRENT_REQUESTS": 16,
    "CONCURRENT_REQUESTS_PER_DOMAIN": 8,
    "DOWNLOAD_DELAY": 0,
}


def unthrottled(start_urls: list[str]) -> dict:
    """BENCH_UNTHROTTLED, for sources whose start URLs are all on this machine (else ValueError)."""
    from ipaddress import ip_address
    from urllib.parse import urlsplit

    for url in start_urls:
        host = urlsplit(url).hostname or ""
        try:
            loopback = host == "localhost" or ip_address(host).is_loopback
        except ValueError:
            loopback = False
        if not loopback:
            raise ValueError(f"{url} is not on loopback: politeness stays on for real sites")
    return dict(BENCH_UNTHROTTLED)
