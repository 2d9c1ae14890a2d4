"""Source files of every kind are validated before any crawl: one sentence per mistake."""

from pathlib import Path

import pytest

from huiying.errors import InputError
from huiying.sources import load_dir, parse_config, parse_text

EXAMPLES = Path(__file__).parents[2] / "crawler" / "sources" / "examples"
BOARD = "name: b\nstart_urls: [http://x.example/]\nlist: {link: a}\ndetail: {title: h1, body: p}\n"
FEED = "name: f\nkind: feed\nstart_urls: [http://x.example/rss]\n"
API = ("name: j\nkind: json_api\nurl: 'http://x.example/api?p={page}'\nitems: data\n"
       "fields: {id: id, title: t}\n")
FORUM = ("name: g\nkind: forum\nstart_urls: [http://x.example/]\nlist: {thread: a}\n"
         "thread: {title: h1, floor: div.post, body: div.text}\n")
SEARCH = ("name: s\nkind: search\nurl: 'http://x.example/s?q={keyword}'\nkeywords: [双减]\n"
          "results: {item: li, link: a}\n")


def test_the_shipped_examples_are_valid():
    kinds = sorted(config.kind for config in load_dir(EXAMPLES))
    assert kinds == ["feed", "forum", "json_api", "search"]


@pytest.mark.parametrize("text", [BOARD, FEED, API, FORUM, SEARCH], ids=["board", "feed", "json_api",
                                                                         "forum", "search"])
def test_a_config_survives_its_database_row(text):
    config = parse_text(text + "include: [城关]\nheaders: {Referer: 'http://x.example/'}\n", "x.yml")
    assert parse_config(config.as_dict()) == config
    assert config.include == ("城关",) and config.headers == {"Referer": "http://x.example/"}


def test_follow_seconds_takes_fractions_and_survives_the_row():
    config = parse_text(BOARD + "follow_seconds: 0.5\n", "x.yml")
    assert config.follow_seconds == 0.5
    assert parse_config(config.as_dict(), "row").follow_seconds == 0.5
    assert parse_text(BOARD, "x.yml").follow_seconds is None


def test_a_board_row_keeps_its_old_keys():
    assert set(parse_text(BOARD, "x.yml").as_dict()) == {
        "name", "title", "kind", "start_urls", "list", "detail", "encoding", "enabled", "max_pages",
        "timezone", "interval_minutes"}


@pytest.mark.parametrize(("text", "message"), [
    (BOARD.replace("detail:", "detial:"), "x.yml: unknown key 'detial'; did you mean 'detail'?"),
    (FEED + "exlude: [广告]\n", "x.yml: unknown key 'exlude'; did you mean 'exclude'?"),
    (FORUM.replace("floor:", "flor:"), "x.yml: unknown key 'thread.flor'; did you mean 'thread.floor'?"),
    (FEED.replace("kind: feed", "kind: rss"), "x.yml: kind 'rss' is not supported; use one of board, "
                                              "feed, json_api, forum, search."),
    (FEED.replace("kind: feed", "kind: fed"), "x.yml: kind 'fed' is not supported; did you mean 'feed'? "
                                              "use one of board, feed, json_api, forum, search."),
    (FEED.replace("start_urls", "urls"), "x.yml: unknown key 'urls'; known keys here: name, title"),
    (API.replace("items: data\n", ""), "x.yml: the key 'items' is missing."),
    (SEARCH.replace("results: {item: li, link: a}", "results: {item: li}"),
     "x.yml: the key 'results.link' is missing."),
    (FEED + "max_pages: many\n", "x.yml: 'max_pages' must be a whole number, got text."),
    (FEED + "encoding: gbkk\n", "x.yml: 'encoding' is not an encoding Python knows (e.g. gbk, gb18030, big5, "
                                 "utf-8)."),
    (FEED + "max_pages: 0\n", "x.yml: 'max_pages' must be a positive whole number."),
    (FEED + "include: 城关\n", "x.yml: 'include' must be a list, got text."),
    (FEED + "headers: {X-Token: 5}\n", "x.yml: 'headers' must hold only text values."),
    (FEED + "enabled: 1\n", "x.yml: 'enabled' must be true or false, got a whole number."),
    (SEARCH.replace("{keyword}", "{kw}"), "x.yml: 'url' must contain {keyword}."),
    (SEARCH.replace("[双减]", "[]"), "x.yml: 'keywords' must list at least one word."),
    (API.replace("{page}", "{cursor}"), "x.yml: 'url' must contain {page} to page by page."),
    (API + "paging: {by: cursor}\n", "x.yml: 'url' must contain {cursor} to page by cursor."),
    (API.replace("{page}", "{cursor}") + "paging: {by: cursor}\n",
     "x.yml: the key 'paging.cursor' is missing (the dotted path of the next cursor)."),
    (API + "paging: {by: offset}\n", "x.yml: 'paging.by' must be one of page, cursor."),
    (API.replace("title: t", "author: a"), "x.yml: 'fields' must map at least one of title and body."),
    (FORUM.replace("{thread: a}", "a"), "x.yml: 'list' must be a mapping, got text."),
    (BOARD + "follow_seconds: 0\n", "x.yml: 'follow_seconds' must be a positive number of seconds."),
    (BOARD + "follow_seconds: -0.5\n", "x.yml: 'follow_seconds' must be a positive number of seconds."),
    (BOARD + "follow_seconds: .inf\n", "x.yml: 'follow_seconds' must be a positive number of seconds."),
    (BOARD + "follow_seconds: often\n", "x.yml: 'follow_seconds' must be a number, got text."),
    (FEED + "follow_seconds: 5\n", "x.yml: 'follow_seconds' is for board sources only (a feed source is "
                                    "crawled every interval)."),
])
def test_mistakes_are_one_sentence(text, message):
    with pytest.raises(InputError) as caught:
        parse_text(text, "x.yml")
    assert str(caught.value).startswith(message)
    assert "\n" not in str(caught.value)


def test_each_kinds_section_of_the_docs_is_a_valid_source():
    import re

    import yaml

    from huiying.source_kinds import KINDS

    docs = (Path(__file__).parents[2] / "docs" / "sources.md").read_text("utf-8")
    blocks = re.findall(r"```yaml\n(.*?)```", docs, re.S)[1:]  # the first shows the shared keys alone
    assert sorted(parse_config(yaml.safe_load(block), "docs").kind for block in blocks) == sorted(KINDS)
