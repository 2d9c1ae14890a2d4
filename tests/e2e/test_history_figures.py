"""Imported history with official replies gives the monthly figures the record gives.

`gov_replies_tipdm2020_dev.csv` (1,934 real messages with the reply and its time) is
imported with `huiying import`, processed as the worker does, and every month of
`huiying export monthly --format json` is compared with a computation made here straight
from the CSV: received, replied, response rate and median response hours.
"""

from __future__ import annotations

import csv
import json
import os
import statistics
from collections import defaultdict
from datetime import datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

from huiying.cases import process_comments, unprocessed_ids
from huiying.cli import cli
from huiying.db import session_scope
from tests.conftest import huiying, last_json

NAME = "gov_replies_tipdm2020_dev.csv"


def shared_file() -> Path | None:
    """HUIYING_SHARED_DATA, else a `shared/data` beside a parent folder of the repository."""
    folders = [Path(os.environ["HUIYING_SHARED_DATA"])] if os.environ.get("HUIYING_SHARED_DATA") else []
    folders += [parent / "shared" / "data" for parent in Path(__file__).resolve().parents]
    return next((folder / NAME for folder in folders if (folder / NAME).is_file()), None)


def from_the_csv(path: Path) -> dict[str, dict]:
    """Per local month (the CSV's times are Asia/Shanghai): what the figures must say."""
    months: dict[str, dict] = defaultdict(lambda: {"received": 0, "hours": []})
    with open(path, encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            written = datetime.fromisoformat(row["created_at"])
            month = months[written.strftime("%Y-%m")]
            month["received"] += 1
            if row["replied_at"].strip():
                replied = datetime.fromisoformat(row["replied_at"])
                month["hours"].append((replied - written).total_seconds() / 3600)
    return {
        name: {"received": m["received"], "replied": len(m["hours"]),
               "response_rate": round(len(m["hours"]) / m["received"], 4),
               "median_response_hours": round(statistics.median(m["hours"]), 1) if m["hours"] else None}
        for name, m in months.items()
    }


def test_every_month_of_the_imported_history_matches_the_csv(embedded_env, tmp_path):
    path = shared_file()
    if path is None:
        message = f"{NAME} not found (set HUIYING_SHARED_DATA or put shared/data beside the repository)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    copy = tmp_path / NAME  # the rejects file would be written beside the input
    copy.write_bytes(path.read_bytes())
    huiying("db", "upgrade", env=embedded_env)
    summary = last_json(huiying("import", str(copy), "--json", env=embedded_env, timeout=600).stdout)
    expected = from_the_csv(path)
    rows = sum(month["received"] for month in expected.values())
    assert (summary["rows"], summary["new"], summary["rejected"]) == (rows, rows, 0)
    assert summary["columns"]["reply"] == "reply" and summary["columns"]["replied_at"] == "replied_at"

    url = f"sqlite:///{Path(embedded_env['HUIYING_DATA_DIR']) / 'huiying.sqlite3'}"
    with session_scope(url) as session:
        while ids := unprocessed_ids(session, limit=500):
            process_comments(session, ids)

    runner = CliRunner()
    mismatches = []
    for name, want in sorted(expected.items()):
        result = runner.invoke(cli, ["export", "monthly", "--month", name, "--format", "json"],
                               env=embedded_env, catch_exceptions=False)
        assert result.exit_code == 0, result.output
        report = json.loads(result.stdout)
        (channel,) = [c for c in report["channels"] if c["name"] == "hotline"]
        overall = report["overall"]
        got_channel = {"received": channel["received"]["count"], "replied": channel["replied"]["count"],
                       "response_rate": channel["response_rate"],
                       "median_response_hours": channel["median_response_hours"]}
        # Every imported row is a case of its own, so the case figures agree as well.
        got_cases = {"received": overall["total"]["count"], "replied": overall["replied"]["count"],
                     "response_rate": overall["response_rate"],
                     "median_response_hours": overall["median_response_hours"]}
        for what, got in (("channel", got_channel), ("cases", got_cases)):
            if got != want:
                mismatches.append((name, what, got, want))
        assert channel["not_relevant"]["count"] == channel["unprocessed"]["count"] == 0
        assert channel["became_cases"]["count"] == want["received"]
    assert len(expected) > 50 and mismatches == []

    # The leadership's files carry the same channel figures as the JSON (sheet 渠道, CSV block).
    busiest = max(expected, key=lambda name: expected[name]["received"])
    files = {}
    for fmt in ("json", "xlsx", "csv"):
        files[fmt] = tmp_path / f"monthly.{fmt}"
        result = runner.invoke(cli, ["export", "monthly", "--month", busiest, "--format", fmt,
                                     "--out", str(files[fmt])], env=embedded_env, catch_exceptions=False)
        assert result.exit_code == 0, result.output
    channels = json.loads(files["json"].read_text("utf-8"))["channels"]
    (channel,) = [c for c in channels if c["name"] == "hotline"]
    want_row = [channel[what]["count"] for what in ("received", "became_cases", "not_relevant", "unprocessed",
                                                    "not_to_answer", "needing_answer", "replied")]
    sheet = load_workbook(files["xlsx"], read_only=True)["渠道"]
    (xlsx_row,) = [row for row in sheet.iter_rows(values_only=True) if row[1] == "12345 热线"]
    assert list(xlsx_row[2:9]) == want_row
    assert xlsx_row[9] == pytest.approx(channel["response_rate"], abs=1e-4)
    assert xlsx_row[10] == channel["median_response_hours"]
    lines = list(csv.reader(files["csv"].read_text("utf-8-sig").splitlines()))
    (csv_row,) = [row for row in lines[lines.index(["各渠道收到与回应"]):] if row[1:2] == ["12345 热线"]]
    assert [int(v) for v in csv_row[2:9]] == want_row
