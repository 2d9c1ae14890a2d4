"""`huiying report annual`, run as a user runs it on the embedded defaults."""

import io
import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from docx import Document

from huiying.annual import save_inputs
from huiying.db import session_scope
from tests.conftest import huiying
from tests.core.test_annual import year_2026
from tests.core.test_annual_format import consistent


@pytest.fixture
def installation(migrated_env):
    env = {**migrated_env, "HUIYING_BUREAU_NAME": "云溪县教育体育局"}
    url = f"sqlite:///{Path(env['HUIYING_DATA_DIR']).resolve() / 'huiying.sqlite3'}"
    with session_scope(url) as session:
        ids = {key: case.id for key, case in year_2026(session).items()}
        save_inputs(session, 2026, consistent())
    return env, url, ids


def test_docx_and_json_of_a_year(installation, tmp_path):
    env, _, ids = installation
    result = subprocess.run([sys.executable, "-m", "huiying", "report", "annual", "--year", "2026",
                             "--format", "docx"], env=env, cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    # As of now (not a fixed moment): H3, first seen on 2026-12-30, counts once that day has come.
    seen = 10 if datetime.now(UTC) >= datetime(2026, 12, 30, 2, 0, tzinfo=UTC) else 9
    assert f"政府信息公开年报-2026.docx: {seen} cases of 2026, 0 cells 未填报" in result.stderr
    document = Document(io.BytesIO((tmp_path / "政府信息公开年报-2026.docx").read_bytes()))
    assert document.paragraphs[0].text == "云溪县教育体育局2026年政府信息公开工作年度报告"
    data = json.loads(huiying("report", "annual", "--year", "2026", "--format", "json", env=env).stdout)
    board = data["overview"]["by_channel"][0]
    assert board["replied"]["case_ids"] == sorted(ids[k] for k in ("B1", "B2", "B3", "B4"))
    # The docx's table of channels says what the JSON says.
    rows = [[cell.text for cell in row.cells] for row in document.tables[0].rows]
    assert rows[1][:4] == ["网上留言板", *(str(board[k]["count"]) for k in ("received", "needing_answer",
                                                                         "replied"))]
    out = tmp_path / "year.xlsx"
    huiying("report", "annual", "--year", "2026", "--format", "xlsx", "--out", str(out), env=env)
    assert out.read_bytes().startswith(b"PK")


def test_cells_that_do_not_add_up_are_refused_naming_the_cell(installation, tmp_path):
    env, url, _ = installation
    with session_scope(url) as session:
        save_inputs(session, 2026, {"t3.r25.other": 1.0, "t3.r25.total": 4.0})
    result = huiying("report", "annual", "--year", "2026", "--format", "docx", "--out",
                     str(tmp_path / "no.docx"), env=env, check=False)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 2 and len(lines) == 1
    assert lines[0] == ("error: 年报数据未通过核对，未导出：表三“其他”列：第一项加第二项之和为 0，"
                        "第三项（七）总计加第四项之和为 1，两者应相等。另有 1 处不符，"  # the same in 总计
                        "请在“年报数据填报”页改正后再导出。")
    assert not (tmp_path / "no.docx").exists()


def test_an_empty_year_a_missing_calendar_and_a_bad_year(installation):
    env, _, _ = installation
    empty = json.loads(huiying("report", "annual", "--year", "2030", "--format", "json", env=env).stdout)
    assert empty["overview"]["all"]["received"] == {"count": 0, "case_ids": []}
    assert empty["overview"]["entered"]["overview.press_conferences"]["value"] is None  # 未填报, not 0
    assert empty["calendar_note"].startswith("工作日历未覆盖 2030 年")
    note = huiying("report", "annual", "--year", "2099", "--format", "json", env=env)
    assert "note: 工作日历未覆盖 2099 年" in note.stderr
    bad = huiying("report", "annual", "--year", "26", "--format", "json", env=env, check=False)
    assert bad.returncode == 2
    assert bad.stderr.strip() == "error: the year must look like 2026 (YYYY, from 1970 on), got '26'."
