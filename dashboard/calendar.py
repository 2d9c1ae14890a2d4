"""The working-day calendar page (admin only): holidays and 调休 days beyond chinesecalendar.

Every change is a row of its own (huiying/workdays.py): the page lists the history with who
made each change. After a change, cases waiting for a missing year get their due times.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from flask import Blueprint, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import DateField, IntegerField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from dashboard.db import get_db
from dashboard.permissions import MANAGE_CALENDAR, require_roles
from huiying.models import utcnow
from huiying.workdays import (
    NOTE_CHARS,
    CalendarError,
    Notice,
    add_overrides,
    audit_days,
    audit_notice,
    calendar_rows,
    check_notice,
    coverage,
    days_between,
    enter_notice,
    history,
    notice_years,
    parse_lines,
    start_waiting_clocks,
)

bp = Blueprint("calendar", __name__, url_prefix="/admin/calendar")

KINDS = {"holiday": False, "workday": True, "official": None}
HISTORY_SHOWN = 100


class DaysForm(FlaskForm):
    first = DateField(lazy_gettext("日期"), validators=[InputRequired(lazy_gettext("请选择日期。"))])
    last = DateField(lazy_gettext("至（可不填）"), validators=[Optional()])
    kind = SelectField(lazy_gettext("类型"), choices=[
        SelectChoice("holiday", lazy_gettext("放假")), SelectChoice("workday", lazy_gettext("调休上班")),
        SelectChoice("official", lazy_gettext("恢复官方日历"))])
    note = StringField(lazy_gettext("说明"), validators=[Length(max=NOTE_CHARS)])
    submit = SubmitField(lazy_gettext("保存日期"))


class NoticeForm(FlaskForm):
    year = IntegerField(lazy_gettext("年份"), validators=[
        InputRequired(lazy_gettext("请填写年份。")),
        NumberRange(2000, 2200, lazy_gettext("年份应在 %(min)s 至 %(max)s 之间。"))])
    title = StringField(lazy_gettext("通知名称"), validators=[Length(max=NOTE_CHARS)])
    holidays = TextAreaField(lazy_gettext("放假安排"), validators=[
        DataRequired(lazy_gettext("请填写放假日期。"))])
    workdays = TextAreaField(lazy_gettext("调休上班日期"))
    submit = SubmitField(lazy_gettext("录入年度安排"))


def _local_year() -> int:
    return utcnow().astimezone(ZoneInfo(current_app.config["TIMEZONE"])).year


def _page(days_form: DaysForm, notice_form: NoticeForm, status: int = 200):
    db = get_db()
    rows = calendar_rows(db)
    this_year = _local_year()
    years = sorted({this_year, this_year + 1} | {row["day"].year for row in rows} | notice_years(db))
    return render_template("admin/calendar.html", days_form=days_form, notice_form=notice_form,
                           coverage=coverage(db, years), rows=rows, history=history(db, HISTORY_SHOWN),
                           next_year=this_year + 1, described=described), status


def described(field, help_id: str | None = None) -> dict[str, str]:
    """aria-describedby for a field: its help text and, after a failed submit, its errors."""
    ids = ([help_id] if help_id else []) + ([f"{field.id}-error"] if field.errors else [])
    return {"aria-describedby": " ".join(ids)} if ids else {}


def _error(exc: CalendarError) -> str:
    return _(exc.template, **exc.params)


@bp.get("/")
@require_roles(*MANAGE_CALENDAR)
def index():
    return _page(DaysForm(prefix="days"), NoticeForm(prefix="notice", data={"year": _local_year() + 1}))


@bp.post("/days")
@require_roles(*MANAGE_CALENDAR)
def add_days():
    form = DaysForm(prefix="days")
    if form.validate_on_submit():
        try:
            days = days_between(form.first.data, form.last.data or form.first.data)
        except CalendarError as exc:
            form.last.errors = [*form.last.errors, _error(exc)]
        else:
            db = get_db()
            add_overrides(db, days, KINDS[form.kind.data], form.note.data or "", current_user.username)
            audit_days(db, current_user.id, current_user.username, days, KINDS[form.kind.data],
                       form.note.data or "")
            started = start_waiting_clocks(db, current_app.config["TIMEZONE"])
            db.commit()
            _flash_saved(_("已保存 %(n)s 天的工作日历设置。", n=len(days)), started)
            return redirect(url_for("calendar.index"))
    return _page(form, NoticeForm(prefix="notice", data={"year": _local_year() + 1}), 400)


@bp.post("/notice")
@require_roles(*MANAGE_CALENDAR)
def add_notice():
    form = NoticeForm(prefix="notice")
    if form.validate_on_submit():
        try:
            notice = Notice(year=form.year.data, title=(form.title.data or "").strip(),
                            holidays=parse_lines(form.holidays.data, "holidays"),
                            workdays=parse_lines(form.workdays.data or "", "workdays"))
            check_notice(notice, "form")
        except CalendarError as exc:
            form.holidays.errors = [*form.holidays.errors, _error(exc)]
        else:
            db = get_db()
            summary = enter_notice(db, notice, current_user.username)
            audit_notice(db, current_user.id, current_user.username, summary)
            started = start_waiting_clocks(db, current_app.config["TIMEZONE"])
            db.commit()
            _flash_saved(_("已录入 %(year)s 年节假日安排：放假 %(holidays)s 天，调休上班 %(workdays)s 天。",
                           year=notice.year, holidays=summary["holidays"], workdays=summary["workdays"]),
                         started)
            return redirect(url_for("calendar.index"))
    return _page(DaysForm(prefix="days"), form, 400)


def _flash_saved(message: str, started: int) -> None:
    flash(message, "success")
    if started:
        flash(_("%(n)s 件等待工作日历的案件已计算出办理时限。", n=started), "info")

