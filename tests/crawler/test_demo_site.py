"""The bundled demo site: its data mix and its HTML contract."""

from __future__ import annotations

import html
import re
import urllib.error
import urllib.request
from collections import Counter

import pytest

from crawler.demo import load_posts, serve
from crawler.demo.server import PAGE_SIZE, make_app

PINYIN = re.compile(r"[\u4e00-\u9fff]\([a-zāáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜü]+\)")
LIST_ITEM = re.compile(
    r'<li class="msg-item"><a class="msg-title" href="/msg/(\d+)\.html">(.*?)</a> '
    r'<span class="msg-date">(\d{4}-\d\d-\d\d)</span></li>'
)
NEXT = re.compile(r'<a class="next" href="/board\?page=(\d+)">下一页</a>')


@pytest.fixture(scope="module")
def posts():
    return load_posts()


@pytest.fixture(scope="module")
def site():
    with serve(new_post_every=None) as server:
        yield server


def fetch(url: str) -> tuple[int, dict[str, str], bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as err:
        with err:  # it holds the connection open
            return err.code, dict(err.headers), err.read()


def crawl_list(base_url: str) -> list[int]:
    ids: list[int] = []
    page = 1
    while True:
        status, _, body = fetch(f"{base_url}/board?page={page}")
        assert status == 200
        text = body.decode("utf-8")
        assert '<ul class="msg-list">' in text
        items = LIST_ITEM.findall(text)
        assert len(items) <= PAGE_SIZE
        ids += [int(i) for i, _, _ in items]
        nxt = NEXT.search(text)
        if not nxt:
            return ids
        assert int(nxt.group(1)) == page + 1
        assert len(items) == PAGE_SIZE
        page += 1


# --------------------------------------------------------------------------- data


def test_counts_and_ids(posts):
    base, later = posts
    assert len(base) >= 160
    assert len(later) >= 20
    ids = [p["id"] for p in base + later]
    assert len(ids) == len(set(ids))
    assert [p["id"] for p in base] == sorted(p["id"] for p in base)
    assert base[0]["id"] == 1001
    # base ids ascend with time, and the later pool is newer than every base post
    assert [p["created_at"] for p in base] == sorted(p["created_at"] for p in base)
    assert min(p["id"] for p in later) > max(ids[: len(base)])
    assert all(p["created_at"] > base[-1]["created_at"] for p in later)
    for p in base:
        assert "2026-09-01 00:00" <= p["created_at"] <= "2026-11-24 23:59"
        assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d", p["created_at"])
        assert p["title"].strip() and p["body"].strip() and p["author"].strip()


def test_topics(posts):
    base, _ = posts
    topics = Counter(p["topic"] for p in base if not p.get("spam"))
    assert sum(1 for n in topics.values() if n >= 8) >= 10


def test_mix_of_kinds(posts):
    base, _ = posts
    by_id = {p["id"]: p for p in base}
    replies = [p for p in base if p.get("reply")]
    assert len(replies) >= 15
    for p in replies:
        r = p["reply"]
        assert r["department"] and r["body"] and r["replied_at"] > p["created_at"]
    assert sum(1 for p in base if p.get("traditional")) >= 8
    assert sum(1 for p in base if PINYIN.search(p["title"] + p["body"])) >= 6
    assert sum(1 for p in base if p.get("spam")) >= 10
    assert sum(1 for p in base if p.get("gbk")) >= 12

    reposts = [p for p in base if p.get("repost_of")]
    assert len(reposts) >= 12
    exact = 0
    for p in reposts:
        original = by_id[p["repost_of"]]
        assert original["created_at"] <= p["created_at"]
        assert original["author"] != p["author"]
        exact += (p["title"], p["body"]) == (original["title"], original["body"])
    assert exact >= 3
    assert len(reposts) - exact >= 9  # edited copies

    bodies = [p["body"] for p in base]
    assert any("<script>" in b for b in bodies)
    assert sum(1 for b in bodies if re.search("[\U0001f300-\U0001faff]", b)) >= 2
    assert sum(1 for b in bodies if re.search("[Ａ-Ｚａ-ｚ０-９]", b)) >= 2
    assert sum(1 for b in bodies if re.search(r"1\d\d\*{4}\d{4}", b)) >= 2


def test_references_and_encodings(posts):
    base, later = posts
    ids = {p["id"] for p in base + later}
    base_ids = {p["id"] for p in base}
    for p in base:
        if p.get("repost_of"):
            assert p["repost_of"] in base_ids
    for p in later:
        if p.get("repost_of"):
            assert p["repost_of"] in ids and p["repost_of"] < p["id"]
    for p in base + later:
        if p.get("gbk"):
            text = p["title"] + p["body"] + p["author"] + str(p.get("reply") or "")
            text.encode("gbk")


def test_load_posts_returns_copies():
    base, _ = load_posts()
    base[0]["title"] = "changed"
    assert load_posts()[0][0]["title"] != "changed"


# --------------------------------------------------------------------------- HTTP


def test_root_redirects_and_robots(site):
    req = urllib.request.Request(site.url + "/")
    opener = urllib.request.build_opener(_NoRedirect)
    with pytest.raises(urllib.error.HTTPError) as info:
        opener.open(req, timeout=5)
    info.value.close()  # the error holds the connection open
    assert info.value.code == 302
    assert info.value.headers["Location"] == "/board?page=1"
    status, _, body = fetch(site.url + "/robots.txt")
    assert status == 200 and b"Allow: /" in body


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def test_pagination_covers_all_base_posts(site, posts):
    base, _ = posts
    ids = crawl_list(site.url)
    assert sorted(ids) == sorted(p["id"] for p in base)
    assert len(ids) == len(set(ids))
    by_id = {p["id"]: p for p in base}
    keys = [(by_id[i]["created_at"], i) for i in ids]
    assert keys == sorted(keys, reverse=True)  # newest first


def test_list_page_bounds(site, posts):
    base, _ = posts
    last = -(-len(base) // PAGE_SIZE)
    status, headers, body = fetch(f"{site.url}/board?page={last + 1}")
    assert status == 200
    text = body.decode("utf-8")
    assert '<ul class="msg-list"></ul>' in text and not NEXT.search(text)
    for bad in ("abc", "1.5", "0", "-1"):
        assert fetch(f"{site.url}/board?page={bad}")[0] == 400
    status, headers, body = fetch(f"{site.url}/board?page=1")
    text = body.decode("utf-8")
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    assert '<html lang="zh-CN">' in text and '<meta charset="utf-8">' in text
    assert "云溪县教育体育局 · 局长信箱（演示站点）" in text


def test_detail_page_structure(site, posts):
    base, _ = posts
    post = next(p for p in base if p.get("reply") and not p.get("gbk"))
    status, headers, body = fetch(f"{site.url}/msg/{post['id']}.html")
    assert status == 200
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    text = body.decode("utf-8")
    e = html.escape
    assert (
        f'<div class="msg"><h1 class="msg-title">{e(post["title"])}</h1>'
        f'<p class="msg-meta">留言人：<span class="msg-author">{e(post["author"])}</span> '
        f'留言时间：<span class="msg-time">{post["created_at"]}</span></p>'
        f'<div class="msg-body"><p>'
    ) in text
    reply = post["reply"]
    assert (
        f'<div class="reply"><p>答复单位：<span class="reply-dept">{e(reply["department"])}</span> '
        f'答复时间：<span class="reply-time">{reply["replied_at"]}</span></p>'
        f'<div class="reply-body"><p>'
    ) in text
    assert f"<p>{e(reply['body'])}</p></div></div></div>" in text
    # topic and flags are never rendered
    assert post["topic"] not in text.split("<main>")[1]


def test_gbk_page(site, posts):
    base, _ = posts
    post = next(p for p in base if p.get("gbk") and p.get("traditional"))
    status, headers, body = fetch(f"{site.url}/msg/{post['id']}.html")
    assert status == 200
    assert headers["Content-Type"].lower() == "text/html; charset=gbk"
    with pytest.raises(UnicodeDecodeError):
        body.decode("utf-8")
    text = body.decode("gbk")
    assert '<meta charset="gbk">' in text
    assert html.escape(post["title"]) in text and html.escape(post["body"]) in text


def test_script_post_is_escaped(site, posts):
    base, _ = posts
    post = next(p for p in base if "<script>" in p["body"])
    _, _, body = fetch(f"{site.url}/msg/{post['id']}.html")
    text = body.decode("gbk" if post.get("gbk") else "utf-8")
    assert "<script>" not in text and "<img src=x" not in text
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in text
    assert "&lt;img src=x onerror=alert(1)&gt;" in text


def test_unknown_pages_are_404(site, posts):
    _, later = posts
    assert fetch(site.url + "/msg/999999.html")[0] == 404
    assert fetch(site.url + "/msg/abc.html")[0] == 404
    assert fetch(f"{site.url}/msg/{later[0]['id']}.html")[0] == 404  # not yet revealed
    assert fetch(site.url + "/nope")[0] == 404


# --------------------------------------------------------------------------- growth


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def call(app, path: str, query: str = "") -> tuple[str, bytes]:
    seen = {}

    def start_response(status, headers):
        seen["status"] = status

    env = {"REQUEST_METHOD": "GET", "PATH_INFO": path, "QUERY_STRING": query}
    body = b"".join(app(env, start_response))
    return seen["status"], body


def test_later_posts_appear_over_time(posts):
    base, later = posts
    clock = FakeClock()
    app = make_app(new_post_every=90.0, clock=clock)

    def first_page_ids() -> list[int]:
        status, body = call(app, "/board", "page=1")
        assert status.startswith("200")
        return [int(i) for i, _, _ in LIST_ITEM.findall(body.decode("utf-8"))]

    newest_base = max(base, key=lambda p: (p["created_at"], p["id"]))["id"]
    assert first_page_ids()[0] == newest_base
    clock.now += 89.9
    assert first_page_ids()[0] == newest_base
    assert call(app, f"/msg/{later[0]['id']}.html")[0].startswith("404")
    clock.now += 0.1
    assert first_page_ids()[:2] == [later[0]["id"], newest_base]
    assert call(app, f"/msg/{later[0]['id']}.html")[0].startswith("200")
    assert call(app, f"/msg/{later[1]['id']}.html")[0].startswith("404")
    clock.now += 90 * 1000
    ids = first_page_ids()
    assert ids[: len(later)] == [p["id"] for p in reversed(later)][:PAGE_SIZE]


def test_growth_disabled_and_fresh_servers_identical(posts):
    clock = FakeClock()
    app = make_app(new_post_every=None, clock=clock)
    first = call(app, "/board", "page=1")
    clock.now += 10**6
    assert call(app, "/board", "page=1") == first
    other = make_app(clock=FakeClock())
    assert call(other, "/board", "page=1") == first
