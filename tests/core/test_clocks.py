"""The clock engine: elapsed hours and statutory working days on the official calendar.

Expected due dates were worked out by hand from the State Council's holiday notices for
2024–2026; `test_the_calendar_facts_the_cases_rely_on` checks that chinesecalendar agrees,
so a disagreement shows up there rather than as a puzzling due date.
"""

import json
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar
import pytest

from huiying.clocks import (
    CalendarMissing,
    WorkCalendar,
    covered_years,
    due_after_hours,
    due_after_working_days,
    working_days_between,
)
from tests.conftest import clean_env, huiying
from tests.core.test_settings_errors import one_sentence

SHANGHAI = ZoneInfo("Asia/Shanghai")


def at(text: str, zone=SHANGHAI) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=zone)


def end_of(day: str) -> datetime:
    return at(f"{day} 23:59:59")


@pytest.mark.parametrize(("day", "workday", "name"), [
    ("2024-09-29", True, "National Day"),  # Sunday, 调休
    ("2024-10-07", False, "National Day"),
    ("2024-10-12", True, "National Day"),  # Saturday, 调休
    ("2025-01-26", True, "Spring Festival"),  # Sunday, 调休
    ("2025-02-04", False, "Spring Festival"),
    ("2025-09-28", True, "National Day"),  # Sunday, 调休
    ("2025-10-08", False, "National Day"),
    ("2025-10-11", True, "National Day"),  # Saturday, 调休
    ("2026-02-14", True, "Spring Festival"),  # Saturday, 调休
    ("2026-02-23", False, "Spring Festival"),  # Monday, the last day off
    ("2026-02-28", True, "Spring Festival"),  # Saturday, 调休
    ("2026-09-20", True, "National Day"),  # Sunday, 调休
    ("2026-09-25", False, "Mid-autumn Festival"),  # Friday
    ("2026-10-10", True, "National Day"),  # Saturday, 调休
])
def test_the_calendar_facts_the_cases_rely_on(day, workday, name):
    assert chinese_calendar.get_holiday_detail(date.fromisoformat(day)) == (not workday, name)


@pytest.mark.parametrize(("start", "days", "due"), [
    # Friday before National Day 2024: Sun 29 Sep (调休) and Mon 30 Sep count, 1–7 Oct do not.
    ("2024-09-27 16:30", 3, "2024-10-08"),
    # Spring Festival 2025 (28 Jan – 4 Feb off, Sun 26 Jan worked).
    ("2025-01-24 09:00", 3, "2025-02-05"),
    # Friday before National Day 2025: Sun 28, Mon 29, Tue 30 Sep.
    ("2025-09-26 10:00", 3, "2025-09-30"),
    # 依申请公开, 20 working days: 1–8 Oct off, Sat 11 Oct worked.
    ("2025-09-26 10:00", 20, "2025-10-30"),
    # Spring Festival 2026 (15–23 Feb off): Fri 13, Sat 14 (调休), then Tue 24 Feb.
    ("2026-02-12 11:00", 3, "2026-02-24"),
    # … 13 working days, Sat 28 Feb (调休) among them.
    ("2026-02-12 11:00", 13, "2026-03-09"),
    # Friday 18 Sep 2026, 13 days: Sun 20 Sep (调休), 中秋 25–27 Sep and 国庆 1–7 Oct off,
    # Sat 10 Oct (调休) worked.
    ("2026-09-18 15:00", 13, "2026-10-13"),
])
def test_working_days_on_the_official_calendar(start, days, due):
    assert due_after_working_days(at(start), days) == end_of(due)


def test_the_day_of_receipt_never_counts():
    # Wednesday 25 Nov 2026: day 1 is Thursday, whatever the hour of receipt.
    assert due_after_working_days(at("2026-11-25 00:00"), 3) == end_of("2026-11-30")
    assert due_after_working_days(at("2026-11-25 23:59"), 3) == end_of("2026-11-30")
    # Received on a Saturday: day 1 is the Monday.
    assert due_after_working_days(at("2026-11-28 10:00"), 3) == end_of("2026-12-02")
    assert due_after_working_days(at("2026-11-28 10:00"), 1) == end_of("2026-11-30")


def test_the_day_of_receipt_is_the_local_day():
    # 17:00 UTC on Wednesday is 01:00 on Thursday in Shanghai.
    received = datetime(2026, 11, 25, 17, 0, tzinfo=UTC)
    due = due_after_working_days(received, 3)
    assert due == end_of("2026-12-01") and due.utcoffset() == timedelta(hours=8)
    in_utc = due_after_working_days(received, 3, tz="UTC")
    assert in_utc == datetime(2026, 11, 30, 23, 59, 59, tzinfo=ZoneInfo("UTC"))


