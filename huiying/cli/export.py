"""`huiying export monthly`: the monthly response-rate report as xlsx, CSV or JSON (docs/figures.md)."""

from __future__ import annotations

import sys
from pathlib import Path

import click


@click.group()
def export() -> None:
    """Exports of the figures."""


@export.command("monthly")
@click.option("--month", required=True, metavar="YYYY-MM",
              help="The local month (HUIYING_TIMEZONE) in which the cases were first seen.")
@click.option("--format", "fmt", required=True, type=click.Choice(["xlsx", "csv", "json"]))
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Output file (default: 回应月报-YYYY-MM.<format> in the current directory; "
                   "JSON goes to stdout).")
def export_monthly(month: str, fmt: str, out: Path | None) -> None:
    """The figures of the cases first seen in one month, with the case ids behind each."""
    from huiying.cli import _database
    from huiying.db import session_scope
    from huiying.figures import monthly, parse_month
    from huiying.monthly_export import file_name, render

    first_day = parse_month(month)  # before touching the database: a typo is the user's
    settings = _database()
    with session_scope(settings.database_url) as session:
        report = monthly(session, first_day, settings.timezone)
    data = render(report, fmt, settings.base_url, settings.bureau_name)
    _write(data, out, file_name(report, fmt), fmt == "json", f"{len(report.cases)} cases of {report.label}")


@click.group()
def report() -> None:
    """Reports the bureau publishes."""


@report.command("annual")
@click.option("--year", required=True, metavar="YYYY",
              help="The local year (HUIYING_TIMEZONE) in which the cases were first seen.")
@click.option("--format", "fmt", required=True, type=click.Choice(["docx", "xlsx", "json"]))
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Output file (default: 政府信息公开年报-YYYY.<format> in the current directory; "
                   "JSON goes to stdout).")
def report_annual(year: str, fmt: str, out: Path | None) -> None:
    """The 政府信息公开工作年度报告 figures of one year: 一's 回应关切 figures counted from the
    cases (with their case ids), tables 二 to 四 from what the admin entered."""
    from huiying.annual import annual, parse_year
    from huiying.annual_export import file_name, render
    from huiying.annual_format import missing
    from huiying.cli import _database
    from huiying.db import session_scope

    number = parse_year(year)
    settings = _database()
    with session_scope(settings.database_url) as session:
        made = annual(session, number, settings.timezone, bureau=settings.bureau_name)
    data = render(made, fmt)  # refuses, naming the cell, when the entered tables do not add up
    if made.calendar_note:
        click.echo(f"note: {made.calendar_note}", err=True)
    _write(data, out, file_name(made, fmt), fmt == "json",
           f"{len(made.cases)} cases of {made.year}, {len(missing(made.inputs))} cells 未填报")


def _write(data: bytes, out: Path | None, default: str, to_stdout: bool, summary: str) -> None:
    from huiying.errors import InputError

    if out is None and to_stdout:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return
    target = out or Path(default)
    try:
        target.write_bytes(data)
    except OSError as exc:
        raise InputError(f"cannot write {target}: {exc.strerror or exc}.") from None
    click.echo(f"{target}: {summary}", err=True)
