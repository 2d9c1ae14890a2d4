"""Run Alembic migrations programmatically (`huiying db upgrade`)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


def revision(url: str, message: str) -> None:
    """Developer helper: autogenerate a migration against an up-to-date database."""
    command.revision(alembic_config(url), message=message, autogenerate=True)


def check_current(url: str) -> None:
    """Stop with one sentence when the schema is missing or older than this code."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    from huiying.db import engine_for
    from huiying.errors import SettingsError

    head = ScriptDirectory.from_config(alembic_config(url)).get_current_head()
    with engine_for(url).connect() as connection:
        current = MigrationContext.configure(connection).get_current_revision()
    if current != head:
        state = "has no Huiying tables yet" if current is None else f"is at schema {current}"
        raise SettingsError(f"the database {state} (this version needs {head}); "
                            "run `huiying db upgrade` first.")
