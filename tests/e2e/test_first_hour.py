"""What a new user meets in the first hour, run as they run it: from a directory of their own."""

import json
import subprocess
import sys

from tests.conftest import clean_env
from tests.core.test_import import HEADER, ROWS, write_csv


def _run(*args, env, cwd):
    return subprocess.run([sys.executable, "-m", "huiying", *args], env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=300)


def test_import_and_export_leave_nothing_in_the_current_directory(tmp_path):
    home, work = tmp_path / "data", tmp_path / "work"
    work.mkdir()
    env = clean_env(HUIYING_DATA_DIR=str(home), HUIYING_ADMIN_PASSWORD="admin-password-1")
    assert _run("db", "upgrade", env=env, cwd=work).returncode == 0
    path = write_csv(work / "hotline.csv", HEADER, ROWS)

    imported = _run("import", str(path), "--json", env=env, cwd=work)
    assert imported.returncode == 0, imported.stderr
    assert json.loads(imported.stdout)["enqueued"] == 2
    exported = _run("export", "monthly", "--month", "2026-02", "--format", "csv", env=env, cwd=work)
    assert exported.returncode == 0, exported.stderr

    assert sorted(p.name for p in work.iterdir()) == ["hotline.csv", "回应月报-2026-02.csv"]
    for result in (imported, exported):
        assert "WARNING" not in result.stderr and "kombu" not in result.stderr, result.stderr
    # The bindings the enqueued ids need are in the data dir, where the worker looks.
    assert (home / "broker" / "control" / "analysis.exchange").is_file()


def test_run_once_json_is_the_whole_stdout_on_a_fresh_data_dir(tmp_path):
    env = clean_env(HUIYING_DATA_DIR=str(tmp_path / "data"))  # no password given: one is generated
    result = _run("run", "--once", "--json", env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)  # all of it, not its last line
    assert summary["sources"] == 1 and summary["new_comments"] > 0
    assert "First administrator created: user 'admin'" in result.stderr
