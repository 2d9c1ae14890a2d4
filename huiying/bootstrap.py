"""Bring a data directory and database up to date: migrations, defaults, first admin, and the
hot-word counts of an installation that had comments before they were counted."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable

from huiying import hot_terms, migrate
from huiying.db import check_reachable, session_scope
from huiying.seed import ensure_defaults
from huiying.settings import Settings
from huiying.users import ensure_admin

PROGRESS_EVERY = 20_000  # comments between two progress lines of a rebuild


def prepare(settings: Settings) -> str | None:
    """Return the first admin's generated password when one was just created."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    check_reachable(settings.database_url)
    migrate.upgrade(settings.database_url)
    with session_scope(settings.database_url) as session:
        ensure_defaults(session)
        password = ensure_admin(session, os.environ.get("HUIYING_ADMIN_PASSWORD"))
    count_hot_terms_once(settings)
    return password


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def count_hot_terms_once(settings: Settings) -> dict[str, int] | None:
    """Right after the upgrade to schema 0011 nothing is counted: count the stored comments
    once (what `huiying hotwords rebuild` does), saying so on stderr."""
    with session_scope(settings.database_url) as session:
        if not hot_terms.needs_rebuild(session):
            return None
        _say("hot words: counting the terms of the stored relevant comments once "
             "(about a minute per 20,000 comments) …")
        result = hot_terms.rebuild(session, settings.timezone, progress=stderr_progress())
    _say(f"hot words: {result['comments_counted']} comments counted over {result['days']} days.")
    return result


def stderr_progress(every: int = PROGRESS_EVERY) -> Callable[[int, int], None]:
    """A `progress(done, total)` for hot_terms.rebuild: a line on stderr every `every` comments."""
    shown = 0

    def progress(done: int, total: int) -> None:
        nonlocal shown
        if done - shown >= every or done == total:
            shown = done
            _say(f"hot words: {done}/{total} comments counted")

    return progress
