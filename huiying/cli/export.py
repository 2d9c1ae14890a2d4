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
    from huiying.errors import InputError
    from huiying.figures import monthly, parse_month
    from huiying.monthly_export import file_name, render

    first_day = parse_month(month)  # before touching the database: a typo is the user's
    settings = _database()
    with session_scope(settings.database_url) as session:
        report = monthly(session, first_day, settings.timezone)
    data = render(report, fmt, settings.base_url)
    if out is None and fmt == "json":
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return
    target = out or Path(file_name(report, fmt))
    try:
        target.write_bytes(data)
    except OSError as exc:
        raise InputError(f"cannot write {target}: {exc.strerror or exc}.") from None
    click.echo(f"{target}: {len(report.cases)} cases of {report.label}", err=True)