def test_overrides_turn_days_on_and_off():
    start = at("2026-11-25 10:00")
    off = WorkCalendar({date(2026, 11, 27): False})  # a local day off on Friday
    assert due_after_working_days(start, 3, off) == end_of("2026-12-01")
    on = WorkCalendar({date(2026, 11, 28): True})  # an extra working Saturday
    assert due_after_working_days(start, 3, on) == end_of("2026-11-28")
    # An override also beats the State Council: Sat 14 Feb 2026 (调休) declared a day off.
    spring = WorkCalendar({date(2026, 2, 14): False})
    assert due_after_working_days(at("2026-02-12 11:00"), 3, spring) == end_of("2026-02-25")


def test_an_uncovered_year_raises_calendar_missing():
    with pytest.raises(CalendarMissing) as caught:
        due_after_working_days(at("2099-03-02 10:00"), 3)
    assert caught.value.year == 2099
    message = str(caught.value)
    assert "no data for 2099" in message and "upgrade chinesecalendar" in message
    assert "holiday notice" in message and "huiying calendar add --file" in message
    # The year after the package's last one, today 2027: the year-end cases of December.
    last = covered_years()[1]
    with pytest.raises(CalendarMissing, match=f"no data for {last + 1}"):
        due_after_working_days(at(f"{last}-12-31 10:00"), 1)
    # A year before the package's first one cannot be fixed by an upgrade.
    with pytest.raises(CalendarMissing) as caught:
        working_days_between(date(1990, 1, 1), date(1990, 1, 10))
    assert "upgrade" not in str(caught.value)


def test_overrides_for_every_needed_day_stand_in_for_a_missing_year():
    days = {date(2099, 3, 3): True, date(2099, 3, 4): True}
    with pytest.raises(CalendarMissing, match="2099"):  # 5 March is needed too
        due_after_working_days(at("2099-03-02 10:00"), 3, WorkCalendar(days))
    days[date(2099, 3, 5)] = True
    assert due_after_working_days(at("2099-03-02 10:00"), 3, WorkCalendar(days)) == end_of("2099-03-05")


def test_an_entered_notice_covers_its_year_with_ordinary_days_in_between():
    # 2099's notice says 4 March is off and Saturday 7 March worked; the rest is Mon–Fri.
    calendar = WorkCalendar({date(2099, 3, 4): False, date(2099, 3, 7): True}, notice_years=[2099])
    assert calendar.covers(2099) and not calendar.covers(2098) and calendar.covers(2026)
    assert due_after_working_days(at("2099-03-02 10:00"), 3, calendar) == end_of("2099-03-06")
    assert due_after_working_days(at("2099-03-02 10:00"), 4, calendar) == end_of("2099-03-07")
    assert due_after_working_days(at("2099-03-02 10:00"), 5, calendar) == end_of("2099-03-09")
    with pytest.raises(CalendarMissing, match="2100"):  # the notice covers its own year only
        due_after_working_days(at("2099-12-31 10:00"), 1, calendar)


def test_only_the_days_needed_are_looked_up():
    last = covered_years()[1]
    # The last days of the package's last year need nothing from the year after.
    assert due_after_working_days(at(f"{last}-12-28 10:00"), 1).year == last


def test_hours_are_elapsed_time_across_midnight_weekends_and_holidays():
    assert due_after_hours(at("2026-11-25 22:00"), 5) == at("2026-11-26 03:00")
    assert due_after_hours(at("2026-11-25 22:40"), 1.5) == at("2026-11-26 00:10")
    # 48 h run straight through the National Day holiday.
    assert due_after_hours(at("2026-09-30 20:00"), 48) == at("2026-10-02 20:00")
    # Asia/Shanghai keeps +08:00 all year (no DST since 1991).
    for moment in ("2026-01-15 12:00", "2026-07-15 12:00"):
        assert due_after_hours(at(moment), 5).utcoffset() == timedelta(hours=8)
    # Where there is DST, 5 hours are 5 real hours: Berlin skips 02:00–03:00 on 29 Mar 2026.
    berlin = ZoneInfo("Europe/Berlin")
    due = due_after_hours(at("2026-03-29 00:30", berlin), 5)
    assert due == at("2026-03-29 06:30", berlin) and due.utcoffset() == timedelta(hours=2)
    # The due time keeps the zone of the start.
    assert due_after_hours(datetime(2026, 11, 25, 14, 0, tzinfo=UTC), 5).tzinfo is UTC


