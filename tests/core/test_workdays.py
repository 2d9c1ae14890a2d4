"""The installation's calendar: override rows, entered notices, and `huiying calendar`."""

import json
from datetime import date

import pytest
from sqlalchemy import select

from huiying.db import session_scope
from huiying.errors import InputError
from huiying.models import AuditEvent
from huiying.workdays import (
    add_overrides,
    calendar_rows,
    coverage,
    enter_notice,
    history,
    load_notice,
    parse_lines,
    work_calendar,
)
from tests.conftest import clean_env, huiying

# A notice written for the tests (the real 2027 notice was not published when this was written).
NOTICE_2027 = """\
year: 2027
title: 2027年节假日安排（测试）
holidays:
  元旦: 2027-01-01 ~ 2027-01-03
  春节: 2027-02-06 ~ 2027-02-13
workdays:
  春节: [2027-02-14, 2027-02-20]
"""


def test_the_newest_row_of_a_day_counts_and_every_change_is_kept(database):
    with session_scope(database) as session:
        add_overrides(session, [date(2027, 3, 5)], False, "县里停课", "admin")
        add_overrides(session, [date(2027, 3, 6)], True, "补课", "admin")
        add_overrides(session, [date(2027, 3, 5)], None, "", "cli:root")  # withdrawn
    with session_scope(database) as session:
        calendar = work_calendar(session)
        assert calendar.overrides == {date(2027, 3, 6): True}
        assert [r["day"] for r in calendar_rows(session)] == [date(2027, 3, 6)]
        assert [(c.day, c.is_working_day, c.created_by) for c in history(session)] == [
            (date(2027, 3, 5), None, "cli:root"), (date(2027, 3, 6), True, "admin"),
            (date(2027, 3, 5), False, "admin")]
        # One override covers its day, not its year.
        assert coverage(session, [2026, 2027]) == {2026: "package", 2027: "missing"}


def test_an_entered_notice_covers_the_year(database, tmp_path):
    path = tmp_path / "notice.yml"
    path.write_text(NOTICE_2027, "utf-8")
    notice = load_notice(path)
    assert (len(notice.holidays), len(notice.workdays)) == (11, 2)
    with session_scope(database) as session:
        assert enter_notice(session, notice, "admin")["rows"] == 13
    with session_scope(database) as session:
        calendar = work_calendar(session)
        assert coverage(session, [2027]) == {2027: "notice"}
        assert calendar.is_workday(date(2027, 1, 4))  # an ordinary Monday
        assert not calendar.is_workday(date(2027, 2, 8))  # 春节
        assert calendar.is_workday(date(2027, 2, 14))  # a 调休 Sunday
        notes = {r["day"]: r["note"] for r in calendar_rows(session)}
        assert notes[date(2027, 2, 8)] == "2027年节假日安排：春节"
        assert notes[date(2027, 2, 14)] == "2027年节假日安排：春节调休上班"


@pytest.mark.parametrize(("text", "message"), [
    ("holidays: {元旦: 2027-01-01}", "notice.yml must start with the year of the notice"),
    ("year: 2027\nholidays: {元旦: 2027-01-32}", "notice.yml holds an impossible date (day is out of range"),
    ("year: 2027\nholidays: {元旦: 2026-01-01}", "notice.yml: 2026-01-01 is not near the year 2027"),
    ("year: 2027\nholidays: {春节: 2027-02-13 ~ 2027-02-06}", "the range 2027-02-13 to 2027-02-06 ends"),
    ("year: 2027\nholidays: {元旦: 2027-01-01}\nworkdays: [2027-01-01]",
     "notice.yml: 2027-01-01 is both a holiday"),
    ("year: 2027\nworkdays: [2027-02-14]", "notice.yml: the notice of 2027 lists no holidays"),
    ("year: 2027\nholiday: {元旦: 2027-01-01}", "notice.yml: unknown key holiday"),
    ("year: [", "notice.yml is not a readable YAML file"),
    ("year: 2027\nholidays: {元旦: 1月1日}",
     "notice.yml, holidays 元旦: '1月1日' is not a date like 2027-01-01."),
])
def test_a_bad_notice_file_is_one_sentence(tmp_path, text, message):
    path = tmp_path / "notice.yml"
    path.write_text(text, "utf-8")
    with pytest.raises(InputError) as caught:
        load_notice(path)
    assert str(caught.value).startswith(message) and "\n" not in str(caught.value)


