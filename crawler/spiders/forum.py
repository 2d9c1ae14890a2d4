"""Forums (贴吧-style boards): thread list pages → thread pages, each floor (楼) a comment.

A thread's pages are read one after another and the thread is handed over whole: the first
floor is the post (the thread's title, its author and time), later floors are comments on it
(`<thread id>#<floor>`). Floors by the bureau — an author named in `thread.official.authors`,
or a floor carrying the `thread.official.marker` element (a 官方 badge) — are the post's
official reply, not public comments. A thread page that fails is recorded; the floors read
before it are kept.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from crawler.extract import external_id, text_of
from crawler.spiders.base import SourceSpider


@dataclass
class Floor:
    number: int
    author: str | None
    time: str | None
    body: str
    official: bool


@dataclass
class Thread:
    ident: str
    title: str
    url: str
    floors: list[Floor] = field(default_factory=list)


class ForumSpider(SourceSpider):
    kind = "forum"
    name = "forum"

    def parse_start(self, response, page: int):
        selector = self.selector(response)
        if selector is None:
            return
        links = selector.css(self.config.spec["list"]["thread"]).getall()
        if not links:
            self.record_error(response.url, "the thread list has no links matching list.thread "
                                            "(did the site's layout change?)")
        for link in links:
            yield self.follow(response, link, self.parse_thread, self.thread_page_failed,
                              thread=None, page=1)
        yield from self.pages_after(response, selector, self.config.spec["list"].get("next"), page,
                                    self.parse_start)

    def parse_thread(self, response, thread: Thread | None, page: int):
        spec = self.config.spec["thread"]
        selector = self.selector(response)
        if selector is None:
            yield from self.finish(thread)
            return
        if thread is None:
            ident = external_id(response.url, spec.get("id", {}), selector)
            if not ident:
                self.record_error(response.url, "no id found with thread.id")
                return
            thread = Thread(ident, text_of(selector, spec["title"]), response.url)
        floors = selector.css(spec["floor"])
        if not floors and not thread.floors:
            self.record_error(response.url, "the thread page has no floors matching thread.floor "
                                            "(did the site's layout change?)")
            return
        official = spec.get("official", {})
        for node in floors:
            author = text_of(node, spec.get("author")) or None
            thread.floors.append(Floor(
                number=len(thread.floors) + 1, author=author, time=text_of(node, spec.get("time")) or None,
                body=text_of(node, spec["body"], limit=None),
                official=(author in official.get("authors", ())
                          or bool(official.get("marker") and node.css(official["marker"])))))
        next_css = spec.get("next")
        following = self.next_page(response, selector.css(next_css).get() if next_css else None, page,
                                   self.parse_thread, limit=spec.get("max_pages", self.config.max_pages),
                                   errback=self.thread_page_failed, thread=thread)
        if following is not None:
            yield following
            return
        yield from self.finish(thread)

    def thread_page_failed(self, failure):
        self.on_error(failure)
        yield from self.finish(failure.request.cb_kwargs.get("thread"))

    def finish(self, thread: Thread | None):
        """The thread's items: the post with its official reply, then the public floors."""
        if thread is None or not thread.floors:
            return
        post, *rest = thread.floors
        answers = [floor for floor in rest if floor.official]
        if not (thread.title or post.body):
            self.record_error(thread.url, "no title or first floor matches the configured selectors")
            return
        items = [self.comment(
            external_id=thread.ident, url=thread.url, title=thread.title, body=post.body,
            author=post.author, published_at=post.time,
            reply="\n\n".join(floor.body for floor in answers) or None,
            replied_at=answers[0].time if answers else None)]
        for floor in rest:
            if floor.official or not floor.body:
                continue
            items.append(self.comment(
                external_id=f"{thread.ident}#{floor.number}"[:200], url=f"{thread.url}#{floor.number}",
                title=f"回复：{thread.title}", body=floor.body, author=floor.author,
                published_at=floor.time, thread=thread.ident))
        yield from (item for item in items if item is not None)
