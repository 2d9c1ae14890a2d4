"""What the public talks about now: hot words of a period against the periods before.

Read from the terms the worker counted per local day (huiying/hot_terms.py): no text is
segmented here. A period is therefore made of whole local days (HUIYING_TIMEZONE): "the last 7
days" on a Wednesday afternoon are Thursday a week ago 00:00 up to now, today counted so far.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from analysis.hotwords import rank, score
from huiying.clocks import DEFAULT_TIMEZONE
from huiying.models import TermDay, TermDayTotal

BACKGROUND_PERIODS = 4
CANDIDATES = 200  # period terms whose background is read at a time


def hot_words_of_period(session: Session, now: datetime, days: int = 7, top_k: int = 20,
                        tz: str = DEFAULT_TIMEZONE) -> dict:
    """Hot words of the `days` local days ending with today (the local day of `now`), weighted
    by rarity in the four periods of as many days before."""
    today = now.astimezone(ZoneInfo(tz)).date()
    return hot_words_of_days(session, today - timedelta(days=days - 1), today, top_k, tz)


def hot_words_of_days(session: Session, first: date, last: date, top_k: int = 20,
                      tz: str = DEFAULT_TIMEZONE) -> dict:
    """Hot words of the local days `first` to `last` (both included) against the four periods
    of as many days before: the relevant comments' document frequency of each term, ranked by
    analysis.hotwords.rank, as analysis.hotwords.hot_words ranks the same comments' texts.

    `from` and `to` are the local instants the period starts and ends (the midnight after `last`).
    """
    length = (last - first).days + 1
    start = first - timedelta(days=length * BACKGROUND_PERIODS)
    in_period = TermDayTotal.day >= first
    comments, background = (int(n) for n in session.execute(
        select(func.coalesce(func.sum(case((in_period, TermDayTotal.docs), else_=0)), 0),
               func.coalesce(func.sum(case((in_period, 0), else_=TermDayTotal.docs)), 0))
        .where(TermDayTotal.day >= start, TermDayTotal.day <= last)).one())
    period, before = _counts(session, first, last, start, top_k, background)
    zone = ZoneInfo(tz)
    return {"from": datetime.combine(first, time.min, tzinfo=zone).isoformat(),
            "to": datetime.combine(last + timedelta(days=1), time.min, tzinfo=zone).isoformat(),
            "comments": comments, "background_comments": background,
            "words": [{"word": w, "score": s} for w, s in rank(period, before, background, top_k)]}


def _counts(session: Session, first: date, last: date, start: date, top_k: int,
            background: int) -> tuple[dict[str, int], dict[str, int]]:
    """The period and background counts of the terms that can make the top `top_k`.

    Terms used by two comments of the period or more, most used first; their background is
    read a few hundred at a time until the next term could not reach the k-th score even if
    the background never used it (score(n, 0, background)): a busy board's month then reads
    the background of a few hundred terms, not of tens of thousands.
    """
    used = func.sum(TermDay.docs)
    candidates = session.execute(
        select(TermDay.term, used).where(TermDay.day >= first, TermDay.day <= last)
        .group_by(TermDay.term).having(used >= 2).order_by(used.desc(), TermDay.term)).all()
    ceiling = score(1, 0, background)  # the most one text can weigh
    period: dict[str, int] = {}
    before: dict[str, int] = {}
    scores: list[float] = []
    for offset in range(0, len(candidates), CANDIDATES):
        chunk = candidates[offset:offset + CANDIDATES]
        if len(scores) >= top_k and chunk[0][1] * ceiling < sorted(scores, reverse=True)[top_k - 1]:
            break
        terms = [term for term, _ in chunk]
        found = dict(session.execute(
            select(TermDay.term, func.sum(TermDay.docs))
            .where(TermDay.term.in_(terms), TermDay.day >= start, TermDay.day < first)
            .group_by(TermDay.term)).all())
        for term, n in chunk:
            period[term], before[term] = int(n), int(found.get(term, 0))
            scores.append(score(period[term], before[term], background))
    return period, before