def test_form_lines_name_a_holiday_and_a_day_or_range():
    assert parse_lines("元旦 2027-01-01 ~ 2027-01-02\n\n春节：2027-02-06至2027-02-07\n2027-02-14", "x") == [
        (date(2027, 1, 1), "元旦"), (date(2027, 1, 2), "元旦"), (date(2027, 2, 6), "春节"),
        (date(2027, 2, 7), "春节"), (date(2027, 2, 14), "")]
    with pytest.raises(InputError, match="line 1: '春节' has no date"):
        parse_lines("春节", "x")


def test_the_command_line_from_a_failing_december_clock_to_an_entered_notice(tmp_path):
    env = clean_env(HUIYING_DATA_DIR=str(tmp_path / "data"), HUIYING_ADMIN_PASSWORD="admin-password-1")
    due = ("clock", "due", "--start", "2026-12-15 10:00", "--working-days", "13")
    huiying("db", "upgrade", env=env)
    failed = huiying(*due, env=env, check=False)
    assert failed.returncode == 2 and failed.stdout == ""
    assert failed.stderr.startswith("error: the working-day calendar has no data for 2027")

    notice = tmp_path / "notice.yml"
    notice.write_text(NOTICE_2027, "utf-8")
    added = json.loads(huiying("calendar", "add", "--file", str(notice), "--json", env=env).stdout)
    assert added == {"year": 2027, "holidays": 11, "workdays": 2, "rows": 13, "cases_given_due_times": 0}
    # Dec 16–31 give 12 working days, 1 Jan is 元旦, Mon 4 Jan is the 13th.
    assert huiying(*due, env=env).stdout == "2027-01-04T23:59:59+08:00\n"

    huiying("calendar", "add", "2027-01-04", "--to", "2027-01-05", "--holiday", "--note", "停课", env=env)
    assert huiying(*due, env=env).stdout == "2027-01-06T23:59:59+08:00\n"
    listed = json.loads(huiying("calendar", "list", "--year", "2027", "--json", env=env).stdout)
    assert listed["years"]["2027"] == "notice"
    days = {d["day"]: d for d in listed["days"]}
    assert len(days) == 15 and days["2027-01-05"]["note"] == "停课"
    assert days["2027-01-05"]["created_by"].startswith("cli")
    plain = huiying("calendar", "list", "--year", "2027", env=env).stdout
    database = f"sqlite:///{tmp_path / 'data' / 'huiying.sqlite3'}"
    with session_scope(database) as session:
        audited = session.scalars(select(AuditEvent).where(AuditEvent.target_kind == "calendar")
                                  .order_by(AuditEvent.id)).all()
        assert [(e.action, e.actor_id) for e in audited] == [
            ("calendar.notice", None), ("calendar.days", None)]
        assert audited[0].summary.startswith("命令行 cli") and "2027 年节假日安排" in audited[0].summary
        assert audited[1].data["first"] == "2027-01-04" and audited[1].data["working"] is False
    assert "2027: covered by the entered notice" in plain

    for args, sentence in [
        (("add", "2027-01-05"), "error: say what the days are: --holiday, --workday or --official."),
        (("add", "2027-02-30", "--holiday"), "error: DATE: '2027-02-30' is not a date like 2027-01-01."),
        (("add",), "error: give a DATE"),
        (("add", "--file", str(tmp_path / "none.yml")), "error: no such file:"),
    ]:
        result = huiying("calendar", *args, env=env, check=False)
        assert result.returncode == 2 and result.stderr.startswith(sentence), result.stderr
