"""Registering a 依申请公开 request (`/cases/disclosure/new`) and its panel on the case page.

The rules are huiying/workflow.py's (who may register, the clock, each transition) and
huiying/disclosure.py's (applicant types, forms, result rows); this module turns forms into
calls of them and their refusals into one translated sentence. CSRF: CSRFProtect (400).
"""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy.orm import Session
from wtforms import DateTimeLocalField, SelectField, StringField, SubmitField, TextAreaField

from dashboard.db import get_db
from dashboard.permissions import REGISTER_DISCLOSURE, require_roles
from dashboard.workflow import error_message, local_time
from huiying import disclosure, workflow
from huiying.clocks import CalendarMissing, working_days_between
from huiying.models import Case, User, utcnow
from huiying.workflow import WorkflowError

bp = Blueprint("disclosure", __name__, url_prefix="/cases/disclosure")

LOCAL_FORMAT = "%Y-%m-%dT%H:%M"  # an <input type="datetime-local">, in the installation's time


def applicant_choices() -> list[tuple[str, str]]:
    return [(key, _(name)) for key, name in disclosure.APPLICANT_TYPES.items()]


class RegisterForm(FlaskForm):
    applicant_type = SelectField(lazy_gettext("申请人类型"), validate_choice=False)
    applicant_name = StringField(lazy_gettext("申请人姓名或名称"),
                                 render_kw={"maxlength": disclosure.NAME_CHARS, "required": True})
    form = SelectField(lazy_gettext("申请方式"), validate_choice=False)
    received_at = DateTimeLocalField(lazy_gettext("收到申请的时间"), format=LOCAL_FORMAT,
                                     render_kw={"required": True})
    reference = StringField(lazy_gettext("登记编号（可选）"), render_kw={"maxlength": 80})
    content = TextAreaField(lazy_gettext("申请公开的政府信息"),
                            render_kw={"rows": 5, "maxlength": disclosure.CONTENT_CHARS, "required": True})
    submit = SubmitField(lazy_gettext("登记申请"))


def _timezone() -> str:
    return current_app.config["TIMEZONE"]


def working_days_left(db: Session, case: Case, now: datetime) -> int | None:
    """Working days from today to the legal due day (negative: overdue); None without a due time
    or a calendar for the days."""
    if case.due_at is None:
        return None
    try:
        return working_days_between(now, case.due_at, workflow.work_calendar(db), tz=_timezone())
    except CalendarMissing:
        return None


@bp.route("/new", methods=["GET", "POST"])
@require_roles(*REGISTER_DISCLOSURE)
def new():
    form = RegisterForm()
    form.applicant_type.choices = applicant_choices()
    form.form.choices = [(name, _(name)) for name in disclosure.FORMS]
    if form.is_submitted():
        if not form.validate():  # CSRFProtect checked the token: only the time's format fails here
            flash(_("收到申请的时间须写成日期和时间，例如 2026-11-02 10:00。"), "danger")
            return render_template("cases/disclosure_new.html", form=form), 400
        db = get_db()
        try:
            case = workflow.register_disclosure(
                db, db.get(User, current_user.id), applicant_type=form.applicant_type.data or "",
                applicant_name=form.applicant_name.data or "", content=form.content.data or "",
                form=form.form.data or "", received_at=local_time(form.received_at.data),
                reference=form.reference.data, now=utcnow(), tz=_timezone())
        except WorkflowError as exc:
            db.rollback()
            flash(error_message(exc), "danger")
            return render_template("cases/disclosure_new.html", form=form), 400
        db.commit()
        flash(_("已登记依申请公开申请，答复期限为收到申请后 %(days)s 个工作日。",
                days=disclosure.ANSWER_DAYS), "success")
        return redirect(url_for("cases.detail", case_id=case.id))
    return render_template("cases/disclosure_new.html", form=form)
