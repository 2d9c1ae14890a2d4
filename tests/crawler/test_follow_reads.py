"""What a following board spider requests from each list page it reads: the links it has not
requested (nor stored), and whether the next list page may still hold one."""

from crawler.spiders.board import BoardSpider
from huiying.cli.runner import demo_config

BOARD = "http://127.0.0.1:9"


def links(*numbers: int) -> list[str]:
    return [f"{BOARD}/msg/{n}.html" for n in numbers]


def read(spider: BoardSpider) -> None:
    """The start of a read of the start pages (a poll)."""
    assert [r.dont_filter for r in spider.start_requests_now()] == [True]


def test_a_read_goes_on_while_a_page_shows_something_new_or_only_what_this_read_found():
    spider = BoardSpider(demo_config(BOARD), follow_seconds=1.0)
    read(spider)
    assert spider.unseen(links(10, 9, 8, 7, 6)) == (links(10, 9, 8, 7, 6), True)
    assert spider.unseen(links(5, 4, 3, 2, 1)) == (links(5, 4, 3, 2, 1), True)
    read(spider)  # nothing new: page 1 is the end of the read
    assert spider.unseen(links(10, 9, 8, 7, 6)) == ([], False)
    read(spider)  # 12 posts published meanwhile, 5 of them while page 1 was read
    assert spider.unseen(links(17, 16, 15, 14, 13)) == (links(17, 16, 15, 14, 13), True)
    # Page 2 shows what page 1 showed a moment ago: the new ones are on page 3.
    assert spider.unseen(links(17, 16, 15, 14, 13)) == ([], True)
    assert spider.unseen(links(12, 11, 10, 9, 8)) == (links(12, 11), True)
    assert spider.unseen(links(7, 6, 5, 4, 3)) == ([], False)


def test_a_crawl_once_requests_every_link_and_every_page():
    spider = BoardSpider(demo_config(BOARD))
    assert [r.dont_filter for r in spider.start_requests_now()] == [False]
    assert spider.unseen(links(2, 1)) == (links(2, 1), True)
    assert spider.unseen(links(2, 1)) == (links(2, 1), True)  # the duplicate filter drops them
