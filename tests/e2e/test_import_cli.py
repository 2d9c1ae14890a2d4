"""`huiying import` run as a user runs it, on the embedded defaults (SQLite file + file broker)."""

import json
from pathlib import Path

from sqlalchemy import create_engine, text

from tests.conftest import huiying, last_json
from tests.core.test_import import HEADER, ROWS, write_csv, write_xlsx


def _db(env):
    return create_engine(f"sqlite:///{Path(env['HUIYING_DATA_DIR']) / 'huiying.sqlite3'}")


def test_import_then_run_once_makes_the_imported_cases(migrated_env, tmp_path):
    rows = [*ROWS, ["GD003", "2026-02-13 09:00", "王五", "", "建议", "", "", ""]]  # no body
    path = write_xlsx(tmp_path / "hotline.xlsx", HEADER, rows)

    dry = last_json(huiying("import", str(path), "--dry-run", "--json", env=migrated_env).stdout)
    assert (dry["dry_run"], dry["new"], dry["rejected"], dry["enqueued"]) == (True, 2, 1, 0)
    assert not (tmp_path / "hotline.rejects.csv").exists()
    with _db(migrated_env).connect() as db:
        assert db.execute(text("SELECT count(*) FROM comment")).scalar() == 0

    plain = huiying("import", str(path), env=migrated_env).stdout
    assert plain.splitlines()[:2] == [
        "hotline.xlsx: 3 rows; 2 new, 0 updated and 0 unchanged were stored under source 'hotline', "
        "1 rejected.",
        "  第 4 行：内容为空。",
    ]
    assert (tmp_path / "hotline.rejects.csv").is_file() and "联系电话 not stored" in plain
    again = last_json(huiying("import", str(path), "--json", env=migrated_env).stdout)
    assert (again["new"], again["updated"], again["unchanged"], again["enqueued"]) == (0, 0, 2, 0)
    assert again["rejects"] == [{"line": 4, "external_id": "GD003", "reason": "内容为空。"}]

    summary = last_json(huiying("run", "--once", "--json", env=migrated_env).stdout)
    assert summary["errors"] == [] and summary["sources"] == 1  # the demo board; imports are not crawled
    with _db(migrated_env).connect() as db:
        cases = dict(db.execute(text(
            'SELECT comment.external_id, "case".due_at FROM comment '
            'JOIN source ON source.id = comment.source_id JOIN "case" ON "case".id = comment.case_id '
            "WHERE source.kind = 'import'")).all())
    assert set(cases) == {"GD001", "GD002"}
    assert str(cases["GD001"]).startswith("2026-03-09 15:59:59")  # 23:59:59 +08:00, stored in UTC
    assert summary["cases"] >= 2 and summary["processed"] == summary["new_comments"] + 2


def test_wrong_columns_are_one_sentence_with_exit_status_2(migrated_env, tmp_path):
    path = write_csv(tmp_path / "信箱.csv", ["信件编号", "主题", "备注"], [["1", "t", "x"]])
    result = huiying("import", str(path), "--kind", "mailbox", env=migrated_env, check=False)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip() == (
        "error: 信箱.csv cannot be imported: no column for the body, received time (headers found: "
        "信件编号, 主题, 备注); rename the headers or give --mapping FILE.yml (docs/import.md); "
        "nothing was imported.")
    with _db(migrated_env).connect() as db:
        assert db.execute(text("SELECT count(*) FROM source WHERE kind = 'import'")).scalar() == 0

    broken = tmp_path / "broken.csv"
    broken.write_bytes("工单编号,来电时间,诉求内容\n".encode() + b"1,2026-02-12,\xff\xfe\n")
    result = huiying("import", str(broken), "--json", env=migrated_env, check=False)
    assert result.returncode == 2
    assert result.stderr.startswith("error: line 2 of broken.csv is not valid UTF-8 text")


def test_a_gbk_csv_from_the_command_line(migrated_env, tmp_path):
    path = write_csv(tmp_path / "gbk.csv", HEADER, ROWS)
    result = json.loads(huiying("import", str(path), "--source", "hotline-2026", "--json",
                                env=migrated_env).stdout)
    assert (result["new"], result["source"], result["enqueued"]) == (2, "hotline-2026", 2)
