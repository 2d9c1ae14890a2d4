"""A date the site writes in a way nobody can read: the comment is kept with no time and a
crawl error says so — never the crawl time in its place (crawler/store.py)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from crawler.items import CommentItem
from crawler.store import Store
from huiying.cli.runner import demo_config
from huiying.db import session_scope
from huiying.models import Comment, CrawlError


def test_an_unreadable_date_is_kept_empty_and_recorded(tmp_path, migrated_sqlite):
    url = migrated_sqlite(tmp_path / "data", "admin-password-1")
    store = Store(url, demo_config("http://127.0.0.1:9"))
    store.save(CommentItem(source="demo", external_id="7", url="http://127.0.0.1:9/msg/7.html",
                           title="校车什么时候开通", body="请问城关小学的校车什么时候开通？",
                           published_at="某日上午", reply="已转交", replied_at="2024年13月45日"))
    store.save(CommentItem(source="demo", external_id="8", url="http://127.0.0.1:9/msg/8.html",
                           title="课后服务", body="课后服务几点结束？", published_at="2024年1月10日 14:03"))
    store.flush()  # the batch (a crawl's close does this)
    with session_scope(url) as session:
        unreadable, readable = session.scalars(select(Comment).order_by(Comment.external_id)).all()
        assert unreadable.published_at is None and unreadable.replied_at is None
        assert readable.published_at == datetime(2024, 1, 10, 6, 3, tzinfo=UTC)  # 14:03 in Shanghai
        errors = sorted((e.url, e.error) for e in session.scalars(select(CrawlError)))
    assert errors == [
        ("http://127.0.0.1:9/msg/7.html", "published_at: cannot read the date '某日上午'"),
        ("http://127.0.0.1:9/msg/7.html", "replied_at: cannot read the date '2024年13月45日'"),
    ]
    assert len(store.stats.errors) == 2 and store.stats.new == 2
