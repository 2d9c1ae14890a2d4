"""Message boards (留言板, 局长信箱): list pages linking to detail pages, one comment each."""

from __future__ import annotations

from crawler.spiders.base import SourceSpider


class BoardSpider(SourceSpider):
    kind = "board"
    name = "board"

    def parse_start(self, response, page: int):
        selector = self.selector(response)
        if selector is None:
            return
        links = selector.css(self.config.list["link"]).getall()
        if not links:
            self.record_error(response.url, "the list page has no links matching list.link "
                                            "(did the site's layout change?)")
        new, further = self.unseen([response.urljoin(link.strip()) for link in links])
        for url in new:
            yield self.follow_detail(response, url, self.parse_detail)
        if further:
            yield from self.pages_after(response, selector, self.config.list.get("next"), page,
                                        self.parse_start)

    def parse_detail(self, response):
        yield from self.read_detail(response)
