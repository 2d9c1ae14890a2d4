from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from crawler.dates import parse_site_time

SH = ZoneInfo("Asia/Shanghai")
FETCHED = datetime(2026, 3, 5, 9, 30, tzinfo=SH)


@pytest.mark.parametrize(("text", "expected"), [
    ("2019年1月10日", datetime(2019, 1, 10, tzinfo=SH)),
    ("发布时间：2019-01-10 14:03", datetime(2019, 1, 10, 14, 3, tzinfo=SH)),
    ("昨天 14:03", datetime(2026, 3, 4, 14, 3, tzinfo=SH)),
    ("前天", datetime(2026, 3, 3, tzinfo=SH)),
    ("3小时前", FETCHED - timedelta(hours=3)),
    ("5分钟前", FETCHED - timedelta(minutes=5)),
    ("刚刚", FETCHED),
    ("01-10 14:03", datetime(2026, 1, 10, 14, 3, tzinfo=SH)),
    ("12-30 08:00", datetime(2025, 12, 30, 8, 0, tzinfo=SH)),  # after the fetch: last year
    ("3月5日", datetime(2026, 3, 5, tzinfo=SH)),
])
def test_site_dates_are_aware_shanghai_times(text, expected):
    found = parse_site_time(text, "Asia/Shanghai", FETCHED)
    assert found == expected
    assert found.utcoffset() == timedelta(hours=8)


def test_relative_dates_count_from_the_fetch_not_from_now():
    fetched = datetime(2020, 6, 1, 12, 0, tzinfo=ZoneInfo("UTC"))
    assert parse_site_time("昨天 08:00", "Asia/Shanghai", fetched) == datetime(2020, 5, 31, 8, 0, tzinfo=SH)


@pytest.mark.parametrize("text", ["", None, "很久以前", "02-31 10:00", "2026年2月31日"])
def test_unreadable_dates_are_none_not_the_crawl_time(text):
    assert parse_site_time(text, "Asia/Shanghai", FETCHED) is None
