"""The feed, JSON API, forum and search spiders on saved pages, offline, with the shipped
example configs (crawler/sources/examples/). GBK and Big5 pages for feeds and forums; hostile
inputs (not a feed, missing JSON fields, binary content, a pagination loop) are recorded
against the source with the URL and a reason while the rest is kept."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from pathlib import Path

import pytest
from scrapy.http import HtmlResponse, Request, TextResponse, XmlResponse
from scrapy.utils.test import get_crawler

from crawler.items import CommentItem
from crawler.kinds import SPIDERS, spider_for
from crawler.spiders.base import SourceSpider
from huiying.source_kinds import KINDS
from huiying.sources import SourceConfig, load_file

PAGES = Path(__file__).parent / "pages"
EXAMPLES = Path(__file__).parents[2] / "crawler" / "sources" / "examples"


def example(kind: str, **changes) -> SourceConfig:
    config = load_file(EXAMPLES / f"{kind}.yml")
    return replace(config, **changes)


def spider(config: SourceConfig) -> SourceSpider:
    cls = spider_for(config.kind)
    return cls.from_crawler(get_crawler(cls), config=config)


def response(url: str, body: bytes | str, content_type: str, cls=HtmlResponse, **meta):
    body = body if isinstance(body, bytes) else (PAGES / body).read_bytes()
    return cls(url=url, body=body, headers={"Content-Type": content_type},
               request=Request(url, meta=meta))


def split(results) -> tuple[list[CommentItem], list[Request]]:
    results = list(results or ())
    return ([r for r in results if isinstance(r, CommentItem)],
            [r for r in results if isinstance(r, Request)])


def test_every_kind_has_a_spider_and_a_schema():
    assert set(SPIDERS) == set(KINDS) == {"board", "feed", "json_api", "forum", "search"}
    assert all(issubclass(cls, SourceSpider) and cls.kind == kind for kind, cls in SPIDERS.items())


# --- feed --------------------------------------------------------------------------------

FEED_URL = "http://www.yunxi.gov.cn/hdjl/rss.xml"


@pytest.fixture(params=["application/rss+xml; charset=gbk", "text/xml; charset=utf-8"],
                ids=["declared-gbk", "wrongly-declared-utf8"])
def rss(request):
    feed = spider(example("feed"))
    items, follow = split(feed.parse_start(response(FEED_URL, "feed_rss_gbk.xml", request.param,
                                                   XmlResponse), page=1))
    return feed, items, follow


def test_rss_gbk_entries(rss):
    feed, items, _ = rss
    assert [i.external_id for i in items] == ["yunxi-msg-1001", "yunxi-msg-1002"]
    first = items[0]
    assert first.title == "城关一小秋季学期课后服务收费标准是多少？"
    assert first.body == "孩子在城关一小读二年级，学校说课后服务每月收费，请问标准是多少？\n是否自愿参加？"
    assert first.url == "http://www.yunxi.gov.cn/hdjl/msg/1001.html"
    assert first.author == "王先生"
    assert first.published_at == "2026-12-01 09:30:00"  # +08:00, the source's zone
    assert feed.errors == []


def test_rss_excluded_entry_is_counted_not_an_error(rss):
    feed, items, _ = rss
    assert "暑期培训班招生广告" not in [i.title for i in items]
    assert feed.excluded == 1 and feed.crawler.stats.get_value("huiying/excluded") == 1
    assert feed.errors == []


def test_atom_big5_entries_and_next_page():
    feed = spider(example("feed"))
    page = response("http://forum.yunxi.example/atom", "feed_atom_big5.xml", "application/atom+xml",
                    XmlResponse)
    items, follow = split(feed.parse_start(page, page=1))
    assert [(i.title, i.author, i.published_at) for i in items] == [
        ("請問實驗中學今年還招收寄宿生嗎", "陳太太", "2026-12-02 08:15:00"),
        ("校車司機開車太快", None, "2026-12-01 17:40:00")]
    assert items[0].url == "http://forum.yunxi.example/thread/77.html"
    assert items[0].body == "家住青石鎮，離學校很遠，想讓孩子住校。"
    assert [r.url for r in follow] == ["http://forum.yunxi.example/atom?page=2"]


def test_atom_next_page_stops_at_max_pages():
    feed = spider(example("feed", max_pages=1))
    page = response("http://forum.yunxi.example/atom", "feed_atom_big5.xml", "application/atom+xml",
                    XmlResponse)
    assert split(feed.parse_start(page, page=1))[1] == []


def test_a_feed_that_is_not_xml_is_an_error_with_url_and_reason():
    feed = spider(example("feed"))
    assert split(feed.parse_start(response(FEED_URL, "not_a_feed.html", "text/html"), page=1)) == ([], [])
    assert len(feed.errors) == 1
    assert feed.errors[0].startswith(f"{FEED_URL}: not an RSS or Atom feed (")


def test_binary_content_is_an_error_not_a_comment():
    feed = spider(example("feed"))
    binary = bytes(range(256)) * 64
    assert split(feed.parse_start(response(FEED_URL, binary, "application/octet-stream",
                                          TextResponse), page=1)) == ([], [])
    assert feed.errors and feed.errors[0].startswith(f"{FEED_URL}: the page is not readable text")


# --- json_api ----------------------------------------------------------------------------

API_URL = "http://www.yunxi.gov.cn/api/messages?page=1&size=20"


def api_page(api, body: bytes | str = "api_page1.json", url: str = API_URL, page: int = 1, count: int = 1):
    return split(api.parse_page(response(url, body, "application/json", TextResponse),
                                page=page, count=count))


def test_json_items_by_dotted_paths():
    api = spider(example("json_api"))
    items, follow = api_page(api)
    first = items[0]
    assert (first.external_id, first.title, first.author) == ("9001", "城关一小学位紧张", "张女士")
    assert first.body == "今年城关一小一年级只招四个班，学位够吗？"
    assert first.published_at == "2026-12-01 09:30:00"  # Unix time 1796088600, Asia/Shanghai
    assert (first.reply, first.replied_at) == ("已增设一个班。", "2026-12-02 09:00")
    assert first.url == "http://www.yunxi.gov.cn/hdjl/msg/9001.html"
    assert (items[1].reply, items[1].published_at) == (None, "2026-11-29 12:00")
    assert [r.url for r in follow] == ["http://www.yunxi.gov.cn/api/messages?page=2&size=20"]


def test_json_items_with_missing_fields_are_errors_and_the_rest_kept():
    api = spider(example("json_api"))
    items, _ = api_page(api)
    assert [i.external_id for i in items] == ["9001", "9002"]
    assert api.errors == [
        f"{API_URL}: item 3: no id at fields.id 'id'; not stored",
        f"{API_URL}: item 4 (id 9004): nothing at fields.title 'title'; not stored"]


def test_json_empty_page_ends_the_crawl():
    api = spider(example("json_api"))
    assert api_page(api, json.dumps({"data": {"list": []}}).encode()) == ([], [])
    assert api.errors == []


def test_json_page_repeating_itself_is_a_pagination_loop():
    api = spider(example("json_api"))
    api_page(api)
    second = API_URL.replace("page=1", "page=2")
    items, follow = api_page(api, url=second, page=2, count=2)  # the API ignores ?page=
    assert follow == []
    assert api.errors[-1] == f"{second}: pagination loop: this page repeats only items read already; " \
                             "stopped there"


def test_json_cursor_paging_and_a_repeated_cursor():
    config = example("json_api", spec={**example("json_api").spec,
                                       "url": "http://api.example/m?after={cursor}",
                                       "paging": {"by": "cursor", "cursor": "data.next"}})
    api = spider(config)
    _, follow = api_page(api, url="http://api.example/m?after=")
    assert [r.url for r in follow] == ["http://api.example/m?after=c2"]
    page2 = {"data": {"next": "c2", "list": [{"id": 1, "title": "新一页", "content": "又一条"}]}}
    items, follow = api_page(api, json.dumps(page2).encode(), url="http://api.example/m?after=c2",
                             page=2, count=2)
    assert [i.title for i in items] == ["新一页"] and follow == []
    assert api.errors[-1] == ("http://api.example/m?after=c2: pagination loop: the cursor 'c2' was "
                              "given already; stopped there")


def test_json_that_is_not_json():
    api = spider(example("json_api"))
    assert api_page(api, b"<html>maintenance</html>") == ([], [])
    assert api.errors[-1].startswith(f"{API_URL}: not JSON (")


def test_json_items_path_finding_no_list():
    api = spider(example("json_api"))
    api_page(api, b'{"code": 500, "msg": "error"}')
    assert api.errors == [f"{API_URL}: items: 'data.list' finds no list in the response "
                          "(did the API change?)"]


# --- forum -------------------------------------------------------------------------------

BBS = "http://bbs.yunxi.example"


def test_forum_list_gbk_threads_and_next_page():
    forum = spider(example("forum"))
    _, follow = split(forum.parse_start(response(f"{BBS}/forum-12-1.html", "forum_list_gbk.html",
                                                "text/html"), page=1))
    assert [r.url for r in follow] == [f"{BBS}/thread-501-1.html", f"{BBS}/thread-502-1.html",
                                       f"{BBS}/forum-12-2.html"]


@pytest.fixture
def gbk_thread():
    forum = spider(example("forum"))
    _, follow = split(forum.parse_thread(
        response(f"{BBS}/thread-501-1.html", "forum_thread_gbk_1.html", "text/html; charset=utf-8"),
        thread=None, page=1))
    assert [r.url for r in follow] == [f"{BBS}/thread-501-2.html"]
    items, more = split(forum.parse_thread(
        response(follow[0].url, "forum_thread_gbk_2.html", "text/html"), **follow[0].cb_kwargs))
    assert more == [] and forum.errors == []
    return items


def test_forum_first_floor_is_the_post_with_the_official_reply(gbk_thread):
    post = gbk_thread[0]
    assert (post.external_id, post.title, post.author) == ("501", "实验中学食堂饭菜涨价了", "李家长")
    assert post.body == "这学期食堂一份套餐从6元涨到8元，分量还少了。\n请教育局管一管。"
    assert post.published_at == "发表于 2026-11-28 07:50"
    assert post.reply == "您好，我局已责成学校公示食堂成本，价格调整须经家委会听证。"
    assert post.replied_at == "发表于 2026-11-29 16:00"


def test_forum_later_floors_are_comments_across_thread_pages(gbk_thread):
    assert [(i.external_id, i.author, i.body) for i in gbk_thread[1:]] == [
        ("501#2", "青石人", "我家孩子也这么说，菜里肉很少。"),
        ("501#4", "李家长", "谢谢回复，等公示。")]  # floor 3 is the bureau's answer
    assert gbk_thread[1].title == "回复：实验中学食堂饭菜涨价了"
    assert gbk_thread[1].url == f"{BBS}/thread-501-1.html#2"


def test_forum_big5_thread_official_by_author_name():
    forum = spider(example("forum", encoding=None, include=()))
    items, _ = split(forum.parse_thread(
        response(f"{BBS}/thread-502-1.html", "forum_thread_big5.html", "text/html"), thread=None, page=1))
    assert len(items) == 1 and forum.errors == []
    assert items[0].title == "城關二小門口早上堵車嚴重"
    assert items[0].reply == "已轉交城關二小與交警大隊研究錯峰上學。"


def test_forum_thread_pagination_loop_keeps_the_floors_read():
    forum = spider(example("forum"))
    page = f"{BBS}/thread-501-1.html"
    _, follow = split(forum.parse_thread(response(page, "forum_thread_gbk_1.html", "text/html"),
                                         thread=None, page=1))
    # The "next" link of page 2 leads back to page 1.
    looped = (PAGES / "forum_thread_gbk_1.html").read_bytes()
    items, more = split(forum.parse_thread(response(follow[0].url, looped, "text/html"),
                                           **follow[0].cb_kwargs))
    assert more == []
    assert forum.errors == [f"{follow[0].url}: pagination loop: the next page {BBS}/thread-501-2.html "
                            "was read already; stopped there"]
    assert [i.external_id for i in items][:2] == ["501", "501#2"]


def test_forum_include_keywords_leave_out_the_rest():
    forum = spider(example("forum", encoding=None, include=("食堂",)))
    items, _ = split(forum.parse_thread(
        response(f"{BBS}/thread-502-1.html", "forum_thread_big5.html", "text/html"), thread=None, page=1))
    assert items == [] and forum.excluded == 1 and forum.errors == []


# --- search ------------------------------------------------------------------------------

def start_urls(config: SourceConfig | SourceSpider) -> list[str]:
    crawling = config if isinstance(config, SourceSpider) else spider(config)

    async def starts():
        return [r.url async for r in crawling.start()]

    return asyncio.run(starts())


def test_search_runs_the_url_for_each_keyword():
    urls = start_urls(example("search"))
    assert urls == ["http://news.yunxi.example/search?q=%E5%9F%8E%E5%85%B3%E4%B8%80%E5%B0%8F",
                    "http://news.yunxi.example/search?q=%E9%9D%92%E7%9F%B3%E9%95%87%E4%B8%AD%E5%AD%A6",
                    "http://news.yunxi.example/search?q=%E8%AF%BE%E5%90%8E%E6%9C%8D%E5%8A%A1",
                    "http://news.yunxi.example/search?q=%E5%8F%8C%E5%87%8F"]


def test_search_keyword_in_the_sites_encoding():
    assert start_urls(example("search", encoding="gbk"))[0] == \
        "http://news.yunxi.example/search?q=%B3%C7%B9%D8%D2%BB%D0%A1"


def test_a_keyword_the_sites_encoding_cannot_write_is_an_error():
    config = example("search", encoding="big5")
    config = replace(config, spec={**config.spec, "keywords": ["双减", "課後服務"]})
    search = spider(config)
    assert start_urls(search) == ["http://news.yunxi.example/search?q=%BD%D2%AB%E1%AAA%B0%C8"]
    assert search.errors == ["http://news.yunxi.example/search?q={keyword}: the keyword '双减' cannot be "
                             "written in big5; not searched"]


def test_search_results_read_in_place():
    search = spider(example("search"))
    url = "http://news.yunxi.example/search?q=%E5%9F%8E%E5%85%B3%E4%B8%80%E5%B0%8F"
    items, follow = split(search.parse_results(response(url, "search_results.html", "text/html"), page=1))
    assert [(i.title, i.published_at) for i in items] == [
        ("城关一小周边道路整治 家长：接送方便多了", "2026-12-01 10:00"),
        ("城关一小课后服务推出托管延时班", "2026-11-30")]
    assert items[0].external_id == items[0].url == "http://news.yunxi.example/news/2026/1201/88.html"
    assert items[0].body == "记者从云溪县教育体育局获悉，城关一小周边道路整治已完工。"
    assert [r.url for r in follow] == [url + "&p=2"]
    assert search.errors == [f"{url}: a result has no link matching results.link; not read"]


def test_search_result_found_by_two_keywords_is_read_once():
    search = spider(example("search"))
    page = "search_results.html"
    first, _ = split(search.parse_results(response("http://news.yunxi.example/search?q=a", page,
                                                   "text/html"), page=1))
    again, _ = split(search.parse_results(response("http://news.yunxi.example/search?q=b", page,
                                                   "text/html"), page=1))
    assert len(first) == 2 and again == []


def test_search_with_a_detail_section_follows_each_result():
    config = example("search")
    config = replace(config, spec={**config.spec, "detail": {"title": "h1", "body": "div.article"}})
    search = spider(config)
    items, follow = split(search.parse_results(response("http://news.yunxi.example/search?q=a",
                                                        "search_results.html", "text/html"), page=1))
    assert items == []
    assert [r.url for r in follow][:2] == ["http://news.yunxi.example/news/2026/1201/88.html",
                                           "http://news.yunxi.example/news/2026/1130/87.html"]


def test_a_5_mb_entry_is_stored_cut_and_the_cut_recorded():
    feed = spider(example("feed", exclude=()))
    text = "食堂" * (5 * 1024 * 1024 // 6)  # 5 MB of UTF-8
    rss = (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><item><guid>big</guid>'
           f'<link>http://www.yunxi.gov.cn/hdjl/msg/big.html</link><title>很长的留言</title><description>{text}</description></item></channel></rss>').encode()
    assert len(rss) > 5 * 1024 * 1024
    items, _ = split(feed.parse_start(response(FEED_URL, rss, "application/rss+xml", XmlResponse), page=1))
    assert len(items) == 1 and len(items[0].body) == 200_000
    assert feed.errors == ["http://www.yunxi.gov.cn/hdjl/msg/big.html: body: cut at 200,000 of its "
                           f"{len(text):,} characters; the rest was not stored"]
