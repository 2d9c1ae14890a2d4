"""`GET /healthz` for load balancers and monitoring: no login, no personal data."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify
from sqlalchemy import text

from dashboard.db import get_db

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    try:
        get_db().execute(text("SELECT 1"))
    except Exception:  # whatever the cause, the database part is down
        current_app.logger.exception("health check: database unreachable")
        return jsonify(status="error", database="unreachable"), 503
    return jsonify(status="ok", database="ok")
