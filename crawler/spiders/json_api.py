"""JSON APIs: a URL template paged by {page} or by a {cursor} the last response gave; each
item of the list at `items` a comment, its fields found by dotted paths (crawler/dotted.py).

An item without its id, or without every text field the source maps, is recorded and left
out; the rest of the page is kept. The crawl of a source stops at an empty page, at
max_pages, or at a loop (a cursor given twice, a page that repeats only items already read),
and a loop is recorded.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from urllib.parse import quote
from zoneinfo import ZoneInfo

from crawler.dotted import MISSING, as_text, lookup
from crawler.extract import html_text
from crawler.spiders.base import SourceSpider

TEXT_FIELDS = ("title", "body")


class JsonApiSpider(SourceSpider):
    kind = "json_api"
    name = "json_api"

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        spec = self.config.spec
        self.paging = {"by": "page", "start": 1, **spec.get("paging", {})}
        self.fields = spec["fields"]
        self._cursors: set[str] = set()
        self._ids: set[str] = set()

    def _url(self, page: int, cursor: str) -> str:
        return (self.config.spec["url"].replace("{page}", str(page))
                .replace("{cursor}", quote(cursor, safe="")))

    async def start(self):
        page = self.paging["start"] if self.paging["by"] == "page" else 1
        yield self.request(self._url(page, ""), self.parse_page, page=page, count=1)

    def parse_page(self, response, page: int, count: int):
        text = self.text(response)
        if text is None:
            return
        try:
            data = json.loads(text)
        except ValueError as exc:
            self.record_error(response.url, f"not JSON ({exc}); nothing read")
            return
        items = lookup(data, self.config.spec["items"])
        if not isinstance(items, list):
            self.record_error(response.url, f"items: {self.config.spec['items']!r} finds no list in "
                                            "the response (did the API change?)")
            return
        if not items:
            return  # the end of the list
        for number, raw in enumerate(items, 1):
            item = self.read_item(response.url, number, raw)
            if item is not None:
                yield item
        ids = [i for i in (as_text(lookup(raw, self.fields["id"])) for raw in items) if i]
        if ids and all(i in self._ids for i in ids):
            self.record_error(response.url, "pagination loop: this page repeats only items read "
                                            "already; stopped there")
            return
        self._ids.update(ids)
        if count >= self.config.max_pages:
            return
        if self.paging["by"] == "page":
            yield self.request(self._url(page + 1, ""), self.parse_page, page=page + 1, count=count + 1)
            return
        cursor = as_text(lookup(data, self.paging["cursor"]))
        if not cursor:
            return  # no next cursor: the last page
        if cursor in self._cursors:
            self.record_error(response.url, f"pagination loop: the cursor {cursor!r} was given "
                                            "already; stopped there")
            return
        self._cursors.add(cursor)
        yield self.request(self._url(page, cursor), self.parse_page, page=page + 1, count=count + 1)

    def read_item(self, page_url: str, number: int, raw):
        where = f"item {number}"
        ident = as_text(lookup(raw, self.fields["id"]))
        if ident is None:
            self.record_error(page_url, f"{where}: no id at fields.id {self.fields['id']!r}; not stored")
            return None
        where = f"item {number} (id {ident})"
        missing = [name for name in TEXT_FIELDS
                   if name in self.fields and lookup(raw, self.fields[name]) is MISSING]
        if missing:
            paths = ", ".join(f"fields.{name} {self.fields[name]!r}" for name in missing)
            self.record_error(page_url, f"{where}: nothing at {paths}; not stored")
            return None
        values = {name: as_text(lookup(raw, path)) for name, path in self.fields.items()}
        url = values.get("url") or (self.config.spec["link"].replace("{id}", quote(ident))
                                    if "link" in self.config.spec else f"{page_url}#{ident}")
        return self.comment(
            external_id=ident[:200], url=url,
            title=html_text(values.get("title") or ""), body=html_text(values.get("body") or ""),
            author=values.get("author"), reply=html_text(values.get("reply") or "") or None,
            published_at=self._time(raw, "published_at"), replied_at=self._time(raw, "replied_at"),
        )

    def _time(self, raw, name: str) -> str | None:
        """A time as the store reads it; a number is a Unix time (seconds, or milliseconds)."""
        value = lookup(raw, self.fields[name]) if name in self.fields else None
        if isinstance(value, bool) or value is MISSING or value is None:
            return None
        if isinstance(value, int | float):
            seconds = value / 1000 if value > 1e11 else value
            moment = datetime.fromtimestamp(seconds, UTC).astimezone(ZoneInfo(self.config.timezone))
            return moment.strftime("%Y-%m-%d %H:%M:%S")
        return as_text(value)
