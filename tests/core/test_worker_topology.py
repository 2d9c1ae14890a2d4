"""Queues, crawl claims and the sweep's grace period, on a real database (the worker: tests/e2e)."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from huiying import settings as settings_module
from huiying.cases import unprocessed_ids
from huiying.db import session_scope
from huiying.errors import InputError
from huiying.models import Comment, Source
from huiying.queue import QUEUES, TASK_QUEUES, celery_config, parse_queues
from huiying.sources import (
    CLAIM_STALE_AFTER,
    claim_crawl,
    due_unclaimed,
    holds_claim,
    release_crawl,
    renew_claim,
)

NOW = datetime(2026, 12, 2, 4, 0, tzinfo=UTC)


def test_every_task_has_a_queue_and_crawls_have_their_own(database):
    config = celery_config(settings_module.load())
    import worker.tasks  # noqa: F401 - registers the tasks
    from worker.app import app

    ours = {name for name in app.tasks if name.startswith("worker.tasks.")}
    assert ours == set(TASK_QUEUES)
    assert config["task_routes"]["worker.tasks.crawl_source"] == {"queue": "crawl"}
    assert {TASK_QUEUES[n] for n in ("worker.tasks.process_comments", "worker.tasks.crawl_due_sources")} \
        == {"analysis"}
    assert {TASK_QUEUES[n] for n in ("worker.tasks.scan_notifications", "worker.tasks.send_notifications")} \
        == {"mail"}
    assert set(TASK_QUEUES.values()) == set(QUEUES)


def test_queue_names_are_checked():
    assert parse_queues("mail, analysis,mail") == ["mail", "analysis"]
    with pytest.raises(InputError, match="^unknown queue anlysis; the queues are analysis, crawl, mail.$"):
        parse_queues("anlysis")


def sources(url, *names):
    with session_scope(url) as session:
        session.add_all(Source(name=name, kind="board") for name in names)


def test_a_claimed_source_is_not_claimed_again_until_released_or_stale(database):
    sources(database, "a", "b")
    with session_scope(database) as session:
        assert claim_crawl(session, ["a"], NOW) == ["a"]
        assert claim_crawl(session, ["a", "b"], NOW + timedelta(seconds=1)) == ["b"]
        assert holds_claim(session, "a", NOW) and not holds_claim(session, "a", NOW + timedelta(seconds=1))
        assert due_unclaimed(session, NOW, 30) == []  # both never crawled, both held
        release_crawl(session, ["a"], NOW + timedelta(seconds=5))  # not its claim: nothing happens
        assert not claim_crawl(session, ["a"], NOW + timedelta(minutes=1))
        release_crawl(session, ["a"], NOW)
        assert due_unclaimed(session, NOW, 30) == ["a"]
        assert claim_crawl(session, ["a"], NOW + timedelta(minutes=2)) == ["a"]
        # A crawl that died leaves its claim: once stale, the source may be crawled again.
        later = NOW + timedelta(seconds=1) + CLAIM_STALE_AFTER + timedelta(seconds=1)
        assert claim_crawl(session, ["b"], later) == ["b"]
        assert session.scalar(select(Source.crawl_started_at).where(Source.name == "b")) == later


def test_a_renewed_claim_never_goes_stale_and_a_lost_one_is_not_renewed(database):
    sources(database, "a")
    with session_scope(database) as session:
        assert claim_crawl(session, ["a"], NOW) == ["a"]
        renewed = NOW + CLAIM_STALE_AFTER - timedelta(minutes=1)
        assert renew_claim(session, "a", NOW, renewed)
        assert not claim_crawl(session, ["a"], NOW + CLAIM_STALE_AFTER + timedelta(minutes=1))
        taken = renewed + CLAIM_STALE_AFTER + timedelta(seconds=1)  # the follower hung: taken over
        assert claim_crawl(session, ["a"], taken) == ["a"]
        assert not renew_claim(session, "a", renewed, taken + timedelta(minutes=5))
        assert holds_claim(session, "a", taken)


def test_the_sweep_leaves_comments_within_the_grace_period(database):
    sources(database, "s")
    with session_scope(database) as session:
        source = session.scalar(select(Source))
        for n, age in enumerate((600, 30)):
            session.add(Comment(source_id=source.id, external_id=str(n), title="t", content_hash=str(n),
                                fetched_at=NOW - timedelta(seconds=age)))
    with session_scope(database) as session:
        old, new = unprocessed_ids(session)
        assert unprocessed_ids(session, stored_before=NOW - timedelta(seconds=120)) == [old]
        assert unprocessed_ids(session, stored_before=NOW) == [old, new]


def test_the_grace_period_is_a_setting(monkeypatch, tmp_path):
    monkeypatch.setenv("HUIYING_DATA_DIR", str(tmp_path))
    assert settings_module.load().sweep_grace_seconds == 120
    monkeypatch.setenv("HUIYING_SWEEP_GRACE", "0")
    assert settings_module.load().sweep_grace_seconds == 0
    monkeypatch.setenv("HUIYING_SWEEP_GRACE", "soon")
    with pytest.raises(settings_module.SettingsError, match="HUIYING_SWEEP_GRACE"):
        settings_module.load()
