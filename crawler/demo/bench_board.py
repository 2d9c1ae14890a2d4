"""A loopback board of many threads for the benchmarks, generated on the fly.

Its list pages (`/board?page=N`, LIST_SIZE links each and a `next` link) and detail pages
(`/msg/ID.html`) have the demo board's markup, so the demo source's selectors read them.
Served from its own process, which prints its URL on the first line of stdout, on a threaded
server, so it does not share the crawler's GIL. Two modes:

- `--threads 5000` (`huiying bench crawl`): that many threads, oldest first, the demo posts'
  texts numbered so each thread is distinct;
- `--publish-rate 200 --publish-seconds 10 [--warm 5]` (`huiying bench pipeline`'s board
  leg): `--warm` posts from the start, then, from the first request of `/publish` (which
  answers with that moment as a Unix time), post `warm + k` appears at `(k - 1) / rate` seconds
  after it, newest first on list page 1 as a real board shows them; texts as the pipeline
  bench stores them (crawler.demo.texts). A post not published yet is not found (404).
  `/requests` answers how often each other URL was requested (JSON), so a test can see that a
  following crawl fetched every post once.
"""

from __future__ import annotations

import argparse
import functools
import json
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs
from wsgiref.simple_server import make_server
from zoneinfo import ZoneInfo

from crawler.demo.server import (
    _detail_html,
    _list_html,
    _page,
    _QuietHandler,
    _ThreadingWSGIServer,
    load_posts,
)
from crawler.demo.texts import mixed_texts

LIST_SIZE = 50
BOARD_TZ = ZoneInfo("Asia/Shanghai")


def list_pages(threads: int) -> int:
    return -(-threads // LIST_SIZE)


def _respond(start_response, status: str, text: str, content_type: str = "text/html") -> list[bytes]:
    data = text.encode("utf-8")
    start_response(status, [("Content-Type", f"{content_type}; charset=utf-8"),
                            ("Content-Length", str(len(data)))])
    return [data]


def _board_app(visible: Callable[[], int], post: Callable[[int], dict[str, Any]], *,
               newest_first: bool, extra: Callable | None = None):
    """A WSGI board of posts 1..visible(): list pages of LIST_SIZE and a page per post.
    `extra(path, start_response)` answers paths of its own (None: not one of them)."""

    def ids_on(page: int, count: int) -> range:
        if newest_first:
            top = count - (page - 1) * LIST_SIZE
            return range(top, max(top - LIST_SIZE, 0), -1)
        first = (page - 1) * LIST_SIZE + 1
        return range(first, min(first + LIST_SIZE, count + 1))

    def app(environ: dict[str, Any], start_response) -> list[bytes]:
        path = environ.get("PATH_INFO", "/")
        count = visible()
        if path == "/board":
            raw = (parse_qs(environ.get("QUERY_STRING", "")).get("page") or ["1"])[0]
            page = int(raw) if raw.isdigit() else 0
            if 1 <= page <= max(list_pages(count), 1):
                chunk = [post(n) for n in ids_on(page, count)]
                content = _list_html(chunk, page, page < list_pages(count), count)
                return _respond(start_response, "200 OK", _page(f"留言列表 第{page}页", content))
        elif path.startswith("/msg/") and path.endswith(".html"):
            raw = path[len("/msg/"):-len(".html")]
            if raw.isdigit() and 1 <= int(raw) <= count:
                item = post(int(raw))
                return _respond(start_response, "200 OK", _page(item["title"], _detail_html(item)))
        elif extra is not None and (answer := extra(path, start_response)) is not None:
            return answer
        return _respond(start_response, "404 Not Found", _page("页面不存在", "<h2>页面不存在</h2>"))

    return app


def make_app(threads: int):
    posts = load_posts()[0]

    @functools.cache
    def post(number: int) -> dict[str, Any]:
        """Thread `number`: a demo post (its reply too, when it has one), numbered."""
        base = dict(posts[number % len(posts)])
        base.update(id=number, title=f"{base['title']}（{number}）",
                    body=f"{base['body']}\n（第 {number} 号留言）")
        base.pop("gbk", None)  # UTF-8 throughout: the bench measures crawling, not decoding
        return base

    return _board_app(lambda: threads, post, newest_first=False)


class Publisher:
    """When each post of the publishing board appears: `warm` at once, then `rate` a second
    for `seconds` from start() on."""

    def __init__(self, warm: int, rate: float, seconds: float, clock=time.time) -> None:
        self.warm, self.rate, self.total = warm, rate, round(rate * seconds)
        self.clock = clock
        self.started: float | None = None
        self._lock = threading.Lock()

    def start(self) -> float:
        with self._lock:
            if self.started is None:
                self.started = self.clock()
            return self.started

    def published_at(self, number: int) -> float | None:
        """The Unix time post `number` appeared (None for the warm posts and unstarted)."""
        if number <= self.warm or self.started is None:
            return None
        return self.started + (number - self.warm - 1) / self.rate

    def visible(self) -> int:
        if self.started is None:
            return self.warm
        return self.warm + min(self.total, int((self.clock() - self.started) * self.rate) + 1)


def make_publishing_app(publisher: Publisher):
    texts = mixed_texts(publisher.warm + publisher.total, seed=11)
    shown_at = datetime.now(BOARD_TZ).strftime("%Y-%m-%d %H:%M")

    @functools.cache
    def post(number: int) -> dict[str, Any]:
        title, body = texts[number - 1]
        at = publisher.published_at(number)
        created = datetime.fromtimestamp(at, BOARD_TZ).strftime("%Y-%m-%d %H:%M:%S") if at else shown_at
        return {"id": number, "title": title, "body": body, "author": "网友", "created_at": created}

    def extra(path: str, start_response) -> list[bytes] | None:
        if path != "/publish":
            return None
        return _respond(start_response, "200 OK", repr(publisher.start()), "text/plain")

    board = _board_app(publisher.visible, post, newest_first=True, extra=extra)
    requested: Counter[str] = Counter()
    lock = threading.Lock()

    def app(environ: dict[str, Any], start_response) -> list[bytes]:
        query = environ.get("QUERY_STRING", "")
        url = environ.get("PATH_INFO", "/") + (f"?{query}" if query else "")
        if url == "/requests":
            with lock:
                counts = json.dumps(dict(requested))
            return _respond(start_response, "200 OK", counts, "application/json")
        with lock:
            requested[url] += 1
        return board(environ, start_response)

    return app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve the benchmarks' loopback board")
    parser.add_argument("--threads", type=int, default=5000)
    parser.add_argument("--publish-rate", type=float, default=None,
                        help="publish this many posts a second from the first GET /publish")
    parser.add_argument("--publish-seconds", type=float, default=10.0)
    parser.add_argument("--warm", type=int, default=5, help="posts shown before publishing starts")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    if args.publish_rate:
        app = make_publishing_app(Publisher(args.warm, args.publish_rate, args.publish_seconds))
    else:
        app = make_app(args.threads)
    server = make_server("127.0.0.1", args.port, app,
                         server_class=_ThreadingWSGIServer, handler_class=_QuietHandler)
    print(f"http://127.0.0.1:{server.server_port}", flush=True)
    try:
        server.serve_forever(poll_interval=0.1)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
