"""A bad setting stops the start with one sentence that names it: never a traceback."""

import pytest

from tests.conftest import clean_env, free_port, huiying


def one_sentence(result) -> str:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_unknown_database_scheme(tmp_path):
    env = clean_env(HUIYING_DATA_DIR=str(tmp_path), HUIYING_DATABASE_URL="mysqlx://db/huiying")
    line = one_sentence(huiying("db", "upgrade", env=env, check=False))
    assert line.startswith("error: HUIYING_DATABASE_URL has an unknown scheme 'mysqlx'")


def test_unreachable_database(tmp_path):
    url = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/huiying"
    env = clean_env(HUIYING_DATA_DIR=str(tmp_path), HUIYING_DATABASE_URL=url)
    line = one_sentence(huiying("db", "upgrade", env=env, check=False))
    assert "HUIYING_DATABASE_URL: cannot connect" in line


@pytest.mark.parametrize("command", [("worker",), ("scheduler",)])
def test_unreachable_broker(tmp_path, command):
    env = clean_env(HUIYING_DATA_DIR=str(tmp_path),
                    HUIYING_BROKER_URL=f"redis://127.0.0.1:{free_port()}/0")
    huiying("db", "upgrade", env=env)
    line = one_sentence(huiying(*command, env=env, check=False, timeout=60))
    assert "HUIYING_BROKER_URL: cannot reach redis://127.0.0.1:" in line


def test_mistyped_number_and_typo_warning(tmp_path):
    env = clean_env(HUIYING_DATA_DIR=str(tmp_path), HUIYING_CRAWL_INTERVAL="half an hour")
    line = one_sentence(huiying("db", "upgrade", env=env, check=False))
    assert "HUIYING_CRAWL_INTERVAL must be a whole number of minutes" in line
    env = clean_env(HUIYING_DATA_DIR=str(tmp_path), HUIYING_DATABSE_URL="sqlite:///x")
    result = huiying("db", "upgrade", env=env)
    assert "HUIYING_DATABSE_URL is not a Huiying setting" in result.stderr
    assert "did you mean HUIYING_DATABASE_URL?" in result.stderr
    # A field name is not a variable name: nobody reads this one, so it is reported too.
    env = clean_env(HUIYING_DATA_DIR=str(tmp_path), HUIYING_CRAWL_INTERVAL_MINUTES="5")
    result = huiying("db", "upgrade", env=env)
    assert "did you mean HUIYING_CRAWL_INTERVAL?" in result.stderr


def test_production_needs_a_secret_key(tmp_path):
    env = clean_env(HUIYING_DATA_DIR=str(tmp_path), HUIYING_ENV="production")
    line = one_sentence(huiying("db", "upgrade", env=env, check=False))
    assert "HUIYING_SECRET_KEY is not set" in line


def test_the_deploy_env_example_names_every_setting_and_loads(tmp_path, monkeypatch):
    """deploy/huiying.env.example is the operator's list: every setting the service reads is
    in it (the test suite's own variables apart), and as written (a key filled in) it loads."""
    import re
    from pathlib import Path

    from huiying import settings as settings_module

    example = Path(__file__).parents[2] / "deploy" / "huiying.env.example"
    lines = example.read_text("utf-8").splitlines()
    named = set(re.findall(r"\b(HUIYING_[A-Z_]+)=", "\n".join(lines)))
    # HUIYING_NEW_PASSWORD is read by `huiying users add/reset` only, HUIYING_BENCH_* by `huiying bench`,
    # HUIYING_DRILL_* by the fault drills (tests/e2e/test_fault_drills.py).
    service = {name for name in settings_module.KNOWN_VARIABLES
               if not name.startswith(("HUIYING_TEST_", "HUIYING_SHARED_", "HUIYING_NEW_", "HUIYING_BENCH_",
                                       "HUIYING_DRILL_"))}
    assert service - named == set()
    assert named - settings_module.KNOWN_VARIABLES == set()
    for name in list(settings_module.KNOWN_VARIABLES):
        monkeypatch.delenv(name, raising=False)
    for line in lines:
        if line and not line.startswith("#"):
            name, _, value = line.partition("=")
            monkeypatch.setenv(name, value)
    monkeypatch.setenv("HUIYING_SECRET_KEY", "s" * 64)
    monkeypatch.setenv("HUIYING_DATA_DIR", str(tmp_path))
    loaded = settings_module.load()
    assert loaded.production and loaded.bureau_name == "某县教育体育局" and loaded.https
