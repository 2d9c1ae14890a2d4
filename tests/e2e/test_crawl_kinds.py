"""Every source kind crawled for real: `huiying crawl NAME` against a loopback site, with the
shipped example configs pointed at it, stores into the database; hostile inputs (a feed that
is not XML, binary content, a 5 MB entry, JSON items with missing fields, pagination loops)
are each a crawl_error of the source with the URL and the reason, and the crawl goes on."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import parse_qs
from wsgiref.simple_server import make_server

import pytest
import yaml
from sqlalchemy import create_engine, text

from tests.conftest import huiying, last_json, serve_in_thread
from tests.e2e.test_crawl_failures import Quiet, ThreadingServer

PAGES = Path(__file__).parents[1] / "crawler" / "pages"
EXAMPLES = Path(__file__).parents[2] / "crawler" / "sources" / "examples"
HUGE_TEXT = "校车" * (5 * 1024 * 1024 // 6)
HUGE_FEED = ('<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><item><guid>huge</guid>'
             '<link>/hdjl/msg/huge.html</link><title>很长的留言</title>'
             f'<description>{HUGE_TEXT}</description></item></channel></rss>').encode()
EMPTY_ATOM = b'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>x</title></feed>'
EMPTY_RESULTS = b'<html><body><ul class="results"></ul></body></html>'
# A second thread list page whose "next" leads back to the first: a pagination loop.
LIST_LOOP = ('<html><body><table><tr><td class="subject"><a href="/thread-503-1.html">x</a></td></tr>'
             '</table><a class="nxt" href="/forum-12-1.html">下一页</a></body></html>').encode("gbk")
# Thread 503: its second page fails; the floors of the first are kept.
THREAD_503 = (PAGES / "forum_thread_gbk_1.html").read_bytes().replace(b"thread-501-2", b"thread-503-2")

ROUTES = {
    "/rss.xml": ("application/rss+xml; charset=gbk", "feed_rss_gbk.xml"),
    "/atom": ("application/atom+xml", "feed_atom_big5.xml"),  # Big5 named only by its XML declaration
    "/atom?page=2": ("application/atom+xml", EMPTY_ATOM),
    "/not-a-feed": ("text/html; charset=utf-8", "not_a_feed.html"),
    "/binary": ("application/rss+xml", bytes(range(256)) * 256),
    "/huge.xml": ("application/rss+xml; charset=utf-8", HUGE_FEED),
    # The API ignores ?page=: page 2 repeats page 1, a loop.
    "/api": ("application/json", "api_page1.json"),
    "/forum-12-1.html": ("text/html", "forum_list_gbk.html"),
    "/forum-12-2.html": ("text/html", LIST_LOOP),
    "/thread-501-1.html": ("text/html; charset=utf-8", "forum_thread_gbk_1.html"),  # lies: it is GBK
    "/thread-501-2.html": ("text/html", "forum_thread_gbk_2.html"),
    "/thread-502-1.html": ("text/html", "forum_thread_big5.html"),  # Big5 under `encoding: gbk`
    "/thread-503-1.html": ("text/html", THREAD_503),
    "/search": ("text/html; charset=utf-8", "search_results.html"),
    "/search?p=2": ("text/html; charset=utf-8", EMPTY_RESULTS),
}


ACCEPT_SEEN: list[str] = []  # the Accept header of each API request (the source's `headers`)


def app(environ, start_response):
    path, query = environ["PATH_INFO"], parse_qs(environ.get("QUERY_STRING", ""))
    if path == "/api":
        ACCEPT_SEEN.append(environ.get("HTTP_ACCEPT", ""))
    key = path + (f"?page={query['page'][0]}" if path == "/atom" and "page" in query else "")
    if path == "/search":
        key += "?p=2" if "p" in query else ""
    if key not in ROUTES:
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"not found"]
    content_type, body = ROUTES[key]
    body = body if isinstance(body, bytes) else (PAGES / body).read_bytes()
    start_response("200 OK", [("Content-Type", content_type), ("Content-Length", str(len(body)))])
    return [body]


@pytest.fixture
def site():
    server = make_server("127.0.0.1", 0, app, server_class=ThreadingServer, handler_class=Quiet)
    serve_in_thread(server)
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def configs(site: str) -> dict[str, dict]:
    """The shipped examples, pointed at the loopback site."""
    found = {}
    for path in EXAMPLES.glob("*.yml"):
        config = yaml.safe_load(path.read_text("utf-8"))
        found[config["kind"]] = config
    found["feed"]["start_urls"] = [site + p for p in ("/rss.xml", "/atom", "/not-a-feed", "/binary",
                                                      "/huge.xml")]
    found["json_api"].update(url=site + "/api?page={page}&size=20", max_pages=3,
                             link=site + "/hdjl/msg/{id}.html")
    found["forum"]["start_urls"] = [site + "/forum-12-1.html"]
    found["search"]["url"] = site + "/search?q={keyword}"
    return found


@pytest.fixture
def crawl(migrated_env, site, tmp_path):
    sources = tmp_path / "sources"
    sources.mkdir()
    for kind, config in configs(site).items():
        (sources / f"{kind}.yml").write_text(yaml.safe_dump(config, allow_unicode=True), "utf-8")
    env = {**migrated_env, "HUIYING_SOURCES_DIR": str(sources)}
    database = create_engine(f"sqlite:///{tmp_path / 'data' / 'huiying.sqlite3'}")

    def run(name: str) -> tuple[dict, dict[str, dict], list[tuple[str, str]]]:
        result = huiying("crawl", name, env=env)
        with database.connect() as db:
            rows = db.execute(text(
                "SELECT c.external_id, c.title, c.body, c.author, c.url, c.official_reply, "
                "c.published_at, c.replied_at FROM comment c JOIN source s ON s.id = c.source_id "
                "WHERE s.name = :name"), {"name": name}).mappings().all()
            errors = db.execute(text(
                "SELECT e.url, e.error FROM crawl_error e JOIN source s ON s.id = e.source_id "
                "WHERE s.name = :name ORDER BY e.id"), {"name": name}).all()
        return last_json(result.stdout)[name], {r["external_id"]: dict(r) for r in rows}, \
            [tuple(e) for e in errors], result.stderr

    return run


def test_feed_crawl(crawl, site):
    stats, rows, errors, stderr = crawl("yunxi-feed")
    assert set(rows) == {"yunxi-msg-1001", "yunxi-msg-1002", "tag:forum.yunxi.example,2026:post-77",
                         "tag:forum.yunxi.example,2026:post-78", site + "/huge"}
    assert rows["yunxi-msg-1002"]["title"] == "青石镇中学宿舍冬天没有热水"  # GBK
    assert rows["tag:forum.yunxi.example,2026:post-77"]["author"] == "陳太太"  # Big5
    assert str(rows["yunxi-msg-1001"]["published_at"]).startswith("2026-12-01 01:30")  # UTC
    assert len(rows[site + "/huge"]["body"]) == 200_000
    assert stats["excluded"] == 1 and stats["new"] == 5  # 暑期培训班招生广告 names 广告
    reasons = dict(errors)
    assert reasons[site + "/not-a-feed"].startswith("not an RSS or Atom feed (")
    assert reasons[site + "/binary"].startswith("the page is not readable text in any encoding")
    assert reasons[site + "/hdjl/msg/huge.html"].startswith("body: cut at 200,000 of its")
    assert len(errors) == 3 and f"{site}/not-a-feed: not an RSS or Atom feed" in stderr


def test_json_api_crawl(crawl, site):
    ACCEPT_SEEN.clear()
    stats, rows, errors, _ = crawl("yunxi-api")
    assert ACCEPT_SEEN == ["application/json", "application/json"]  # the example's headers
    assert set(rows) == {"9001", "9002"} and stats["new"] == 2
    first = rows["9001"]
    assert (first["title"], first["author"], first["official_reply"]) == ("城关一小学位紧张", "张女士",
                                                                          "已增设一个班。")
    assert first["url"] == site + "/hdjl/msg/9001.html"
    assert str(first["published_at"]).startswith("2026-12-01 01:30")
    page1, page2 = site + "/api?page=1&size=20", site + "/api?page=2&size=20"
    assert errors == [
        (page1, "item 3: no id at fields.id 'id'; not stored"),
        (page1, "item 4 (id 9004): nothing at fields.title 'title'; not stored"),
        (page2, "item 3: no id at fields.id 'id'; not stored"),
        (page2, "item 4 (id 9004): nothing at fields.title 'title'; not stored"),
        (page2, "pagination loop: this page repeats only items read already; stopped there")]


def test_forum_crawl(crawl, site):
    stats, rows, errors, _ = crawl("yunxi-forum")
    assert set(rows) == {"501", "501#2", "501#4", "502", "503", "503#2"}
    assert rows["501"]["official_reply"] == "您好，我局已责成学校公示食堂成本，价格调整须经家委会听证。"
    assert str(rows["501"]["replied_at"]).startswith("2026-11-29 08:00")  # 16:00 in Shanghai
    assert (rows["501#2"]["author"], rows["501#2"]["body"]) == ("青石人", "我家孩子也这么说，菜里肉很少。")
    assert rows["502"]["title"] == "城關二小門口早上堵車嚴重"  # Big5, whatever `encoding: gbk` said
    assert rows["502"]["official_reply"] == "已轉交城關二小與交警大隊研究錯峰上學。"
    assert rows["503"]["official_reply"] is None and rows["503#2"]["author"] == "青石人"
    assert sorted(errors) == [
        (site + "/forum-12-2.html", f"pagination loop: the next page {site}/forum-12-1.html "
                                    "was read already; stopped there"),
        (site + "/thread-503-2.html", "HTTP 404")]
    assert stats["new"] == 6


def test_search_crawl(crawl, site):
    stats, rows, errors, _ = crawl("yunxi-news-search")
    assert set(rows) == {site + "/news/2026/1201/88.html", site + "/news/2026/1130/87.html"}
    assert rows[site + "/news/2026/1130/87.html"]["title"] == "城关一小课后服务推出托管延时班"
    # Four keywords, one results page each with a result that has no link.
    assert [reason for _, reason in errors] == ["a result has no link matching results.link; not read"] * 4
    again, _, _, _ = crawl("yunxi-news-search")
    assert again["new"] == 0 and again["unchanged"] == 2


def test_sources_check_on_every_example(migrated_env, site, tmp_path):
    for kind, config in configs(site).items():
        path = tmp_path / f"{kind}.yml"
        path.write_text(yaml.safe_dump(config, allow_unicode=True), "utf-8")
        result = json.loads(huiying("sources", "check", "--json", str(path), env=migrated_env)
                            .stdout.strip().splitlines()[-1])
        assert result["items"] >= 2, (kind, result)


def test_sources_check_says_what_the_first_page_yields(migrated_env, site, tmp_path):
    path = tmp_path / "forum.yml"
    path.write_text(yaml.safe_dump(configs(site)["forum"], allow_unicode=True), "utf-8")
    checked = huiying("sources", "check", str(path), env=migrated_env)
    assert f"{path}: valid; the first thread list page yields 4 comments" in checked.stdout


def test_sources_check_refuses_a_mistyped_file_in_one_sentence(migrated_env, site, tmp_path):
    config = configs(site)["json_api"]
    config["fields"]["autor"] = config["fields"].pop("author")
    path = tmp_path / "api.yml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), "utf-8")
    result = huiying("sources", "check", str(path), env=migrated_env, check=False)
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1].endswith(
        f"{path}: unknown key 'fields.autor'; did you mean 'fields.author'?")
