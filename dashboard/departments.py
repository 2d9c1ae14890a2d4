"""/admin/departments and /admin/rules: departments with their emails, and the routing table
(with a box that shows where a text would be routed). Rules live in huiying/departments.py."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import IntegerField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from dashboard import refusals
from dashboard.db import get_db, get_or_404
from dashboard.permissions import ADMINISTER, require_roles
from dashboard.refusals import message
from huiying import departments as core
from huiying.errors import ChangeRefused
from huiying.models import Department, RoutingRule, Topic

bp = Blueprint("departments", __name__, url_prefix="/admin")

FIELD_OF = {"name_invalid": "name", "name_taken": "name", "email_invalid": "email",
            "emails_too_long": "email", "topic_or_keyword": "keyword", "keyword_long": "keyword",
            "topic_unknown": "topic", "priority_range": "priority"}


def _refused(form: FlaskForm, error: ChangeRefused) -> None:
    refusals.show(form, error, FIELD_OF)


class DepartmentForm(FlaskForm):
    name = StringField(lazy_gettext("名称"), filters=[lambda v: v.strip() if v else v], validators=[
        DataRequired(lazy_gettext("请填写科室名称。")),
        Length(max=80, message=lazy_gettext("科室名称不能超过 %(max)d 个字。"))])
    email = StringField(lazy_gettext("邮箱"), validators=[Optional()])
    submit = SubmitField(lazy_gettext("保存"))


@bp.route("/departments", methods=["GET", "POST"])
@require_roles(*ADMINISTER)
def index():
    db = get_db()
    form = DepartmentForm()
    if form.validate_on_submit():
        try:
            department = core.add_department(db, form.name.data, form.email.data, actor_id=current_user.id)
        except ChangeRefused as error:
            _refused(form, error)
        else:
            db.commit()
            flash(_("已新增科室“%(name)s”。", name=department.name), "success")
            return redirect(url_for("departments.index"))
    return render_template("admin/departments.html", rows=core.list_departments(db), form=form,
                           delete=FlaskForm())


@bp.route("/departments/<int:department_id>", methods=["GET", "POST"])
@require_roles(*ADMINISTER)
def edit(department_id: int):
    department = get_or_404(Department, department_id)
    form = DepartmentForm(data=None if request.method == "POST" else {
        "name": department.name, "email": department.email or ""})
    if form.validate_on_submit():
        db = get_db()
        try:
            core.update_department(db, department.id, form.name.data, form.email.data,
                                   actor_id=current_user.id)
        except ChangeRefused as error:
            _refused(form, error)
        else:
            db.commit()
            flash(_("已保存科室“%(name)s”。", name=department.name), "success")
            return redirect(url_for("departments.index"))
    return render_template("admin/department_form.html", form=form, department=department)


@bp.post("/departments/<int:department_id>/delete")
@require_roles(*ADMINISTER)
def delete(department_id: int):
    department = get_or_404(Department, department_id)
    if not FlaskForm().validate_on_submit():
        abort(400)
    db = get_db()
    try:
        name = core.delete_department(db, department.id, actor_id=current_user.id)
    except ChangeRefused as error:
        db.rollback()
        flash(_("不能删除“%(name)s”：%(reason)s", name=department.name, reason=message(error)), "danger")
    else:
        db.commit()
        flash(_("已删除科室“%(name)s”及其分办规则。", name=name), "success")
    return redirect(url_for("departments.index"))


# --- routing rules ------------------------------------------------------------------------

class RuleForm(FlaskForm):
    topic = SelectField(lazy_gettext("主题"), validate_choice=False)
    keyword = StringField(lazy_gettext("关键词"), validators=[Optional()])
    department = SelectField(lazy_gettext("派往科室"), coerce=int, validate_choice=False)
    priority = IntegerField(lazy_gettext("优先级"), default=0, validators=[
        InputRequired(lazy_gettext("请填写优先级（整数，默认 0）。")),
        NumberRange(-100, 100, lazy_gettext("优先级须在 -100 到 100 之间。"))])
    submit = SubmitField(lazy_gettext("保存"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        db = get_db()
        self.topic.choices = [("", _("（不按主题，按关键词）")),
                              *((n, n) for n in db.scalars(select(Topic.name).order_by(Topic.id)))]
        self.department.choices = [(d.id, d.name) for d in
                                   db.scalars(select(Department).order_by(Department.id))]


class TryForm(FlaskForm):
    class Meta:
        csrf = False  # a read-only question sent by GET: nothing changes

    text = TextAreaField(lazy_gettext("试一段文字"), validators=[Optional(), Length(max=5000)])


@bp.get("/rules")
@require_roles(*ADMINISTER)
def rules():
    db = get_db()
    trial = TryForm(request.args)
    explanation = core.explain_route(db, trial.text.data) if trial.text.data and trial.validate() else None
    return render_template("admin/rules.html", rules=core.list_rules(db), form=RuleForm(formdata=None),
                           trial=trial, explanation=explanation, delete=FlaskForm())


def _save_rule(form: RuleForm, rule: RoutingRule | None):
    db = get_db()
    values = dict(topic=form.topic.data or None, keyword=form.keyword.data,
                  department_id=form.department.data, priority=form.priority.data,
                  actor_id=current_user.id)
    try:
        saved = core.add_rule(db, **values) if rule is None else core.update_rule(db, rule.id, **values)
    except ChangeRefused as error:
        _refused(form, error)
        return None
    db.commit()
    flash(_("已保存分办规则。") if rule else _("已新增分办规则。"), "success")
    return saved


@bp.post("/rules")
@require_roles(*ADMINISTER)
def add_rule():
    form = RuleForm()
    if form.validate_on_submit() and _save_rule(form, None):
        return redirect(url_for("departments.rules"))
    db = get_db()
    return render_template("admin/rules.html", rules=core.list_rules(db), form=form, trial=TryForm(),
                           explanation=None, delete=FlaskForm())


@bp.route("/rules/<int:rule_id>", methods=["GET", "POST"])
@require_roles(*ADMINISTER)
def edit_rule(rule_id: int):
    rule = get_or_404(RoutingRule, rule_id)
    form = RuleForm(data=None if request.method == "POST" else {
        "topic": rule.topic or "", "keyword": rule.keyword or "", "department": rule.department_id,
        "priority": rule.priority})
    if form.validate_on_submit() and _save_rule(form, rule):
        return redirect(url_for("departments.rules"))
    return render_template("admin/rule_form.html", form=form, rule=rule)


@bp.post("/rules/<int:rule_id>/delete")
@require_roles(*ADMINISTER)
def delete_rule(rule_id: int):
    get_or_404(RoutingRule, rule_id)
    if not FlaskForm().validate_on_submit():
        abort(400)
    db = get_db()
    core.delete_rule(db, rule_id, actor_id=current_user.id)
    db.commit()
    flash(_("已删除分办规则。"), "success")
    return redirect(url_for("departments.rules"))
