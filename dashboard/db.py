"""A request-scoped SQLAlchemy session in `g.db`, closed when the app context ends."""

from __future__ import annotations

from flask import Flask, abort, current_app, g
from sqlalchemy.orm import Session

from huiying.db import new_session


def get_db() -> Session:
    if "db" not in g:
        g.db = new_session(current_app.config["DATABASE_URL"])
    return g.db


def get_or_404(model, ident: int):
    """The row of `model` with primary key `ident`, or a 404 page."""
    row = get_db().get(model, ident)
    if row is None:
        abort(404)
    return row


def close_db(_exc: BaseException | None = None) -> None:
    session = g.pop("db", None)
    if session is not None:
        session.close()


def init_app(app: Flask) -> None:
    app.teardown_appcontext(close_db)
