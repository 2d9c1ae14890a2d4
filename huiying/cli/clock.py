"""`huiying clock due`: the due time from the clock engine the cases use (docs/clocks.md)."""

from __future__ import annotations

import json
from datetime import datetime

import click

START_FORMAT = "%Y-%m-%d %H:%M"


@click.group()
def clock() -> None:
    """Response clocks."""


@clock.command("due")
@click.option("--start", required=True, metavar="'YYYY-MM-DD HH:MM'",
              help="When the matter was received, local time (HUIYING_TIMEZONE).")
@click.option("--working-days", type=int, default=None, metavar="N",
              help="Statutory working days; the day of receipt does not count.")
@click.option("--hours", type=float, default=None, metavar="N", help="Elapsed hours.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def clock_due(start: str, working_days: int | None, hours: float | None, as_json: bool) -> None:
    """Print the due time (local ISO 8601) of a clock started at --start."""
    from zoneinfo import ZoneInfo

    from huiying.clocks import due_after_hours, due_after_working_days
    from huiying.errors import InputError
    from huiying.settings import load_timezone

    if (working_days is None) == (hours is None):
        raise InputError("give exactly one of --working-days N and --hours N.")
    if working_days is not None and working_days < 1:
        raise InputError(f"--working-days must be at least 1, got {working_days}.")
    if hours is not None and not 0 < hours < float("inf"):
        raise InputError(f"--hours must be a positive number, got {hours:g}.")
    try:
        naive = datetime.strptime(start, START_FORMAT)
    except ValueError:
        raise InputError(f"--start must be a local time like '2026-11-25 09:30' "
                         f"(YYYY-MM-DD HH:MM), got {start!r}.") from None
    timezone = load_timezone()
    begin = naive.replace(tzinfo=ZoneInfo(timezone))
    try:
        if working_days is not None:
            due = due_after_working_days(begin, working_days, installation_calendar(), tz=timezone)
            clock_fields = {"working_days": working_days}
        else:
            due, clock_fields = due_after_hours(begin, hours), {"hours": hours}
    except OverflowError:
        raise InputError("the due time would be after the year 9999; give a shorter period.") from None
    if as_json:
        click.echo(json.dumps({"start": begin.isoformat(), **clock_fields, "due": due.isoformat(),
                               "timezone": timezone}, ensure_ascii=False))
    else:
        click.echo(due.isoformat())


def installation_calendar():
    """The calendar the cases use: with the installation's overrides once its database exists.

    Before `huiying db upgrade` there are no overrides (and nothing is created): the command
    then answers from chinesecalendar alone.
    """
    from pathlib import Path

    from huiying.clocks import WorkCalendar
    from huiying.db import check_reachable, session_scope
    from huiying.migrate import check_current
    from huiying.settings import load_database_url
    from huiying.workdays import work_calendar

    _, url = load_database_url()
    if url.startswith("sqlite") and not Path(url.split("///", 1)[-1]).is_file():
        return WorkCalendar()
    check_reachable(url)
    check_current(url)
    with session_scope(url) as session:
        return work_calendar(session)
