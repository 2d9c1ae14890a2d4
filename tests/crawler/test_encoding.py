"""Pages in a wrong, missing or mixed encoding: read as the public wrote them, or refused as a
crawl error — never stored garbled (crawler/encoding.py)."""

from __future__ import annotations

import os

import pytest
from scrapy.http import HtmlResponse, Request

from crawler.encoding import MAX_IMPLAUSIBLE, UndecodablePage, decode_body, implausible_share
from crawler.items import CommentItem
from tests.crawler.test_saved_pages import SERVER_HEADERS, spider_for

TITLE = "城关小学招生划片不合理"
UTF8_PART = "今年小学招生入学划片政策不公平，孩子上学要走很远。"
GBK_PART = "家长反映学校食堂饭菜质量差，请教育局尽快处理。"  # pasted from a GBK page
DETAIL = {"id": {"from": "url", "pattern": r"id=(\d+)"}, "title": "h1", "body": "div.content"}


def mixed_page() -> bytes:
    return (f"<html><head><meta charset='utf-8'><title>{TITLE}</title></head><body><h1>{TITLE}</h1>"
            f"<div class='content'><p>{UTF8_PART}</p>".encode()
            + f"<p>{GBK_PART}</p>".encode("gbk")
            + "<p>谢谢！一位学生家长</p></div></body></html>".encode())


def respond(body: bytes, content_type: str = "text/html; charset=utf-8"):
    url = "https://liuyan.example.gov.cn/detail?id=42"
    headers = {**SERVER_HEADERS, "Content-Type": content_type, "Content-Length": str(len(body))}
    spider = spider_for(DETAIL)
    errors: list[tuple[str, str]] = []
    spider.record_error = lambda url, message: errors.append((url, message))
    items = list(spider.parse_detail(HtmlResponse(url=url, body=body, headers=headers, request=Request(url))))
    return items, errors


def test_a_gbk_fragment_in_a_utf8_page_is_read_as_written():
    text = decode_body(mixed_page(), "utf-8")
    assert UTF8_PART in text and GBK_PART in text and "谢谢！一位学生家长" in text
    # Decoding the whole page as GBK (what happened before) gives mostly rare characters.
    assert implausible_share(mixed_page().decode("gb18030", errors="replace")) > MAX_IMPLAUSIBLE


def test_the_spider_stores_the_mixed_page_ungarbled():
    items, errors = respond(mixed_page())
    assert errors == []
    (item,) = items
    assert isinstance(item, CommentItem) and item.title == TITLE
    assert item.body == f"{UTF8_PART}\n{GBK_PART}\n谢谢！一位学生家长"


@pytest.mark.parametrize(("body", "declared"), [
    (os.urandom(4096), "utf-8"),  # binary served as a page
    (bytes(range(0x80, 0x100)) * 40, None),
    (b"\xff\xfe\xff\x80\x80\xff", None),  # a few bytes no codec reads
])
def test_a_page_no_encoding_reads_is_a_crawl_error_not_a_comment(body, declared):
    with pytest.raises(UndecodablePage, match="not readable text in any encoding"):
        decode_body(body, declared)


def test_the_spider_records_the_unreadable_page_and_yields_nothing():
    items, errors = respond(b"<html><body><h1>x</h1><div class='content'>" + os.urandom(4096)
                            + b"</div></body></html>")
    assert items == []
    assert len(errors) == 1 and "not readable text in any encoding" in errors[0][1]


@pytest.mark.parametrize(("text", "encoding", "declared"), [
    ("云溪县教育局留言，孩子上学太远了，希望尽快解决。", "gbk", "utf-8"),  # wrongly declared
    ("云溪县教育局留言，孩子上学太远了，希望尽快解决。", "gbk", None),
    ("學校要求學生參加課後輔導，每學期收費新臺幣三千元，請問教育處是否核准？", "big5", None),
    ("學校要求學生參加課後輔導，每學期收費新臺幣三千元，請問教育處是否核准？", "big5", "utf-8"),
    ("家长赵璟、钱曌反映：青石镇中学食堂饭菜发霉。", "gbk", None),  # rare characters in names
    ("Café résumé naïve — 教育局", "utf-8", None),
    # UTF-8 bytes that are valid GBK too: declared GBK they read 鍒掕鍘挎嫑…, refused as garbled.
    ("划请县招子学饭县校堂快长心公入饭年长学育县中今谢", "utf-8", "gbk"),
])
def test_single_encoding_pages_decode_as_before(text, encoding, declared):
    assert decode_body(text.encode(encoding), declared) == text
