from datetime import UTC, datetime

import pytest
from parsel import Selector

from crawler.extract import UndecodablePage, decode_body, external_id, text_of
from huiying.store import parse_time


def test_decode_declared_gbk_and_wrongly_declared_utf8():
    gbk = "云溪县教育局留言".encode("gbk")
    assert decode_body(gbk, "gbk") == "云溪县教育局留言"
    # The page says UTF-8 but is GBK: recovered, not mangled into U+FFFD.
    assert decode_body(gbk, "utf-8") == "云溪县教育局留言"
    assert decode_body("留言".encode(), None) == "留言"


def test_undecodable_page_is_an_error_not_garbage():
    with pytest.raises(UndecodablePage):
        decode_body(b"\xff\xff\xff\x80\x80\xff", "utf-8", None)


def test_text_of_skips_scripts_and_keeps_paragraphs():
    html = ('<div class="b"><p>第一段</p><script>alert("x")</script><style>p{}</style>'
            '<p>第二段&lt;b&gt;</p></div>')
    sel = Selector(text=html)
    assert text_of(sel, "div.b") == "第一段\n第二段<b>"
    assert text_of(sel, "div.missing") == ""
    assert text_of(sel, "p::text") == "第一段 第二段<b>"


def test_external_id_from_url_pattern():
    sel = Selector(text="<p>x</p>")
    assert external_id("http://h/msg/1042.html", {"from": "url", "pattern": r"/msg/(\d+)"}, sel) == "1042"
    assert external_id("http://h/x", {"from": "url", "pattern": r"/msg/(\d+)"}, sel) is None


def test_parse_time_in_source_timezone():
    assert parse_time("2026-11-03 10:20", "Asia/Shanghai") == datetime(2026, 11, 3, 2, 20, tzinfo=UTC)
    assert parse_time("留言时间：2026年1月5日", "Asia/Shanghai") == datetime(2026, 1, 4, 16, 0, tzinfo=UTC)
    assert parse_time("2026-02-31", "Asia/Shanghai") is None
    assert parse_time(None, "Asia/Shanghai") is None
