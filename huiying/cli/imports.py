"""`huiying import FILE`: hotline and mailbox exports (xlsx/csv) as comments, then cases (docs/import.md)."""

from __future__ import annotations

import json
from pathlib import Path

import click


@click.command("import")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--kind", type=click.Choice(["hotline", "mailbox", "disclosure"]), default="hotline",
              show_default=True, help="What the export is: 12345 hotline work orders, mailbox (信箱) "
              "letters, or a register of 依申请公开 requests.")
@click.option("--source", help="Source name to store under (default: the kind).")
@click.option("--mapping", type=click.Path(path_type=Path),
              help="YAML file naming this export's headers (docs/import.md).")
@click.option("--sheet", help="Sheet of an .xlsx file (default: the first).")
@click.option("--dry-run", is_flag=True, help="Check the file and say what would happen; store nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def import_command(file: Path, kind: str, source: str | None, mapping: Path | None, sheet: str | None,
                   dry_run: bool, as_json: bool) -> None:
    """Import a hotline (12345) or mailbox (信箱) export, or 依申请公开 requests; bad rows go to
    FILE.rejects.csv."""
    from huiying.cli import _database
    from huiying.db import session_scope
    from huiying.imports import import_file, load_mapping
    from huiying.queue import check_broker, enqueue_comments

    if kind == "disclosure":
        from huiying.disclosure_import import HEADERS

        columns = load_mapping(mapping, HEADERS) if mapping else None
    else:
        columns = load_mapping(mapping) if mapping else None
    settings = _database()
    if kind == "disclosure":
        if source:
            raise click.UsageError("--source is for hotline and mailbox exports; requests have no source.")
        _import_disclosures(settings, file, columns, sheet, dry_run, as_json)
        return
    if not dry_run:
        check_broker(settings)
    enqueued = 0

    def enqueue(ids: list[int]) -> None:
        # Called after each batch's commit: only now may a worker see its ids.
        nonlocal enqueued
        enqueued += enqueue_comments(settings, ids)

    with session_scope(settings.database_url) as session:
        result = import_file(session, file, kind=kind, source=source, mapping=columns, sheet=sheet,
                             dry_run=dry_run, tz=settings.timezone, on_batch=enqueue)
        if dry_run:
            session.rollback()
    summary = {**result.summary(), "enqueued": enqueued}
    if as_json:
        click.echo(json.dumps(summary, ensure_ascii=False))
        return
    verb = "would be" if dry_run else "were"
    click.echo(f"{file.name}: {result.rows} rows; {result.new} new, {result.updated} updated and "
               f"{result.unchanged} unchanged {verb} stored under source '{result.source}', "
               f"{len(result.rejects)} rejected.")
    for reject in result.rejects:
        click.echo(f"  第 {reject.line} 行：{reject.reason}")
    if result.rejects_file:
        click.echo(f"Rejected rows {'would be' if dry_run else 'are'} in {result.rejects_file}.")
    if result.dropped_columns:
        click.echo(f"Column {', '.join(result.dropped_columns)} not stored: {summary['phone']}.")


def _import_disclosures(settings, file: Path, columns: dict[str, str] | None, sheet: str | None,
                        dry_run: bool, as_json: bool) -> None:
    """依申请公开 requests: cases straight away, nothing for a worker to analyse."""
    from huiying.db import session_scope
    from huiying.disclosure_import import import_disclosures

    with session_scope(settings.database_url) as session:
        result = import_disclosures(session, file, mapping=columns, sheet=sheet, dry_run=dry_run,
                                    tz=settings.timezone)
        if dry_run:
            session.rollback()
    if as_json:
        click.echo(json.dumps(result.summary(), ensure_ascii=False))
        return
    verb = "would be" if dry_run else "were"
    click.echo(f"{file.name}: {result.rows} rows; {result.new} new requests {verb} registered, "
               f"{result.unchanged} already registered, {len(result.rejects)} rejected.")
    for reject in result.rejects:
        click.echo(f"  第 {reject.line} 行：{reject.reason}")
    if result.rejects_file:
        click.echo(f"Rejected rows {'would be' if dry_run else 'are'} in {result.rejects_file}.")