def test_bad_arguments_are_programming_errors():
    with pytest.raises(ValueError, match="timezone-aware"):
        due_after_hours(datetime(2026, 11, 25, 10, 0), 5)
    with pytest.raises(ValueError, match="timezone-aware"):
        due_after_working_days(datetime(2026, 11, 25, 10, 0), 3)
    with pytest.raises(ValueError, match="positive"):
        due_after_hours(at("2026-11-25 10:00"), 0)
    with pytest.raises(ValueError, match="at least 1"):
        due_after_working_days(at("2026-11-25 10:00"), 0)
    with pytest.raises(TypeError):
        WorkCalendar({datetime(2026, 11, 27, 0, 0): False})
    with pytest.raises(TypeError):
        WorkCalendar({date(2026, 11, 27): "no"})


def test_working_days_between_counts_like_the_clock():
    assert working_days_between(date(2024, 9, 27), date(2024, 9, 27)) == 0
    assert working_days_between(date(2024, 9, 27), date(2024, 10, 8)) == 3
    assert working_days_between(date(2024, 10, 8), date(2024, 9, 27)) == -3
    # Datetimes count by their day in the time zone: 16:00 UTC is the next day in Shanghai.
    assert working_days_between(at("2026-11-25 10:00"), datetime(2026, 11, 25, 16, 0, tzinfo=UTC)) == 1
    for start in ("2024-09-27 16:30", "2025-01-24 09:00", "2026-02-12 11:00", "2026-11-28 10:00"):
        for days in (1, 3, 13, 20):
            due = due_after_working_days(at(start), days)
            assert working_days_between(at(start), due) == days
    with pytest.raises(CalendarMissing):
        working_days_between(date(2026, 12, 1), date(2099, 1, 1))


# --- the command line ---------------------------------------------------------------------

def clock_due(tmp_path, *args, **env):
    return huiying("clock", "due", *args, check=False,
                   env=clean_env(HUIYING_DATA_DIR=str(tmp_path / "data"), **env))


def test_cli_prints_the_due_time(tmp_path):
    result = clock_due(tmp_path, "--start", "2024-09-27 16:30", "--working-days", "3")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "2024-10-08T23:59:59+08:00\n"
    result = clock_due(tmp_path, "--start", "2026-11-25 22:00", "--hours", "5", "--json")
    assert json.loads(result.stdout) == {"start": "2026-11-25T22:00:00+08:00", "hours": 5.0,
                                         "due": "2026-11-26T03:00:00+08:00", "timezone": "Asia/Shanghai"}
    result = clock_due(tmp_path, "--start", "2026-02-12 11:00", "--working-days", "13", "--json")
    assert json.loads(result.stdout)["due"] == "2026-03-09T23:59:59+08:00"
    # A pure computation: no data directory, database or secret key is created.
    assert not (tmp_path / "data").exists()


def test_cli_uses_the_installation_time_zone(tmp_path):
    result = clock_due(tmp_path, "--start", "2026-11-25 22:00", "--hours", "5", HUIYING_TIMEZONE="UTC")
    assert result.stdout == "2026-11-26T03:00:00+00:00\n"


@pytest.mark.parametrize(("args", "sentence"), [
    (("--start", "2026-11-25 10:00"), "error: give exactly one of --working-days N and --hours N."),
    (("--start", "2026-11-25 10:00", "--hours", "5", "--working-days", "3"),
     "error: give exactly one of --working-days N and --hours N."),
    (("--start", "25/11/2026 10:00", "--hours", "5"),
     "error: --start must be a local time like '2026-11-25 09:30' (YYYY-MM-DD HH:MM), "
     "got '25/11/2026 10:00'."),
    (("--start", "2026-02-30 10:00", "--working-days", "3"), "error: --start must be a local time"),
    (("--start", "2026-11-25 10:00", "--working-days", "0"), "error: --working-days must be at least 1"),
    (("--start", "2026-11-25 10:00", "--hours", "-2"), "error: --hours must be a positive number"),
    (("--start", "2099-03-02 10:00", "--working-days", "3"),
     "error: the working-day calendar has no data for 2099 (chinesecalendar"),
])
def test_cli_errors_are_one_sentence(tmp_path, args, sentence):
    assert one_sentence(clock_due(tmp_path, *args)).startswith(sentence)
