"""The week's hot words shown on the case list and the overview, cached per web process."""

from __future__ import annotations

from datetime import datetime

from flask import current_app
from sqlalchemy.orm import Session

from huiying.trends import hot_words_of_period

HOT_WORDS_DAYS = 7
HOT_WORDS_SHOWN = 10
HOT_WORDS_REFRESH = 600  # seconds: segmenting a week of comments is not per-request work
_hot_words_cache: dict[tuple[str, int], list[str]] = {}


def recent_hot_words(db: Session, now: datetime) -> list[str]:
    key = (current_app.config["DATABASE_URL"], int(now.timestamp()) // HOT_WORDS_REFRESH)
    if key in _hot_words_cache:
        return _hot_words_cache[key]
    words = [item["word"] for item in
             hot_words_of_period(db, now, days=HOT_WORDS_DAYS, top_k=HOT_WORDS_SHOWN)["words"]]
    # An empty result is not kept: right after the start (or a quiet week) the first comments
    # are analysed within a minute, and their words should show then, not ten minutes later.
    # Computing "nothing" is cheap, as there is little to segment.
    if words:
        _hot_words_cache.clear()
        _hot_words_cache[key] = words
    return words
