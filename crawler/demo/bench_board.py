"""A loopback board of many threads for `huiying bench crawl`, generated on the fly.

Its list pages (`/board?page=N`, LIST_SIZE links each and a `next` link) and detail pages
(`/msg/ID.html`) have the demo board's markup, so the demo source's selectors read them. The
texts are the demo posts', numbered, so each thread is distinct. Served from its own process
(`python -m crawler.demo.bench_board --threads 5000`, which prints its URL on the first line
of stdout), on a threaded server, so it does not share the crawler's GIL.
"""

from __future__ import annotations

import argparse
import functools
from typing import Any
from urllib.parse import parse_qs
from wsgiref.simple_server import make_server

from crawler.demo.server import (
    _detail_html,
    _list_html,
    _page,
    _QuietHandler,
    _ThreadingWSGIServer,
    load_posts,
)

LIST_SIZE = 50


def list_pages(threads: int) -> int:
    return -(-threads // LIST_SIZE)


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

    def respond(start_response, status: str, text: str) -> list[bytes]:
        data = text.encode("utf-8")
        start_response(status, [("Content-Type", "text/html; charset=utf-8"),
                                ("Content-Length", str(len(data)))])
        return [data]

    def app(environ: dict[str, Any], start_response) -> list[bytes]:
        path = environ.get("PATH_INFO", "/")
        if path == "/board":
            raw = (parse_qs(environ.get("QUERY_STRING", "")).get("page") or ["1"])[0]
            page = int(raw) if raw.isdigit() else 0
            if 1 <= page <= list_pages(threads):
                first = (page - 1) * LIST_SIZE + 1
                chunk = [post(n) for n in range(first, min(first + LIST_SIZE, threads + 1))]
                content = _list_html(chunk, page, page < list_pages(threads), threads)
                return respond(start_response, "200 OK", _page(f"留言列表 第{page}页", content))
        elif path.startswith("/msg/") and path.endswith(".html"):
            raw = path[len("/msg/"):-len(".html")]
            if raw.isdigit() and 1 <= int(raw) <= threads:
                item = post(int(raw))
                return respond(start_response, "200 OK", _page(item["title"], _detail_html(item)))
        return respond(start_response, "404 Not Found", _page("页面不存在", "<h2>页面不存在</h2>"))

    return app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve the crawl benchmark's loopback board")
    parser.add_argument("--threads", type=int, default=5000)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    server = make_server("127.0.0.1", args.port, make_app(args.threads),
                         server_class=_ThreadingWSGIServer, handler_class=_QuietHandler)
    server.request_queue_size = 128
    print(f"http://127.0.0.1:{server.server_port}", flush=True)
    try:
        server.serve_forever(poll_interval=0.1)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
