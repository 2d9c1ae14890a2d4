"""Health for load balancers and monitoring: no login, no personal data.

- `GET /healthz` (liveness): 503 when the database or the broker cannot be reached;
  "degraded" (200) when stored comments wait longer than they should for analysis (no worker
  running, or too few). Email notifications still to send and given up are counted.
- `GET /readyz` (readiness): 200 only when the database and the broker answer and the one
  scheduler beat within the last minutes (huiying/heartbeat.py); else 503 naming what is not.
- `GET /metrics`: Prometheus text (huiying/metrics.py), to loopback addresses, or with an
  administrator's API token (`Authorization: Bearer`, from `huiying users token`).
"""

from __future__ import annotations

from datetime import timedelta
from ipaddress import ip_address

from flask import Blueprint, Response, current_app, jsonify, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from sqlalchemy import func, select, text

from dashboard.db import get_db
from huiying import metrics
from huiying.errors import SettingsError
from huiying.heartbeat import SCHEDULER, alive, last_beat
from huiying.models import Comment, Role, User, utcnow
from huiying.notify import counts
from huiying.queue import check_broker, queue_depths
from huiying.users import hash_token

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
    if not _broker_answers("health check"):
        report.update(status="error", broker="unreachable")
    if report["status"] == "error":
        return jsonify(report), 503
    if report["waiting_comments"]:
        report["status"] = "degraded"  # analysis is behind: is a worker running?
    return jsonify(report)


def _broker_answers(check: str) -> bool:
    try:
        check_broker(current_app.config["HUIYING_SETTINGS"], timeout=2)
    except SettingsError as exc:
        current_app.logger.error("%s: %s", check, exc)
        return False
    return True


@bp.get("/readyz")
def readyz():
    report = {"status": "ready", "database": "ok", "broker": "ok", "scheduler": "ok",
              "scheduler_last_beat": None}
    try:
        get_db().execute(text("SELECT 1"))
        heartbeat = last_beat(get_db(), SCHEDULER)
        report["scheduler_last_beat"] = heartbeat.at.isoformat() if heartbeat else None
        if not alive(heartbeat):
            report["scheduler"] = "stopped" if heartbeat else "never started"
    except Exception:
        current_app.logger.exception("readiness check: database unreachable")
        report.update(database="unreachable", scheduler="unknown")
    if not _broker_answers("readiness check"):
        report["broker"] = "unreachable"
    if any(report[part] != "ok" for part in ("database", "broker", "scheduler")):
        report["status"] = "not ready"
        return jsonify(report), 503
    return jsonify(report)


class _Collector:
    def __init__(self, families):
        self.families = families

    def collect(self):
        return iter(self.families)


@bp.get("/metrics")
def metrics_view():
    if not _may_scrape():
        return Response("metrics: from a loopback address, or with an administrator's API token "
                        "(Authorization: Bearer …, from `huiying users token`)\n", 401,
                        {"WWW-Authenticate": 'Bearer realm="huiying"'}, mimetype="text/plain")
    depths = queue_depths(current_app.config["HUIYING_SETTINGS"])
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Collector(list(metrics.collect(get_db(), depths))))
    return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)


def _may_scrape() -> bool:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        user = get_db().scalar(select(User).where(User.api_token_hash == hash_token(token.strip())))
        return user is not None and user.active and user.role == Role.ADMIN
    try:
        return ip_address(request.remote_addr or "").is_loopback
    except ValueError:
        return False
