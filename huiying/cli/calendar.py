"""`huiying calendar`: the working-day calendar's overrides and yearly notices (docs/clocks.md)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import click


@click.group()
def calendar() -> None:
    """The working-day calendar: holidays and 调休 days beyond chinesecalendar."""


@calendar.command("add")
@click.argument("first", required=False, metavar="[DATE]")
@click.option("--to", "last", metavar="DATE", help="Last day of a range (inclusive).")
@click.option("--holiday", "kind", flag_value="holiday", help="The days are days off.")
@click.option("--workday", "kind", flag_value="workday", help="The days are working days (调休).")
@click.option("--official", "kind", flag_value="official",
              help="Withdraw the override: the days follow the official calendar again.")
@click.option("--note", default="", help="Why, e.g. 春节 or 县政府通知停课.")
@click.option("--file", "notice_file", type=click.Path(path_type=Path),
              help="A year's holiday notice as YAML (docs/clocks.md): the year counts as covered.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def calendar_add(first: str | None, last: str | None, kind: str | None, note: str,
                 notice_file: Path | None, as_json: bool) -> None:
    """Add holidays or make-up working days (one DATE, DATE --to DATE, or --file notice.yml);
    cases waiting for the calendar get their due times."""
    from huiying.cli import _database
    from huiying.db import session_scope
    from huiying.errors import InputError
    from huiying.workdays import (
        add_overrides,
        audit_days,
        audit_notice,
        cli_author,
        days_between,
        enter_notice,
        load_notice,
        parse_date,
        start_waiting_clocks,
    )

    if notice_file is not None:
        if first or last or kind:
            raise InputError("give either --file notice.yml or dates with --holiday/--workday, not both.")
        notice = load_notice(notice_file)
    else:
        if not first:
            raise InputError("give a DATE (and --to DATE for a range) with --holiday or --workday, "
                             "or a whole year's notice with --file notice.yml.")
        if kind is None:
            raise InputError("say what the days are: --holiday, --workday or --official.")
        start = parse_date(first, "DATE")
        days = days_between(start, parse_date(last, "--to") if last else start)
    settings = _database()
    with session_scope(settings.database_url) as session:
        if notice_file is not None:
            summary = enter_notice(session, notice, cli_author())
            audit_notice(session, None, f"命令行 {cli_author()}", summary)
        else:
            working = {"holiday": False, "workday": True, "official": None}[kind]
            summary = {"days": add_overrides(session, days, working, note, cli_author())}
            audit_days(session, None, f"命令行 {cli_author()}", days, working, note)
        summary["cases_given_due_times"] = start_waiting_clocks(session, settings.timezone)
    if as_json:
        click.echo(json.dumps(summary, ensure_ascii=False))
    elif "year" in summary:
        click.echo(f"the {summary['year']} notice is entered: {summary['holidays']} holidays and "
                   f"{summary['workdays']} make-up working days; {summary['year']} counts as covered.")
    else:
        click.echo(f"{summary['days']} days recorded.")
    if not as_json and summary["cases_given_due_times"]:
        click.echo(f"{summary['cases_given_due_times']} cases waiting for the calendar got their due times.")


@calendar.command("list")
@click.option("--year", type=click.IntRange(1900, 9999), default=None,
              help="Only this year (default: every year with overrides).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def calendar_list(year: int | None, as_json: bool) -> None:
    """The overrides in force and whether each year is covered."""
    from huiying.cli import _database
    from huiying.db import session_scope
    from huiying.workdays import calendar_rows, coverage

    settings = _database()
    with session_scope(settings.database_url) as session:
        rows = [row for row in calendar_rows(session) if year is None or row["day"].year == year]
        years = sorted({row["day"].year for row in rows} | ({year} if year else set())
                       | {date.today().year, date.today().year + 1})
        covered = coverage(session, years)
    if as_json:
        days = [{**row, "day": row["day"].isoformat(), "created_at": row["created_at"].isoformat()}
                for row in rows]
        click.echo(json.dumps({"years": {str(y): c for y, c in covered.items()}, "days": days},
                              ensure_ascii=False))
        return
    words = {"package": "covered by chinesecalendar", "notice": "covered by the entered notice",
             "missing": "NOT covered: enter its notice (huiying calendar add --file)"}
    for y, state in covered.items():
        click.echo(f"{y}: {words[state]}")
    for row in rows:
        what = "working day" if row["is_working_day"] else "day off"
        click.echo(f"{row['day'].isoformat()}  {what:<11}  {row['note']}  ({row['created_by']})")
