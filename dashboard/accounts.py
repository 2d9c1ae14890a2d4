"""/admin/users: the admin's account screens. The rules live in huiying/users.py; these views
only call it, commit what it accepts, and say in Chinese what it refused."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext
from flask_login import current_user, login_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.orm import joinedload
from wtforms import BooleanField, PasswordField, SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, Length, Optional

from dashboard import refusals
from dashboard.auth import Account
from dashboard.db import get_db, get_or_404
from dashboard.permissions import ADMINISTER, require_roles
from dashboard.refusals import message
from huiying import users as accounts
from huiying.errors import ChangeRefused
from huiying.models import Department, Role, User, utcnow

bp = Blueprint("accounts", __name__, url_prefix="/admin/users")

# Least privilege first: a new account is a department user unless the admin picks otherwise.
ROLE_LABELS = {Role.DEPARTMENT: lazy_gettext("科室"), Role.PRESS: lazy_gettext("宣传办"),
               Role.LEADER: lazy_gettext("领导"), Role.ADMIN: lazy_gettext("管理员")}
# Which form field a refusal belongs to; the rest are shown above the form.
FIELD_OF = {"username_invalid": "username", "username_taken": "username", "password_short": "password",
            "password_long": "password", "email_invalid": "email", "department_needed": "department",
            "department_unknown": "department", "role_unknown": "role"}


def _role_choices():
    return [(role.value, str(label)) for role, label in ROLE_LABELS.items()]


def _department_choices():
    names = get_db().scalars(select(Department.name).order_by(Department.id))
    return [("", _("（无）")), *((n, n) for n in names)]


class AccountForm(FlaskForm):
    role = SelectField(lazy_gettext("角色"))
    department = SelectField(lazy_gettext("所属科室"), validate_choice=False)
    email = StringField(lazy_gettext("邮箱"), validators=[Optional(), Length(max=200)])
    submit = SubmitField(lazy_gettext("保存"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.role.choices = _role_choices()
        self.department.choices = _department_choices()


class NewAccountForm(AccountForm):
    username = StringField(lazy_gettext("用户名"), validators=[
        DataRequired(lazy_gettext("请填写用户名。")), Length(max=80)])
    password = PasswordField(lazy_gettext("初始密码"))
    generate = BooleanField(lazy_gettext("自动生成密码（保存后显示一次）"))
    submit = SubmitField(lazy_gettext("新增账号"))


class ResetForm(FlaskForm):
    password = PasswordField(lazy_gettext("新密码"))
    generate = BooleanField(lazy_gettext("自动生成密码（保存后显示一次）"))
    submit = SubmitField(lazy_gettext("重置密码"))


def _refused(form: FlaskForm, error: ChangeRefused) -> None:
    refusals.show(form, error, FIELD_OF)


def _chosen_password(form) -> str | None:
    """The password typed, or a generated one; None when neither was given (errors set)."""
    if form.generate.data:
        return accounts.generate_password()
    if not form.password.data:
        form.password.errors = [*form.password.errors, _("请填写密码，或勾选自动生成。")]
        return None
    return form.password.data


def _show_password_once(username: str, password: str):
    """The answer to the POST itself: a generated password never goes into the session
    cookie (a flash would put it there), a log or the database; pages are no-store."""
    return render_template("admin/password_once.html", username=username, password=password)


@bp.get("/")
@require_roles(*ADMINISTER)
def index():
    rows = get_db().scalars(select(User).options(joinedload(User.department)).order_by(User.id)).all()
    return render_template("admin/users.html", users=rows, role_labels=ROLE_LABELS, now=utcnow(),
                           lock_after=accounts.LOCK_AFTER, lock_minutes=accounts.LOCK_MINUTES)


@bp.route("/new", methods=["GET", "POST"])
@require_roles(*ADMINISTER)
def new():
    form = NewAccountForm()
    if form.validate_on_submit():
        password = _chosen_password(form)
        if password is not None:
            db = get_db()
            try:
                user = accounts.create_user(db, form.username.data, password, form.role.data,
                                            form.department.data or None, form.email.data,
                                            actor_id=current_user.id)
            except ChangeRefused as error:
                _refused(form, error)
            else:
                db.commit()
                flash(_("已新增账号 %(user)s。", user=user.username), "success")
                if form.generate.data:
                    return _show_password_once(user.username, password)
                return redirect(url_for("accounts.index"))
    return render_template("admin/user_form.html", form=form, user=None, min_length=accounts.MIN_PASSWORD)


@bp.route("/<int:user_id>", methods=["GET", "POST"])
@require_roles(*ADMINISTER)
def edit(user_id: int):
    user = get_or_404(User, user_id)
    form = AccountForm(data=None if request.method == "POST" else {
        "role": user.role, "department": user.department.name if user.department else "",
        "email": user.email or ""})
    if form.validate_on_submit():
        db = get_db()
        try:
            accounts.update_user(db, user.id, role=form.role.data, department=form.department.data or None,
                                 email=form.email.data, actor_id=current_user.id)
        except ChangeRefused as error:
            _refused(form, error)
        else:
            db.commit()
            flash(_("已保存账号 %(user)s。", user=user.username), "success")
            return redirect(url_for("accounts.index"))
    return render_template("admin/user_form.html", form=form, user=user, reset=ResetForm(formdata=None),
                           toggle=FlaskForm(), min_length=accounts.MIN_PASSWORD)


@bp.post("/<int:user_id>/active")
@require_roles(*ADMINISTER)
def set_active(user_id: int):
    user = get_or_404(User, user_id)
    if not FlaskForm().validate_on_submit():
        abort(400)
    active = request.form.get("active") == "1"
    db = get_db()
    try:
        accounts.set_active(db, user.id, active, actor_id=current_user.id)
    except ChangeRefused as error:
        db.rollback()
        flash(message(error), "danger")
        return redirect(url_for("accounts.edit", user_id=user.id))
    db.commit()
    flash(_("已启用账号 %(user)s。", user=user.username) if active
          else _("已停用账号 %(user)s，其登录已失效。", user=user.username), "success")
    return redirect(url_for("accounts.index"))


@bp.post("/<int:user_id>/password")
@require_roles(*ADMINISTER)
def reset_password(user_id: int):
    user = get_or_404(User, user_id)
    reset = ResetForm()
    if reset.validate_on_submit():
        password = _chosen_password(reset)
        if password is not None:
            db = get_db()
            try:
                accounts.reset_password(db, user.id, password, actor_id=current_user.id)
            except ChangeRefused as error:
                db.rollback()
                reset.password.errors = [*reset.password.errors, message(error)]
            else:
                db.commit()
                if user.id == current_user.id:  # one's own reset keeps this session
                    login_user(Account.from_user(user))
                flash(_("已重置账号 %(user)s 的密码，其登录已失效。", user=user.username), "success")
                if reset.generate.data:
                    return _show_password_once(user.username, password)
                return redirect(url_for("accounts.index"))
    form = AccountForm(data={"role": user.role, "department": user.department.name if user.department else "",
                             "email": user.email or ""})
    return render_template("admin/user_form.html", form=form, user=user, reset=reset, toggle=FlaskForm(),
                           min_length=accounts.MIN_PASSWORD)
