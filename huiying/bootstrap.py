"""Bring a data directory and database up to date: migrations, defaults, first admin."""

from __future__ import annotations

import os

from huiying import migrate
from huiying.db import check_reachable, session_scope
from huiying.seed import ensure_defaults
from huiying.settings import Settings
from huiying.users import ensure_admin


def prepare(settings: Settings) -> str | None:
    """Return the first admin's generated password when one was just created."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    check_reachable(settings.database_url)
    migrate.upgrade(settings.database_url)
    with session_scope(settings.database_url) as session:
        ensure_defaults(session)
        return ensure_admin(session, os.environ.get("HUIYING_ADMIN_PASSWORD"))
