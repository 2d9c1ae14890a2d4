"""A small, stdlib-only WSGI message board: 云溪县教育体育局 · 局长信箱（演示站点）.

The posts live in ``posts.yaml`` next to this file. Right after start exactly the base
posts are visible; with ``new_post_every`` set, one more post of the ``later`` pool is
revealed every that many seconds (measured with ``clock``), so a scheduled crawl finds
new messages. Later posts keep their own ``created_at`` from the YAML (all newer than
the base posts), so every page is deterministic for a given number of revealed posts.

Run in the foreground with ``python -m crawler.demo.server --port 8765``.
"""

from __future__ import annotations

import argparse
import copy
import functools
import html
import socketserver
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import yaml

POSTS_FILE = Path(__file__).with_name("posts.yaml")
PAGE_SIZE = 20
ROBOTS_TXT = "User-agent: *\nAllow: /\n"
SITE_NAME = "云溪县教育体育局 · 局长信箱（演示站点）"

_STYLE = """
body{margin:0;font-family:"PingFang SC","Microsoft YaHei",SimSun,sans-serif;
background:#f3f5f8;color:#222;line-height:1.7}
header{background:#1d4e89;color:#fff;padding:14px 24px}
header a{color:#fff;text-decoration:none;font-size:20px;font-weight:bold}
main{max-width:860px;margin:20px auto;background:#fff;padding:20px 28px;
border:1px solid #dde3ea}
.msg-list{list-style:none;padding:0;margin:0}
.msg-item{display:flex;justify-content:space-between;border-bottom:1px dashed #ccd;
padding:8px 0}
.msg-item a{color:#1d4e89;text-decoration:none}
.msg-date{color:#888;white-space:nowrap;margin-left:16px}
.next{display:inline-block;margin-top:14px;color:#1d4e89}
.msg h1{font-size:22px;margin:4px 0 8px}
.msg-meta{color:#666;font-size:14px;border-bottom:1px solid #eee;padding-bottom:8px}
.reply{background:#f6f9fc;border-left:4px solid #1d4e89;padding:8px 16px;margin-top:18px}
footer{text-align:center;color:#999;font-size:13px;padding:16px}
""".strip()


# --------------------------------------------------------------------------- data


@functools.lru_cache(maxsize=1)
def _load() -> tuple[tuple[dict[str, Any], ...], tuple[dict[str, Any], ...]]:
    with POSTS_FILE.open(encoding="utf-8") as fh:
        data = yaml.safe_load(fh)
    base = tuple(_normalise(p) for p in data["posts"])
    later = tuple(_normalise(p) for p in data.get("later") or [])
    return base, later


def _normalise(post: dict[str, Any]) -> dict[str, Any]:
    post = dict(post)
    post["id"] = int(post["id"])
    post["created_at"] = str(post["created_at"])
    if post.get("reply"):
        post["reply"] = dict(post["reply"])
        post["reply"]["replied_at"] = str(post["reply"]["replied_at"])
    return post


