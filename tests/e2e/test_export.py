"""`huiying export monthly`, run as a user runs it, on the October cases of tests/core/test_figures.py."""

import json
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from openpyxl import load_workbook

from huiying.db import session_scope
from huiying.models import Case
from huiying.monthly_export import CHANNEL_HEADERS, CHANNEL_TITLE, DETAIL_HEADERS, SUMMARY_HEADERS
from tests.conftest import huiying
from tests.core.test_figures import local, october


@pytest.fixture
def october_env(migrated_env, tmp_path):
    """An embedded installation holding the October cases, and a case with a formula title."""
    env = {**migrated_env, "HUIYING_BASE_URL": "https://yq.example.gov.cn",
           "HUIYING_BUREAU_NAME": "云溪县教育体育局"}
    url = f"sqlite:///{Path(env['HUIYING_DATA_DIR']).resolve() / 'huiying.sqlite3'}"
    with session_scope(url) as session:
        cases = october(session)
        seen = local(2026, 10, 3, 9, 0)
        session.add(Case(title="=HYPERLINK(\"http://evil.example\",\"点我\")", fingerprint="formula",
                         first_seen_at=seen, created_at=seen, due_at=seen + timedelta(hours=48)))
        ids = {key: case.id for key, case in cases.items()}
    return env, ids


def test_xlsx_has_both_sheets_with_chinese_headers(october_env, tmp_path):
    env, ids = october_env
    out = tmp_path / "october.xlsx"
    result = huiying("export", "monthly", "--month", "2026-10", "--format", "xlsx", "--out", str(out),
                     env=env)
    assert "8 cases of 2026-10" in result.stderr
    book = load_workbook(out)
    assert book.sheetnames == ["汇总", "渠道", "明细"]
    summary, detail = book["汇总"], book["明细"]
    # Row 1: the title (the bureau of HUIYING_BUREAU_NAME, the month); row 2: the headers.
    assert summary["A1"].value == "云溪县教育体育局回应月报（2026年10月）" and summary["A1"].font.bold
    assert detail["A1"].value == summary["A1"].value
    assert [c.value for c in summary[2]] == SUMMARY_HEADERS and summary["A2"].font.bold
    assert summary.freeze_panes == "A3" and summary.column_dimensions["A"].width == 16
    table_end = next(n for n in range(3, 100) if summary.cell(n + 1, 1).value is None)
    assert summary.cell(table_end, 1).value == "未分派"  # the last department row
    assert summary.auto_filter.ref == f"A2:J{table_end}"  # headers, 全部 and the departments
    overall = [c.value for c in summary[3]]
    assert overall[:4] == ["全部", 8, 6, 3] and overall[4] == pytest.approx(0.5)
    assert summary["E3"].number_format == "0.0%" and overall[9] == 2  # G, and the formula case
    assert [c.value for c in detail[2]] == DETAIL_HEADERS and detail.freeze_panes == "A3"
    assert detail.auto_filter.ref == f"A2:O{2 + 8}"  # the headers and the 8 cases of October
    rows = {row[0]: row for row in detail.iter_rows(min_row=3, values_only=True)}
    assert len(rows) == 8 and ids["H"] not in rows
    # Date columns hold real dates or nothing; no cell of either sheet is a dash.
    for column in range(6, 10):
        assert all(value is None or isinstance(value, datetime) for value in
                   (row[column] for row in rows.values())), DETAIL_HEADERS[column]
    assert rows[ids["D"]][9] is None  # 不予处理: never replied, an empty 回复时间
    assert all(cell.value != "—" for sheet in book for row in sheet.iter_rows() for cell in row)
    a = rows[ids["A"]]
    assert a[1] == "城关小学划片不合理 电话138****1234" and a[2] == "基础教育股" and a[10] == "是"
    assert a[14] == f"https://yq.example.gov.cn/cases/{ids['A']}"
    formula = next(row for row in rows.values() if "HYPERLINK" in row[1])
    assert formula[1].startswith("'=")  # text, not a formula
    assert all(cell.data_type != "f" for row in detail.iter_rows() for cell in row)


def test_csv_is_utf8_with_bom_and_the_department_table(october_env, tmp_path):
    env, _ = october_env
    result = subprocess.run([sys.executable, "-m", "huiying", "export", "monthly", "--month", "2026-10",
                             "--format", "csv"], env=env, cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    raw = (tmp_path / "回应月报-2026-10.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    lines = raw.decode("utf-8-sig").splitlines()
    assert lines[0] == ",".join(SUMMARY_HEADERS)
    assert lines[1].startswith("全部,8,6,3,50.0%,2,66.7%,")
    blank = lines.index("")
    assert lines[blank - 1].split(",")[0] == "未分派"
    assert lines[blank + 1] == CHANNEL_TITLE and lines[blank + 2] == ",".join(CHANNEL_HEADERS)


def test_json_goes_to_stdout(october_env):
    env, ids = october_env
    result = huiying("export", "monthly", "--month", "2026-10", "--format", "json", env=env)
    report = json.loads(result.stdout)
    assert report["overall"]["replied"] == {"count": 3, "case_ids": [ids["A"], ids["B"], ids["C"]]}
    assert report["cases"][0]["link"] == f"https://yq.example.gov.cn/cases/{ids['A']}"


def test_an_empty_month_is_a_report(october_env, tmp_path):
    env, _ = october_env
    result = huiying("export", "monthly", "--month", "2030-02", "--format", "json", env=env)
    assert json.loads(result.stdout)["overall"]["total"] == {"count": 0, "case_ids": []}
    out = tmp_path / "empty.xlsx"
    huiying("export", "monthly", "--month", "2030-02", "--format", "xlsx", "--out", str(out), env=env)
    assert load_workbook(out)["明细"].max_row == 2  # the title and the headers, no case


@pytest.mark.parametrize("month", ["2026-13", "abc"])
def test_a_bad_month_is_one_line_and_exit_2(embedded_env, month):
    result = huiying("export", "monthly", "--month", month, "--format", "xlsx", env=embedded_env, check=False)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.strip().splitlines() == [
        f"error: the month must look like 2026-10 (YYYY-MM, from 1970 on), got {month!r}."]
