"""The crawler's Store writes in batches: ids reach the queue only once their batch is
committed, nothing is lost at the spider's close, a crash loses at most the unwritten buffer
(which the next crawl stores), and one comment that cannot be stored costs only itself."""

import pytest
from sqlalchemy import func, select

from crawler.items import CommentItem
from crawler.store import BATCH_SIZE, Store
from huiying.cli.runner import demo_config
from huiying.db import session_scope
from huiying.models import Comment, CrawlError, CrawlRun

CONFIG = demo_config("http://127.0.0.1:9")


def item(n: int, **changes) -> CommentItem:
    fields = {"source": "demo", "external_id": str(n), "url": f"http://127.0.0.1:9/msg/{n}.html",
              "title": f"第{n}号留言", "body": f"城关小学的校车问题（{n}）",
              "published_at": "2026-11-20 09:00"}
    return CommentItem(**{**fields, **changes})


def stored(url: str) -> int:
    with session_scope(url) as session:
        return session.scalar(select(func.count(Comment.id)))


@pytest.fixture
def url(tmp_path, migrated_sqlite):
    return migrated_sqlite(tmp_path / "data", "admin-password-1")


def test_ids_are_enqueued_only_after_their_batch_is_committed(url):
    enqueued: list[list[int]] = []

    def enqueue(ids):
        with session_scope(url) as other:  # another connection, as a worker would see them
            visible = set(other.scalars(select(Comment.id).where(Comment.id.in_(ids))))
        assert visible == set(ids)
        enqueued.append(list(ids))

    store = Store(url, CONFIG, enqueue)
    for n in range(BATCH_SIZE * 2 + 50):
        store.save(item(n))
    assert [len(ids) for ids in enqueued] == [BATCH_SIZE, BATCH_SIZE]
    assert stored(url) == BATCH_SIZE * 2  # the last 50 wait in the buffer
    store.close(BATCH_SIZE * 2 + 50)
    assert [len(ids) for ids in enqueued] == [BATCH_SIZE, BATCH_SIZE, 50]
    assert stored(url) == BATCH_SIZE * 2 + 50 == store.stats.new
    with session_scope(url) as session:
        assert session.scalar(select(CrawlRun.new)) == BATCH_SIZE * 2 + 50


def test_a_second_crawl_counts_unchanged_and_updated_and_enqueues_only_what_needs_analysis(url):
    first = Store(url, CONFIG, lambda ids: None)
    for n in range(10):
        first.save(item(n))
    first.close(10)
    enqueued: list[int] = []
    again = Store(url, CONFIG, enqueued.extend)
    for n in range(10):
        again.save(item(n, body="改过的正文") if n == 3 else item(n))
    again.save(item(10))
    again.close(11)
    assert (again.stats.new, again.stats.updated, again.stats.unchanged) == (1, 1, 9)
    with session_scope(url) as session:
        ids = dict(session.execute(select(Comment.external_id, Comment.id)).all())
    assert sorted(enqueued) == sorted([ids["3"], ids["10"]])  # neither was analysed yet


def test_a_crash_mid_batch_loses_only_the_buffer_and_the_next_crawl_stores_it(url):
    crashed = Store(url, CONFIG)
    for n in range(BATCH_SIZE + 30):
        crashed.save(item(n))
    del crashed  # the process died: no close, the last 30 were never written
    assert stored(url) == BATCH_SIZE
    enqueued: list[int] = []
    next_crawl = Store(url, CONFIG, enqueued.extend)
    for n in range(BATCH_SIZE + 30):
        next_crawl.save(item(n))
    next_crawl.close(BATCH_SIZE + 30)
    assert (next_crawl.stats.new, next_crawl.stats.unchanged) == (30, BATCH_SIZE)
    assert stored(url) == BATCH_SIZE + 30 and len(enqueued) == 30


def test_a_comment_that_cannot_be_stored_is_recorded_and_costs_only_itself(url):
    store = Store(url, CONFIG, lambda ids: None)
    store.save(item(1))
    store.save(item(2, external_id=None))  # NOT NULL: the batch fails, then goes item by item
    store.save(item(3))
    store.close(3)
    assert stored(url) == 2 and store.stats.new == 2
    with session_scope(url) as session:
        errors = list(session.scalars(select(CrawlError.url)))
    assert errors == ["http://127.0.0.1:9/msg/2.html"]
    assert "could not store the comment" in store.stats.errors[0]


def test_a_slow_crawl_writes_a_waiting_buffer_without_waiting_for_more(url):
    store = Store(url, CONFIG, batch_seconds=0.0)  # every comment has waited long enough
    store.save(item(1))
    assert stored(url) == 1
    store.save(item(2))
    store.flush_due()
    assert stored(url) == 2


def runs(url: str) -> list[tuple[int, int, int]]:
    with session_scope(url) as session:
        return [tuple(row) for row in session.execute(select(CrawlRun.pages, CrawlRun.items, CrawlRun.new)
                                                      .order_by(CrawlRun.id))]


def test_a_following_crawl_records_a_run_per_stretch_and_none_for_a_quiet_one(url):
    store = Store(url, CONFIG, following=True)
    for n in range(3):
        store.save(item(n))
    store.checkpoint({"response_received_count": 4})  # every page read again
    assert runs(url) == [(4, 3, 3)] and stored(url) == 3
    store.save(item(0))  # read again: unchanged
    store.checkpoint({"response_received_count": 6})
    store.close(4, {"response_received_count": 7})  # a quiet stretch since: no run of 0 comments
    assert runs(url) == [(4, 3, 3), (2, 1, 0)]
    store = Store(url, CONFIG, following=True)
    store.save(item(3))
    store.close(1, {"response_received_count": 3})
    assert runs(url)[-1] == (3, 1, 1)
    with session_scope(url) as session:
        assert session.scalar(select(func.count(CrawlRun.id))) == 3
