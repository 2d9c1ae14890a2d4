"""A site's own search, run once for each of the source's keywords (county, towns, schools,
policy names): results pages, each result read in place (`results.title`, `results.summary`
…) or, with a `detail` section, followed to its page and read as a board's detail page."""

from __future__ import annotations

from urllib.parse import quote

from crawler.extract import text_of
from crawler.spiders.base import SourceSpider


class SearchSpider(SourceSpider):
    kind = "search"
    name = "search"

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._seen: set[str] = set()  # a result two keywords find is read once

    async def start(self):
        # Sites that serve GBK expect the keyword's GBK bytes in the query.
        encoding = self.config.encoding or "utf-8"
        template = self.config.spec["url"]
        for keyword in self.config.spec["keywords"]:
            try:
                query = quote(keyword.encode(encoding))
            except UnicodeEncodeError:
                self.record_error(template, f"the keyword {keyword!r} cannot be written in {encoding}; "
                                            "not searched")
                continue
            yield self.request(template.replace("{keyword}", query), self.parse_results, page=1)

    def parse_results(self, response, page: int):
        results = self.config.spec["results"]
        selector = self.selector(response)
        if selector is None:
            return
        for node in selector.css(results["item"]):  # no results for a keyword is no error
            link = node.css(results["link"]).get()
            if not link:
                self.record_error(response.url, "a result has no link matching results.link; not read")
                continue
            url = response.urljoin(link.strip())
            if url in self._seen:
                continue
            self._seen.add(url)
            if self.config.detail:
                yield self.follow(response, url, self.parse_detail)
                continue
            title = text_of(node, results.get("title"), limit=None)
            body = text_of(node, results.get("summary"), limit=None)
            if not (title or body):
                self.record_error(url, "no title or summary matches results.title / results.summary")
                continue
            item = self.comment(external_id=url[:200], url=url, title=title, body=body,
                                author=text_of(node, results.get("author")) or None,
                                published_at=text_of(node, results.get("published_at")) or None)
            if item is not None:
                yield item
        yield from self.pages_after(response, selector, results.get("next"), page, self.parse_results)

    def parse_detail(self, response):
        yield from self.read_detail(response)
