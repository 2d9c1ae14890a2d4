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

from analysis.hotwords import rank
from huiying.clocks import DEFAULT_TIMEZONE
from huiying.models import TermDay, TermDayTotal

BACKGROUND_PERIODS = 4


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

    def sums(table):
        in_period = table.day >= first
        return (func.coalesce(func.sum(case((in_period, table.docs), else_=0)), 0),
                func.coalesce(func.sum(case((in_period, 0), else_=table.docs)), 0))

    comments, background = session.execute(
        select(*sums(TermDayTotal)).where(TermDayTotal.day >= start, TermDayTotal.day <= last)).one()
    now_docs, before_docs = sums(TermDay)
    period, before = {}, {}
    for term, n, b in session.execute(
            select(TermDay.term, now_docs, before_docs)
            .where(TermDay.day >= start, TermDay.day <= last)
            .group_by(TermDay.term).having(now_docs >= 2)):  # rank() drops the others anyway
        period[term], before[term] = int(n), int(b)
    zone = ZoneInfo(tz)
    return {"from": datetime.combine(first, time.min, tzinfo=zone).isoformat(),
            "to": datetime.combine(last + timedelta(days=1), time.min, tzinfo=zone).isoformat(),
            "comments": int(comments), "background_comments": int(background),
            "words": [{"word": w, "score": s} for w, s in rank(period, before, int(background), top_k)]}
