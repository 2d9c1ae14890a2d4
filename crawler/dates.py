"""The dates Chinese sites print, absolute and relative, as aware times.

Relative forms (刚刚, 5分钟前, 昨天 14:03 …) count back from the time the page was fetched,
not from the time the item is stored, so a slow pipeline does not shift them. A text that
matches none of the forms gives None: the caller records a crawl warning rather than
substituting the crawl time, which would make an old post look new.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from huiying.store import parse_time

_CLOCK = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2}))?")
_AGO = re.compile(r"(\d+)\s*(秒|分钟|分|小时|天)\s*前")
_AGO_UNITS = {"秒": "seconds", "分钟": "minutes", "分": "minutes", "小时": "hours", "天": "days"}
_DAYS_BACK = (("前天", 2), ("昨天", 1), ("今天", 0))
# Month-day without a year, "01-10 14:03" or "1月10日": only when no four-digit year is present.
_MONTH_DAY = re.compile(r"(?<!\d)(\d{1,2})\s*[月/.-]\s*(\d{1,2})\s*日?(?!\d)")


def parse_site_time(text: str | None, tz: str, fetched_at: datetime) -> datetime | None:
    """`text` as a site prints it → an aware time in `tz`; None when it cannot be read."""
    if not text or not text.strip():
        return None
    zone = ZoneInfo(tz)
    now = fetched_at.astimezone(zone)
    absolute = parse_time(text, tz)
    if absolute is not None:
        return absolute.astimezone(zone)
    if "刚刚" in text:
        return now
    ago = _AGO.search(text)
    if ago:
        return now - timedelta(**{_AGO_UNITS[ago[2]]: int(ago[1])})
    clock = _CLOCK.search(text)
    hour, minute, second = (int(clock[1]), int(clock[2]), int(clock[3] or 0)) if clock else (0, 0, 0)
    for word, days in _DAYS_BACK:
        if word in text:
            day = (now - timedelta(days=days)).date()
            return _at(day.year, day.month, day.day, hour, minute, second, zone)
    month_day = _MONTH_DAY.search(_CLOCK.sub(" ", text))
    if month_day:
        month, day = int(month_day[1]), int(month_day[2])
        found = _at(now.year, month, day, hour, minute, second, zone)
        if found is not None and found > now + timedelta(minutes=5):
            # A year-less date after the fetch is from last year (a January crawl of "12-30").
            found = _at(now.year - 1, month, day, hour, minute, second, zone)
        return found
    if clock:  # a bare "14:03" is today
        return _at(now.year, now.month, now.day, hour, minute, second, zone)
    return None


def _at(year, month, day, hour, minute, second, zone) -> datetime | None:
    try:
        return datetime(year, month, day, hour, minute, second, tzinfo=zone)
    except ValueError:
        return None
