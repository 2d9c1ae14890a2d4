"""Scrapy settings: polite by default (see STYLE.md, Scrapy)."""

from huiying import __version__


def user_agent(contact: str) -> str:
    """An honest User-Agent: who we are and how the site can reach the installation."""
    return f"Huiying/{__version__} (+{contact}; public-opinion monitor of an education bureau)"


SCRAPY_SETTINGS = {
    "BOT_NAME": "huiying",
    "USER_AGENT": user_agent("https://github.com/huiying"),
    "ROBOTSTXT_OBEY": True,
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
    "LOG_LEVEL": "WARNING",
    "LOG_INSTALL_ROOT_HANDLER": False,  # the huiying command configures logging
    "TELNETCONSOLE_ENABLED": False,
    "REQUEST_FINGERPRINTER_IMPLEMENTATION": "2.7",
    "TWISTED_REACTOR": "twisted.internet.asyncioreactor.AsyncioSelectorReactor",
}
