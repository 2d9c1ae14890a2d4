"""RSS 2.0 and Atom feeds (feedparser reads both, and their older dialects): each entry a
comment. An Atom feed's rel="next" link is followed, page by page, up to max_pages."""

from __future__ import annotations

import calendar
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import feedparser

from crawler.extract import html_text
from crawler.spiders.base import SourceSpider


class FeedSpider(SourceSpider):
    kind = "feed"
    name = "feed"

    def parse_start(self, response, page: int):
        text = self.text(response)  # the source's encoding and the usual detection, as for pages
        if text is None:
            return
        # Handed over as UTF-8 whatever the XML declaration said: the text is decoded already.
        feed = feedparser.parse(text.encode("utf-8"), response_headers={
            "content-type": "application/xml; charset=utf-8", "content-location": response.url})
        if not feed.version and not feed.entries:
            reason = feed.get("bozo_exception") or "no <rss>, <feed> or <rdf:RDF> element"
            self.record_error(response.url, f"not an RSS or Atom feed ({reason}); nothing read")
            return
        for number, entry in enumerate(feed.entries, 1):
            yield from self.read_entry(response.url, number, entry)
        following = self.next_page(response, _link(feed.feed, "next"), page, self.parse_start)
        if following is not None:
            yield following

    def read_entry(self, feed_url: str, number: int, entry):
        ident = entry.get("id") or entry.get("link")
        if not ident:
            self.record_error(feed_url, f"entry {number} has neither an id nor a link; not stored")
            return
        content = entry.content[0].value if entry.get("content") else entry.get("summary", "")
        title = html_text(entry.get("title", ""))
        body = html_text(content)
        if not (title or body):
            self.record_error(feed_url, f"entry {number} ({ident}) has no title and no text; not stored")
            return
        item = self.comment(external_id=ident[:200], url=entry.get("link") or feed_url, title=title,
                            body=body, author=entry.get("author") or None,
                            published_at=self._time(entry, "published") or self._time(entry, "updated"))
        if item is not None:
            yield item

    def _time(self, entry, name: str) -> str | None:
        """The entry's time in the source's zone as the pages print it (the store reads it)."""
        parsed = entry.get(f"{name}_parsed")
        if parsed is None:
            return entry.get(name)  # a form feedparser does not know: the store tries, or flags it
        moment = datetime.fromtimestamp(calendar.timegm(parsed), UTC)
        return moment.astimezone(ZoneInfo(self.config.timezone)).strftime("%Y-%m-%d %H:%M:%S")


def _link(feed, rel: str) -> str | None:
    return next((link.get("href") for link in feed.get("links", ()) if link.get("rel") == rel), None)
