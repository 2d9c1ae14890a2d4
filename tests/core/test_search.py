"""Chinese search tokens (huiying/search.py) and migration 0012's backfill of them."""

from __future__ import annotations

from sqlalchemy import create_engine, text

from huiying.db import session_scope
from huiying.migrate import upgrade
from huiying.models import Case
from huiying.search import exact_by_tokens, query_tokens, search_text, tsquery


def test_tokens_are_characters_pairs_and_latin_words():
    tokens = search_text("校车超载（12345号）", "Bus 校车").split()
    assert {"校", "车", "超", "载", "校车", "车超", "超载", "12345", "号", "bus"} == set(tokens)
    assert len(tokens) == len(set(tokens))  # each once


def test_a_keyword_needs_its_pairs():
    assert query_tokens("校车超载") == ["校车", "车超", "超载"]
    assert query_tokens("食") == ["食"]
    assert query_tokens("  !!") == [] and tsquery("！？") is None
    assert tsquery("校车") == "'校车'" and tsquery("GBK校车") == "'gbk':* & '校车'"
    assert exact_by_tokens("校车") and exact_by_tokens("食") and not exact_by_tokens("校车超")
    assert not exact_by_tokens("ab")


def test_a_hostile_title_is_bounded():
    assert len(search_text("学" * 100_000 + "校" * 100_000).split()) <= 2_000


def test_a_new_case_gets_its_tokens(database):
    with session_scope(database) as session:
        case = Case(title="校车超载", summary="城关小学", fingerprint="s1")
        session.add(case)
        session.flush()
        assert "校车" in case.search_text.split() and "小学" in case.search_text.split()


def test_migration_0012_backfills_the_tokens(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    upgrade(url, "0011")
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO \"case\" (id, title, summary, fingerprint, match_text, status, severity, "
            "severity_reasons, heat, first_seen_at, created_at, updated_at) VALUES "
            "(1, '校车超载', '孩子站着坐车', 'f1', '', '待研判', '一般', '[]', 1, "
            "'2026-11-01 00:00:00', '2026-11-01 00:00:00', '2026-11-01 00:00:00')"))
    upgrade(url)
    with session_scope(url) as session:
        assert session.get(Case, 1).search_text == search_text("校车超载", "孩子站着坐车")
    engine.dispose()
