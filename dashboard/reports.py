"""Reports: the monthly response-rate figures (huiying.figures) and their downloads."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import quote
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, abort, current_app, flash, render_template, request
from flask_babel import gettext as _

from dashboard.db import get_db
from dashboard.permissions import READ_REPORTS, require_roles
from huiying.errors import InputError
from huiying.figures import MonthlyReport, monthly, parse_month, previous_month
from huiying.monthly_export import MEDIA_TYPES, file_name, render

bp = Blueprint("reports", __name__, url_prefix="/reports")


def _default_month() -> str:
    today = datetime.now(ZoneInfo(current_app.config["TIMEZONE"])).date()
    return previous_month(today).strftime("%Y-%m")


def _report(month: str) -> MonthlyReport:
    return monthly(get_db(), parse_month(month), current_app.config["TIMEZONE"])


@bp.get("/monthly")
@require_roles(*READ_REPORTS)
def monthly_page():
    month = request.args.get("month") or _default_month()
    try:
        report = _report(month)
    except InputError:
        flash(_("月份格式应为 YYYY-MM，已显示上月。"), "warning")
        month = _default_month()
        report = _report(month)
    return render_template("reports/monthly.html", report=report, month=month)


@bp.get("/monthly.<any(xlsx, csv):fmt>")
@require_roles(*READ_REPORTS)
def monthly_download(fmt: str):
    try:
        report = _report(request.args.get("month") or _default_month())
    except InputError:
        abort(400)
    data = render(report, fmt, current_app.config["HUIYING_SETTINGS"].base_url)
    return Response(data, mimetype=MEDIA_TYPES[fmt], headers={
        "Content-Disposition": attachment(file_name(report, fmt), f"huiying-monthly-{report.label}.{fmt}"),
        "Cache-Control": "no-store",
    })


def attachment(name: str, ascii_name: str) -> str:
    """An attachment header with the Chinese file name (RFC 5987) and an ASCII fallback."""
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"
