"""Crawl outcomes that used to pass in silence: a redirect loop, too many redirects, a page
over the download limit, a body cut at MAX_FIELD_CHARS, a page no encoding reads, a UTF-8
page with a GBK fragment. Each is recorded against the source (crawl_error) and summarised
on stderr, by `huiying crawl` and by `huiying crawl --source-file … --output` alike."""

from __future__ import annotations

import os
from wsgiref.simple_server import make_server

import pytest
import yaml
from sqlalchemy import create_engine, text

from crawler.extract import MAX_FIELD_CHARS
from huiying.cli.runner import demo_config
from tests.conftest import huiying, last_json, serve_in_thread
from tests.e2e.test_crawl_failures import DETAIL, Quiet, ThreadingServer

LONG_BODY = "城关小学门口道路积水严重，" * 20_000  # 260,000 characters
GBK_PART = "家长反映学校食堂饭菜质量差，请教育局尽快处理。"
BINARY = os.urandom(6000)
HUGE = 9 * 1024 * 1024  # over the 8 MB DOWNLOAD_MAXSIZE


def page(title: str, body: str) -> bytes:
    return DETAIL.format(charset="utf-8", title=title, body=body).encode()


def app(environ, start_response):
    path = environ["PATH_INFO"]
    html = "text/html; charset=utf-8"
    if path == "/board":
        links = "".join(f'<li class="msg-item"><a class="msg-title" href="{p}">x</a></li>'
                        for p in ("/msg/1.html", "/msg/loop", "/msg/chain/0", "/msg/huge",
                                  "/msg/2.html", "/msg/3.html", "/msg/binary"))
        start_response("200 OK", [("Content-Type", html)])
        return [f'<ul class="msg-list">{links}</ul>'.encode()]
    if path == "/msg/1.html":
        start_response("200 OK", [("Content-Type", html)])
        return [page("正常留言", "<p>请问城关一小什么时候报名？</p>")]
    if path == "/msg/loop":
        start_response("302 Found", [("Location", "/msg/loop")])
        return [b""]
    if path.startswith("/msg/chain/"):
        step = int(path.rsplit("/", 1)[1])
        start_response("302 Found", [("Location", f"/msg/chain/{step + 1}")])
        return [b""]
    if path == "/msg/huge":
        start_response("200 OK", [("Content-Type", html), ("Content-Length", str(HUGE))])
        return [b" " * HUGE]
    if path == "/msg/2.html":
        start_response("200 OK", [("Content-Type", html)])
        return [page("很长的留言", f"<p>{LONG_BODY}</p>")]
    if path == "/msg/3.html":
        start_response("200 OK", [("Content-Type", html)])
        head, tail = page("夹杂GBK的留言", "<p>今年招生划片不合理。</p>SPLIT").split(b"SPLIT")
        return [head + f"<p>{GBK_PART}</p>".encode("gbk") + tail]
    if path == "/msg/binary":
        start_response("200 OK", [("Content-Type", html)])
        return [BINARY]
    start_response("404 Not Found", [("Content-Type", "text/plain")])
    return [b"not found"]


@pytest.fixture
def outcome_site():
    server = make_server("127.0.0.1", 0, app, server_class=ThreadingServer, handler_class=Quiet)
    serve_in_thread(server)
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def source_file(outcome_site, tmp_path):
    config = demo_config(outcome_site).as_dict()
    config.update(name="outcomes", start_urls=[outcome_site + "/board"])
    sources = tmp_path / "sources"
    sources.mkdir()
    path = sources / "outcomes.yml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), "utf-8")
    return path


def expected_errors(site: str) -> dict[str, str]:
    """URL → a piece of the reason recorded for it."""
    return {
        f"{site}/msg/loop": "redirect loop",
        f"{site}/msg/chain/0": "too many redirects",
        f"{site}/msg/huge": "larger than the 8 MB download limit",
        f"{site}/msg/2.html": f"body: cut at {MAX_FIELD_CHARS:,} of its",
        f"{site}/msg/binary": "not readable text in any encoding",
    }


def assert_summarised(stderr: str, site: str) -> None:
    assert "outcomes: 5 page error(s):" in stderr, stderr
    for url, reason in expected_errors(site).items():
        assert any(url in line and reason in line for line in stderr.splitlines()), (url, stderr)


def test_a_stored_crawl_records_each_outcome_and_says_so(migrated_env, outcome_site, source_file,
                                                          tmp_path):
    env = {**migrated_env, "HUIYING_SOURCES_DIR": str(source_file.parent)}
    done = huiying("crawl", env=env)
    stats = last_json(done.stdout)["outcomes"]
    assert stats["new"] == 3  # the normal page, the long one (cut), the mixed one
    assert len(stats["errors"]) == 5
    assert_summarised(done.stderr, outcome_site)

    database = tmp_path / "data" / "huiying.sqlite3"
    with create_engine(f"sqlite:///{database}").connect() as db:
        errors = db.execute(text("SELECT url, error FROM crawl_error")).all()
        bodies = dict(db.execute(text("SELECT title, body FROM comment")).all())
    for url, reason in expected_errors(outcome_site).items():
        assert any(u == url and reason in e for u, e in errors), (url, errors)
    assert len(bodies["很长的留言"]) == MAX_FIELD_CHARS
    assert bodies["夹杂GBK的留言"] == f"今年招生划片不合理。\n{GBK_PART}"


def test_crawl_to_a_file_summarises_the_page_errors(migrated_env, outcome_site, source_file,
                                                     tmp_path):
    output = tmp_path / "items.jsonl"
    done = huiying("crawl", "--source-file", str(source_file), "--output", str(output),
                   env=migrated_env)
    assert "3 comments" in done.stderr
    assert_summarised(done.stderr, outcome_site)
    assert len(output.read_text("utf-8").splitlines()) == 3


def test_sources_check_reports_the_page_errors(migrated_env, source_file, outcome_site):
    result = last_json(huiying("sources", "check", "--json", str(source_file), env=migrated_env).stdout)
    assert result["items"] == 3 and len(result["errors"]) == 5
