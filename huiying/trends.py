"""What the public talks about now: hot words of a period against the periods before."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from analysis.hotwords import hot_words
from huiying.models import Comment

BACKGROUND_PERIODS = 4


def _texts(session: Session, start: datetime, end: datetime) -> list[str]:
    when = func.coalesce(Comment.published_at, Comment.fetched_at)
    return list(session.scalars(select(Comment.text_norm).where(
        Comment.relevant.is_(True), when >= start, when < end)))


def hot_words_of_period(session: Session, now: datetime, days: int = 7,
                        top_k: int = 20) -> dict:
    """Hot words of the last `days` days, weighted by rarity in the four periods before."""
    start = now - timedelta(days=days)
    current = _texts(session, start, now)
    background = _texts(session, start - timedelta(days=days * BACKGROUND_PERIODS), start)
    return {"from": start.isoformat(), "to": now.isoformat(), "comments": len(current),
            "background_comments": len(background),
            "words": [{"word": w, "score": s} for w, s in hot_words(current, background, top_k)]}
