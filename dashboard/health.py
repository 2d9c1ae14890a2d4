"""`GET /healthz` for load balancers and monitoring: no login, no personal data.

503 when the database or the broker cannot be reached; "degraded" (200) when stored
comments wait longer than they should for analysis (no worker running, or too few).
Email notifications still to send and given up are counted, for information only.
"""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, current_app, jsonify
from sqlalchemy import func, select

from dashboard.db import get_db
from huiying.errors import SettingsError
from huiying.models import Comment, utcnow
from huiying.notify import counts
from huiying.queue import check_broker

bp = Blueprint("health", __name__)
BACKLOG_AGE = timedelta(minutes=10)


@bp.get("/healthz")
def healthz():
    report = {"status": "ok", "database": "ok", "broker": "ok", "waiting_comments": 0,
              "pending_notifications": 0, "failed_notifications": 0}
    try:
        report["waiting_comments"] = get_db().scalar(
            select(func.count(Comment.id)).where(Comment.processed_at.is_(None),
                                                 Comment.fetched_at < utcnow() - BACKLOG_AGE))
        notifications = counts(get_db())
        report["pending_notifications"] = notifications["pending"]
        report["failed_notifications"] = notifications["failed"]
    except Exception:  # whatever the cause, the database part is down
        current_app.logger.exception("health check: database unreachable")
        report.update(status="error", database="unreachable")
    try:
        check_broker(current_app.config["HUIYING_SETTINGS"], timeout=2)
    except SettingsError as exc:
        current_app.logger.error("health check: %s", exc)
        report.update(status="error", broker="unreachable")
    if report["status"] == "error":
        return jsonify(report), 503
    if report["waiting_comments"]:
        report["status"] = "degraded"  # analysis is behind: is a worker running?
    return jsonify(report)