def load_posts() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Return ``(base, later)``: the posts visible at start and the pool revealed over time.

    The file is parsed once; callers get their own copies.
    """
    base, later = _load()
    return copy.deepcopy(list(base)), copy.deepcopy(list(later))


def _newest_first(posts: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(posts, key=lambda p: (p["created_at"], p["id"]), reverse=True)


# --------------------------------------------------------------------------- HTML

esc = functools.partial(html.escape, quote=True)


def _paragraphs(text: str) -> str:
    lines = [line.strip() for line in str(text).splitlines()]
    return "".join(f"<p>{esc(line)}</p>" for line in lines if line)


def _page(title: str, content: str, charset: str = "utf-8") -> str:
    return (
        "<!DOCTYPE html>\n"
        '<html lang="zh-CN">\n<head>\n'
        f'<meta charset="{charset}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{esc(title)} - {esc(SITE_NAME)}</title>\n"
        f"<style>{_STYLE}</style>\n</head>\n<body>\n"
        f'<header><a href="/board?page=1">{esc(SITE_NAME)}</a></header>\n'
        f"<main>\n{content}\n</main>\n"
        "<footer>本站为回应（Huiying）自带的演示站点，留言内容均为虚构。</footer>\n"
        "</body>\n</html>\n"
    )


def _list_html(posts: list[dict[str, Any]], page: int, has_next: bool, total: int) -> str:
    items = "".join(
        f'<li class="msg-item"><a class="msg-title" href="/msg/{p["id"]}.html">'
        f'{esc(p["title"])}</a> <span class="msg-date">{esc(p["created_at"][:10])}</span></li>'
        for p in posts
    )
    parts = [
        f"<h2>留言列表（共 {total} 条，第 {page} 页）</h2>",
        f'<ul class="msg-list">{items}</ul>',
    ]
    if has_next:
        parts.append(f'<a class="next" href="/board?page={page + 1}">下一页</a>')
    return "\n".join(parts)


def _detail_html(post: dict[str, Any]) -> str:
    out = [
        '<div class="msg">',
        f'<h1 class="msg-title">{esc(post["title"])}</h1>',
        f'<p class="msg-meta">留言人：<span class="msg-author">{esc(post["author"])}</span> '
        f'留言时间：<span class="msg-time">{esc(post["created_at"])}</span></p>',
        f'<div class="msg-body">{_paragraphs(post["body"])}</div>',
    ]
    reply = post.get("reply")
    if reply:
        out.append(
            '<div class="reply">'
            f'<p>答复单位：<span class="reply-dept">{esc(reply["department"])}</span> '
            f'答复时间：<span class="reply-time">{esc(reply["replied_at"])}</span></p>'
            f'<div class="reply-body">{_paragraphs(reply["body"])}</div></div>'
        )
    out.append("</div>")
    return "".join(out)


# --------------------------------------------------------------------------- WSGI

StartResponse = Callable[..., Any]


def make_app(
    *, new_post_every: float | None = 90.0, clock: Callable[[], float] = time.monotonic
) -> Callable[[dict[str, Any], StartResponse], list[bytes]]:
    """Build the WSGI app. ``new_post_every=None`` keeps exactly the base posts forever."""
    if new_post_every is not None and new_post_every <= 0:
        raise ValueError("new_post_every must be positive or None")
    base, later = _load()
    t0 = clock()
    by_count: dict[int, tuple[list[dict[str, Any]], dict[int, dict[str, Any]]]] = {}
    lock = threading.Lock()

    def visible() -> tuple[list[dict[str, Any]], dict[int, dict[str, Any]]]:
        n = 0
        if new_post_every is not None:
            n = max(0, min(len(later), int((clock() - t0) // new_post_every)))
        with lock:
            if n not in by_count:
                posts = [*base, *later[:n]]
                by_count[n] = (_newest_first(posts), {p["id"]: p for p in posts})
            return by_count[n]

    def respond(
        start_response: StartResponse,
        status: str,
        body: str,
        *,
        content_type: str = "text/html",
        charset: str = "utf-8",
        extra: list[tuple[str, str]] | None = None,
    ) -> list[bytes]:
        data = body.encode(charset)
        headers = [
            ("Content-Type", f"{content_type}; charset={charset}"),
            ("Content-Length", str(len(data))),
            *(extra or []),
        ]
        start_response(status, headers)
        return [data]

    def error(start_response: StartResponse, status: str, message: str) -> list[bytes]:
        content = f"<h2>{esc(status)}</h2><p>{esc(message)}</p>"
        return respond(start_response, status, _page(message, content))

    def app(environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        body = route(environ, start_response)
        return [b""] if environ.get("REQUEST_METHOD") == "HEAD" else body

    def route(environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        method = environ.get("REQUEST_METHOD", "GET")
        path = environ.get("PATH_INFO", "/") or "/"
        if method not in ("GET", "HEAD"):
            return error(start_response, "405 Method Not Allowed", "不支持的请求方法")
        if path == "/":
            return respond(
                start_response,
                "302 Found",
                "",
                content_type="text/plain",
                extra=[("Location", "/board?page=1")],
            )
        if path == "/robots.txt":
            return respond(start_response, "200 OK", ROBOTS_TXT, content_type="text/plain")
        if path == "/board":
            query = parse_qs(environ.get("QUERY_STRING", ""))
            raw = (query.get("page") or ["1"])[0].strip()
            if not raw.isascii() or not raw.isdigit() or int(raw) < 1:
                return error(start_response, "400 Bad Request", "页码必须是正整数")
            page = int(raw)
            posts, _ = visible()
            start = (page - 1) * PAGE_SIZE
            chunk = posts[start : start + PAGE_SIZE]
            has_next = start + PAGE_SIZE < len(posts)
            content = _list_html(chunk, page, has_next, len(posts))
            return respond(start_response, "200 OK", _page(f"留言列表 第{page}页", content))
        if path.startswith("/msg/") and path.endswith(".html"):
            raw = path[len("/msg/") : -len(".html")]
            _, by_id = visible()
            post = by_id.get(int(raw)) if raw.isascii() and raw.isdigit() else None
            if post is None:
                return error(start_response, "404 Not Found", "留言不存在或已被删除")
            charset = "GBK" if post.get("gbk") else "utf-8"
            page_html = _page(post["title"], _detail_html(post), charset=charset.lower())
            return respond(start_response, "200 OK", page_html, charset=charset)
        return error(start_response, "404 Not Found", "页面不存在")

    return app


# --------------------------------------------------------------------------- server


class _ThreadingWSGIServer(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True
    # The listen backlog (socketserver's default is 5): read when the socket starts listening,
    # so a class attribute. A crawl of 8-16 connections at once overflowed 5, and each dropped
    # connection waited for the client's SYN retransmission, a second later.
    request_queue_size = 128


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass


class DemoServer:
    """The demo site running in a daemon thread; also a context manager."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, **app_kwargs: Any) -> None:
        self._httpd = make_server(
            host,
            port,
            make_app(**app_kwargs),
            server_class=_ThreadingWSGIServer,
            handler_class=_QuietHandler,
        )
        self.host = host
        self.port: int = self._httpd.server_port
        self.url = f"http://{host}:{self.port}"
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.1},
            name=f"huiying-demo-{self.port}",
            daemon=True,
        )
        self._thread.start()

    def shutdown(self) -> None:
        if self._thread.is_alive():
            self._httpd.shutdown()
            self._thread.join(timeout=5)
        self._httpd.server_close()

    def __enter__(self) -> DemoServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()


def serve(host: str = "127.0.0.1", port: int = 0, **app_kwargs: Any) -> DemoServer:
    """Start the demo site in a background thread; ``port=0`` picks a free port."""
    return DemoServer(host, port, **app_kwargs)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=f"Serve {SITE_NAME}")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument(
        "--new-post-every",
        type=float,
        default=90.0,
        help="seconds between newly revealed posts; 0 disables growth",
    )
    args = parser.parse_args(argv)
    every = args.new_post_every if args.new_post_every > 0 else None
    server = serve(args.host, args.port, new_post_every=every)
    print(f"Demo site: {server.url}/  (Ctrl+C to stop)", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        server.shutdown()


if __name__ == "__main__":
    main()
