"""`huiying run --once --json` on the embedded defaults (SQLite file + file broker)."""

from pathlib import Path

from sqlalchemy import create_engine, text

from crawler.demo import load_posts
from tests.conftest import huiying, last_json


def test_run_once_against_the_demo_board_twice(embedded_env):
    first = last_json(huiying("run", "--once", "--json", env=embedded_env).stdout)
    assert first["sources"] == 1
    assert first["errors"] == []
    assert first["comments"] >= 150 and first["new_comments"] == first["comments"]
    assert first["processed"] == first["comments"]
    # Spam and reposts (exact or edited) do not become cases of their own.
    base, _ = load_posts()
    concerns = [p for p in base if not p.get("spam") and not p.get("repost_of")]
    assert first["comments"] == len(base)
    # Relevance may miss the odd short post (docs/analysis.md), never many.
    assert 0.95 * len(concerns) <= first["cases"] <= len(concerns)
    departments = {k: v for k, v in first["by_department"].items() if k != "待研判"}
    assert len(departments) >= 6 and sum(first["by_department"].values()) == first["cases"]

    second = last_json(huiying("run", "--once", "--json", env=embedded_env).stdout)
    assert second["new_comments"] == 0 and second["new_cases"] == 0 and second["processed"] == 0
    assert (second["comments"], second["cases"]) == (first["comments"], first["cases"])

    database = Path(embedded_env["HUIYING_DATA_DIR"]) / "huiying.sqlite3"
    with create_engine(f"sqlite:///{database}").connect() as db:
        texts = [r[0] for r in db.execute(text("SELECT text_norm FROM comment"))]
        assert not any("(shí)" in t or "實" in t for t in texts)  # pinyin and 繁体 normalised
        original = db.execute(text("SELECT count(*) FROM comment WHERE title || body LIKE '%實%'"))
        assert original.scalar() > 0  # ... while the original text is kept
        assert db.execute(text('SELECT max(heat) FROM "case"')).scalar() >= 2
        spam = [str(p["id"]) for p in base if p.get("spam")]
        in_cases = {r[0] for r in db.execute(text(
            "SELECT external_id FROM comment WHERE case_id IS NOT NULL"))}
        assert in_cases and not in_cases & set(spam)
        events = db.execute(text("SELECT count(*) FROM case_event")).scalar()
        assert events >= first["cases"] * 2
