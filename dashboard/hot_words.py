"""Hot words above the case list (the last 7 days) and on the overview (its chosen period).

Read from the terms the worker counts per day as it processes comments (huiying/hot_terms.py):
a sum over a few thousand rows, so no cache and no text segmentation in a web request.
"""

from __future__ import annotations

from datetime import date, datetime

from flask import current_app
from sqlalchemy.orm import Session

from huiying.trends import hot_words_of_days, hot_words_of_period

HOT_WORDS_DAYS = 7
HOT_WORDS_SHOWN = 10


def recent_hot_words(db: Session, now: datetime, days: int = HOT_WORDS_DAYS) -> list[str]:
    """The hot words of the `days` local days ending today."""
    found = hot_words_of_period(db, now, days=days, top_k=HOT_WORDS_SHOWN, tz=current_app.config["TIMEZONE"])
    return [item["word"] for item in found["words"]]


def hot_words_between(db: Session, first: date, last: date) -> list[str]:
    """The hot words of the local days `first` to `last`, both included."""
    found = hot_words_of_days(db, first, last, top_k=HOT_WORDS_SHOWN, tz=current_app.config["TIMEZONE"])
    return [item["word"] for item in found["words"]]
