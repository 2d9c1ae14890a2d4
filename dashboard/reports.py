"""Reports: the monthly response-rate figures (huiying.figures), the annual report's figures
(huiying.annual) with the admin's form for the cells only a person knows, and their downloads."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import quote
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from dashboard.db import get_db
from dashboard.permissions import ENTER_ANNUAL_INPUTS, READ_REPORTS, require_roles
from huiying import annual_export
from huiying import annual_format as layout
from huiying.annual import AnnualReport, annual, load_inputs, parse_year, save_inputs
from huiying.errors import InputError
from huiying.figures import MonthlyCounts, MonthlyReport, monthly, monthly_counts, parse_month, previous_month
from huiying.monthly_export import MEDIA_TYPES, file_name, render

bp = Blueprint("reports", __name__, url_prefix="/reports")


def _default_month() -> str:
    today = datetime.now(ZoneInfo(current_app.config["TIMEZONE"])).date()
    return previous_month(today).strftime("%Y-%m")


def _report(month: str) -> MonthlyReport:
    return monthly(get_db(), parse_month(month), current_app.config["TIMEZONE"])


def _counts(month: str) -> MonthlyCounts:
    # The page shows numbers only: counted by the database (the downloads keep the case ids).
    return monthly_counts(get_db(), parse_month(month), current_app.config["TIMEZONE"])


@bp.get("/monthly")
@require_roles(*READ_REPORTS)
def monthly_page():
    month = request.args.get("month") or _default_month()
    try:
        report = _counts(month)
    except InputError:
        flash(_("月份格式应为 YYYY-MM，已显示上月。"), "warning")
        month = _default_month()
        report = _counts(month)
    return render_template("reports/monthly.html", report=report, month=month)


@bp.get("/monthly.<any(xlsx, csv):fmt>")
@require_roles(*READ_REPORTS)
def monthly_download(fmt: str):
    try:
        report = _report(request.args.get("month") or _default_month())
    except InputError:
        abort(400)
    settings = current_app.config["HUIYING_SETTINGS"]
    data = render(report, fmt, settings.base_url, settings.bureau_name)
    return Response(data, mimetype=MEDIA_TYPES[fmt], headers={
        "Content-Disposition": attachment(file_name(report, fmt), f"huiying-monthly-{report.label}.{fmt}"),
        "Cache-Control": "no-store",
    })


def attachment(name: str, ascii_name: str) -> str:
    """An attachment header with the Chinese file name (RFC 5987) and an ASCII fallback."""
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"


# --- the annual report ----------------------------------------------------------------------

def _default_year() -> int:
    """The year before: the report is written in January for the year that just ended."""
    return datetime.now(ZoneInfo(current_app.config["TIMEZONE"])).year - 1


def _year(text: str | None) -> int | None:
    try:
        return parse_year(text) if text else _default_year()
    except InputError:
        return None


def _annual(year: int) -> AnnualReport:
    return annual(get_db(), year, current_app.config["TIMEZONE"],
                  bureau=current_app.config["HUIYING_SETTINGS"].bureau_name)


@bp.get("/annual")
@require_roles(*READ_REPORTS)
def annual_page():
    year = _year(request.args.get("year"))
    if year is None:
        flash(_("年份格式应为 YYYY，已显示上一年。"), "warning")
        year = _default_year()
    report = _annual(year)
    return render_template("reports/annual.html", report=report, data=report.as_dict(), layout=layout)


@bp.get("/annual.<any(docx, xlsx, json):fmt>")
@require_roles(*READ_REPORTS)
def annual_download(fmt: str):
    year = _year(request.args.get("year"))
    if year is None:
        abort(400)
    report = _annual(year)
    try:
        data = annual_export.render(report, fmt)
    except annual_export.ExportRefused:
        # The page lists every cell that does not add up; the file would publish wrong numbers.
        flash(_("年报数据未通过核对，未导出：请改正下列不符之处后再下载。"), "danger")
        return redirect(url_for("reports.annual_page", year=year))
    return Response(data, mimetype=annual_export.MEDIA_TYPES[fmt], headers={
        "Content-Disposition": attachment(annual_export.file_name(report, fmt),
                                          f"huiying-annual-{year}.{fmt}"),
        "Cache-Control": "no-store",
    })


@bp.route("/annual/input", methods=["GET", "POST"])
@require_roles(*ENTER_ANNUAL_INPUTS)
def annual_input():
    year = _year(request.values.get("year"))
    if year is None:
        abort(400)
    db = get_db()
    stored = load_inputs(db, year)
    texts = {key: "" if value is None else str(layout.number(value)) for key, value in stored.items()}
    errors: dict[str, str] = {}
    if request.method == "POST":
        values = {}
        for key in layout.FIELDS:
            texts[key] = request.form.get(key, "")
            try:
                values[key] = layout.parse_value(key, texts[key])
            except ValueError as exc:
                errors[key] = str(exc)
        if not errors:
            save_inputs(db, year, values, user_id=current_user.id)
            db.commit()
            problems = layout.check(values)
            if problems:
                flash(_("已保存。以下数据不符，改正前年报不能导出：") + " " + problems[0], "warning")
            else:
                flash(_("已保存 %(year)s 年的年报数据。", year=year), "success")
            return redirect(url_for("reports.annual_input", year=year))
        # Nothing is saved and nothing typed is lost: the form comes back as it was sent.
        flash(_("有 %(count)s 项填写有误，均未保存：", count=len(errors)) + " " + next(iter(errors.values())),
              "danger")
    return render_template("reports/annual_input.html", year=year, texts=texts, errors=errors,
                           layout=layout, problems=layout.check(stored) if not errors else []), \
        400 if errors else 200
