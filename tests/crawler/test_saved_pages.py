"""The board spider on saved detail pages, offline: one small test per extracted field.

The pages under pages/ were written for these tests in the encodings and markup that county
sites serve: a GBK page (also served under a header that wrongly claims UTF-8), a Big5 page
whose charset only its <meta> names, and broken markup (unclosed tags, a script inside a
comment, a script inside the body).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from scrapy.http import HtmlResponse, Request
from scrapy.utils.test import get_crawler

from crawler.items import CommentItem
from crawler.spiders.board import BoardSpider
from huiying.sources import parse_config
from huiying.store import parse_time

PAGES = Path(__file__).parent / "pages"
SERVER_HEADERS = {"Server": "nginx", "Date": "Wed, 02 Dec 2026 02:00:00 GMT",
                  "Cache-Control": "no-cache"}


def spider_for(detail: dict) -> BoardSpider:
    config = parse_config({"name": "saved", "start_urls": ["https://example.gov.cn/"],
                           "list": {"link": "a::attr(href)"}, "detail": detail})
    return BoardSpider.from_crawler(get_crawler(BoardSpider), config=config)


def parse_saved(page: str, url: str, content_type: str, detail: dict) -> CommentItem:
    """The item the spider yields for a saved page, received as a server would send it."""
    body = (PAGES / page).read_bytes()
    headers = {**SERVER_HEADERS, "Content-Type": content_type, "Content-Length": str(len(body))}
    response = HtmlResponse(url=url, body=body, headers=headers, request=Request(url))
    spider = spider_for(detail)
    items = list(spider.parse_detail(response))
    assert spider.crawler.stats.get_value("huiying/errors") is None, "the spider recorded an error"
    assert len(items) == 1 and isinstance(items[0], CommentItem)
    return items[0]


# 县长信箱 of a county government: a table layout, GBK (the <meta> says gb2312).
GBK_URL = "http://www.qingshi.gov.cn/xzxx/detail.jsp?id=20250318042"
GBK_DETAIL = {"id": {"from": "url", "pattern": r"id=(\d+)"}, "title": "td.subject",
              "body": "td.content", "author": "td.writer", "published_at": "td.sent",
              "reply": "div.answer-text", "replied_at": "span.answered"}


@pytest.fixture(scope="module", params=["text/html; charset=GBK", "text/html; charset=utf-8"],
                ids=["declared-gbk", "wrongly-declared-utf8"])
def gbk_letter(request) -> CommentItem:
    return parse_saved("letter_gbk.html", GBK_URL, request.param, GBK_DETAIL)


def test_gbk_title(gbk_letter):
    assert gbk_letter.title == "关于青石镇中心小学校车接送时间的咨询"


def test_gbk_body_keeps_paragraphs_and_drops_the_indent(gbk_letter):
    assert gbk_letter.body == ("孩子在青石镇中心小学读三年级，每天早上校车7点就到村口，冬天天还没亮。\n"
                               "请问能否把接送时间推迟到7点半？谢谢！")


def test_gbk_author(gbk_letter):
    assert gbk_letter.author == "刘女士"


def test_gbk_published_time(gbk_letter):
    assert gbk_letter.published_at == "2025-03-18 08:42:10"
    assert parse_time(gbk_letter.published_at, "Asia/Shanghai") == datetime(2025, 3, 18, 0, 42, 10,
                                                                            tzinfo=UTC)


def test_gbk_official_reply(gbk_letter):
    assert gbk_letter.reply == "刘女士您好！经与学校核实，自下周一起校车首班调整为7:25发车。\n感谢您的监督。"


def test_gbk_reply_time(gbk_letter):
    assert gbk_letter.replied_at == "2025年3月20日 16:05"
    assert parse_time(gbk_letter.replied_at, "Asia/Shanghai") == datetime(2025, 3, 20, 8, 5, tzinfo=UTC)


def test_gbk_external_id_and_url(gbk_letter):
    assert gbk_letter.external_id == "20250318042"
    assert gbk_letter.url == GBK_URL and gbk_letter.source == "saved"


# 民意信箱 in traditional characters, Big5; the server names no charset, only the <meta> does.
BIG5_URL = "https://mail.edu.example.tw/mail/view.php?no=8812"
BIG5_DETAIL = {"id": {"from": "url", "pattern": r"no=(\d+)"}, "title": "h2.mail-title",
               "body": "div.mail-text", "author": "em.who", "published_at": "em.when",
               "reply": "div.reply-text", "replied_at": "div.reply-when"}


@pytest.fixture(scope="module")
def big5_mail() -> CommentItem:
    return parse_saved("mail_big5.html", BIG5_URL, "text/html", BIG5_DETAIL)


def test_big5_title(big5_mail):
    assert big5_mail.title == "國中課後輔導收費是否合理"


def test_big5_body(big5_mail):
    assert big5_mail.body == "學校要求學生參加課後輔導，每學期收費新臺幣三千元，請問教育處是否核准？"


def test_big5_author(big5_mail):
    assert big5_mail.author == "陳先生"


def test_big5_published_time(big5_mail):
    assert big5_mail.published_at == "2025/04/07 21:15"
    assert parse_time(big5_mail.published_at, "Asia/Taipei") == datetime(2025, 4, 7, 13, 15, tzinfo=UTC)


def test_big5_official_reply(big5_mail):
    assert big5_mail.reply == "陳先生您好：課後輔導應採自願參加，學校收費須依規定辦理，本處已函請學校說明。"


def test_big5_reply_time_with_its_label(big5_mail):
    assert big5_mail.replied_at == "回覆日期：2025/04/09 10:30"
    assert parse_time(big5_mail.replied_at, "Asia/Taipei") == datetime(2025, 4, 9, 2, 30, tzinfo=UTC)


def test_big5_external_id(big5_mail):
    assert big5_mail.external_id == "8812"


# A message board with broken markup: unclosed <p>, <b>, <span>, <div>, unquoted attributes,
# stray closing tags, a script kept inside an HTML comment and a script inside the body.
BROKEN_URL = "https://liuyan.chengnan.example.cn/msg?id=17"
BROKEN_DETAIL = {"id": {"from": "css", "css": "#msg-no"}, "title": "h1.title", "body": "div.body",
                 "author": "span.name", "published_at": "span.time", "reply": "p.reply-body",
                 "replied_at": "p.reply-time"}


@pytest.fixture(scope="module")
def broken_message() -> CommentItem:
    return parse_saved("message_broken.html", BROKEN_URL, "text/html;charset=UTF-8", BROKEN_DETAIL)


def test_broken_title_runs_on_through_inline_tags(broken_message):
    assert broken_message.title == "城南幼儿园午餐分量不足"


def test_broken_body_without_script_or_commented_out_text(broken_message):
    assert broken_message.body == "孩子说中午经常吃不饱\n老师说饭菜就这么多\n希望教育局查一查\n谢谢！"
    assert "注释里的假正文" not in broken_message.body and "脚本里的字" not in broken_message.body


def test_broken_author(broken_message):
    assert broken_message.author == "匿名网友"


def test_broken_published_time_in_an_unclosed_span(broken_message):
    assert broken_message.published_at == "2025-05-06 12:00"
    assert parse_time(broken_message.published_at, "Asia/Shanghai") == datetime(2025, 5, 6, 4, 0,
                                                                                 tzinfo=UTC)


def test_broken_official_reply_in_an_unclosed_paragraph(broken_message):
    assert broken_message.reply == "已责成城南幼儿园按标准足量供餐，并由学前教育股每周抽查。"


def test_broken_reply_time(broken_message):
    assert broken_message.replied_at == "答复时间：2025-05-08 09:30"
    assert parse_time(broken_message.replied_at, "Asia/Shanghai") == datetime(2025, 5, 8, 1, 30,
                                                                              tzinfo=UTC)


def test_broken_external_id_from_an_unclosed_span_at_the_end(broken_message):
    assert broken_message.external_id == "CN-2025-0506-17"
