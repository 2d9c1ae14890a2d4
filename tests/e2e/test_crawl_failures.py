"""Hostile pages: each failure is logged against its source and the crawl goes on."""

import threading
import time
from contextlib import contextmanager
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest
import yaml
from sqlalchemy import create_engine, text

from huiying.cli.runner import demo_config
from tests.conftest import huiying, last_json, serve_in_thread

DETAIL = ('<html><head><meta charset="{charset}"></head><body><div class="msg">'
          '<h1 class="msg-title">{title}</h1><span class="msg-time">2026-11-20 09:00</span>'
          '<div class="msg-body">{body}</div></div></body></html>')

PAGES = {
    "/msg/1.html": ("utf-8", "utf-8", "正常留言", "<p>请问城关一小什么时候报名？</p>"),
    # Declares UTF-8, is GBK: a common misconfiguration of government sites.
    "/msg/2.html": ("utf-8", "gbk", "编码错误的留言", "<p>青石镇中学食堂饭菜太咸</p>"),
    "/msg/3.html": None,  # 404
    "/msg/4.html": "slow",
    "/msg/5.html": ("utf-8", "utf-8", "残缺的网页", "<p>学校门口<b>积水<div>严重<p>"),
    "/msg/6.html": ("utf-8", "utf-8", "", ""),  # layout changed: nothing to read
    "/msg/7.html": ("utf-8", "utf-8", "带脚本的留言",
                    "<p>校车超载</p><script>document.write('注入')</script>"),
}


def app(environ, start_response):
    path = environ["PATH_INFO"]
    if path == "/board":
        links = "".join(f'<li class="msg-item"><a class="msg-title" href="{p}">x</a></li>'
                        for p in PAGES)
        start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
        return [f'<ul class="msg-list">{links}</ul>'.encode()]
    page = PAGES.get(path)
    if page is None:
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"not found"]
    if page == "slow":
        time.sleep(3)
        start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
        return [b"too late"]
    declared, actual, title, body = page
    html = DETAIL.format(charset=declared, title=title, body=body)
    start_response("200 OK", [("Content-Type", f"text/html; charset={declared}")])
    return [html.encode(actual)]


class Quiet(WSGIRequestHandler):
    def log_message(self, *args):
        pass


class ThreadingServer(WSGIServer):
    daemon_threads = True

    def process_request(self, request, client_address):
        threading.Thread(target=self.process_request_thread, args=(request, client_address),
                         daemon=True).start()

    def process_request_thread(self, request, client_address):
        try:
            self.finish_request(request, client_address)
        finally:
            self.shutdown_request(request)


def with_sources(env: dict[str, str], tmp_path, *configs: dict) -> dict[str, str]:
    """`env` with a sources directory holding `configs` (source dicts) as YAML files."""
    sources = tmp_path / "sources"
    sources.mkdir()
    for config in configs:
        (sources / f"{config['name']}.yml").write_text(yaml.safe_dump(config, allow_unicode=True), "utf-8")
    return {**env, "HUIYING_SOURCES_DIR": str(sources)}


@contextmanager
def serving(app):
    """`app` (a WSGI callable) served on a loopback port in a thread; yields its base URL."""
    server = make_server("127.0.0.1", 0, app, server_class=ThreadingServer, handler_class=Quiet)
    serve_in_thread(server)
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def hostile_site():
    server = make_server("127.0.0.1", 0, app, server_class=ThreadingServer, handler_class=Quiet)
    serve_in_thread(server)
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def test_failures_are_logged_and_the_crawl_goes_on(migrated_env, hostile_site, tmp_path):

    config = demo_config(hostile_site).as_dict()
    config.update(name="hostile", start_urls=[hostile_site + "/board"])
    sources = tmp_path / "sources"
    sources.mkdir()
    (sources / "hostile.yml").write_text(yaml.safe_dump(config, allow_unicode=True), "utf-8")
    env = {**migrated_env, "HUIYING_SOURCES_DIR": str(sources), "HUIYING_CRAWL_TIMEOUT": "1"}

    stats = last_json(huiying("crawl", env=env).stdout)["hostile"]
    assert stats["new"] == 4

    database = tmp_path / "data" / "huiying.sqlite3"
    with create_engine(f"sqlite:///{database}").connect() as db:
        rows = dict(db.execute(text("SELECT external_id, title || '|' || body FROM comment")).all())
        errors = dict(db.execute(text("SELECT url, error FROM crawl_error")).all())
    assert rows["1"] == "正常留言|请问城关一小什么时候报名？"
    assert rows["2"] == "编码错误的留言|青石镇中学食堂饭菜太咸"
    assert rows["5"].startswith("残缺的网页|学校门口") and "严重" in rows["5"]
    assert rows["7"] == "带脚本的留言|校车超载" and "注入" not in rows["7"]
    assert errors[hostile_site + "/msg/3.html"] == "HTTP 404"
    assert errors[hostile_site + "/msg/4.html"] == "timed out"
    assert "no title or body" in errors[hostile_site + "/msg/6.html"]

    # A second crawl stores nothing new and keeps what was stored.
    again = last_json(huiying("crawl", env=env).stdout)["hostile"]
    assert again["new"] == 0 and again["unchanged"] == 4
