"""Login and logout. The logged-in user is a small read-only copy of the User row."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext
from flask_login import LoginManager, UserMixin, current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import HiddenField, PasswordField, StringField, SubmitField
from wtforms.validators import DataRequired, EqualTo, Length

from dashboard.db import get_db
from dashboard.i18n import SESSION_KEY as LANGUAGE_KEY
from dashboard.refusals import message
from huiying.errors import ChangeRefused
from huiying.models import User, utcnow
from huiying.users import (
    LOCK_MINUTES,
    MAX_PASSWORD,
    MIN_PASSWORD,
    attempt_login,
    change_own_password,
    end_sessions,
    session_key,
)

bp = Blueprint("auth", __name__, url_prefix="/auth")

login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = lazy_gettext("请先登录。")
login_manager.localize_callback = str  # flashed into the session as a plain string
login_manager.login_message_category = "warning"
login_manager.session_protection = "strong"

LOGIN_FAILED = lazy_gettext("用户名或密码错误")


@dataclass(frozen=True)
class Account(UserMixin):
    """What the views need of the current user; detached from any database session."""

    id: int
    username: str
    role: str
    department_id: int | None
    department_name: str | None
    session_key: str

    @classmethod
    def from_user(cls, user: User) -> Account:
        return cls(user.id, user.username, user.role, user.department_id,
                   user.department.name if user.department else None, session_key(user))

    def get_id(self) -> str:
        # Flask-Login's "alternative id": a new password ends every session made with the old one.
        return f"{self.id}:{self.session_key}"


@login_manager.user_loader
def load_user(user_id: str) -> Account | None:
    number, _sep, key = user_id.partition(":")
    if not number.isdigit():
        return None
    user = get_db().get(User, int(number))
    if user is None or not user.active:  # a disabled account loses its open sessions too
        return None
    account = Account.from_user(user)
    return account if secrets.compare_digest(account.session_key, key) else None


class LoginForm(FlaskForm):
    username = StringField(lazy_gettext("用户名"), validators=[DataRequired(), Length(max=80)])
    password = PasswordField(lazy_gettext("密码"), validators=[DataRequired(), Length(max=200)])
    next = HiddenField()
    submit = SubmitField(lazy_gettext("登录"))


def safe_next(target: str | None) -> str | None:
    """A path on this site, or None: `next` must never send anyone to another host."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target or any(ord(ch) < 32 for ch in target):
        return None  # browsers read /\evil.example as //evil.example
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


def _clear_session() -> None:
    """Everything goes except the chosen language, which is no secret."""
    language = session.get(LANGUAGE_KEY)
    session.clear()
    if language is not None:
        session[LANGUAGE_KEY] = language


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("index"))
    form = LoginForm()
    if request.method == "GET":
        form.next.data = request.args.get("next", "")
    if form.validate_on_submit():
        db = get_db()
        attempt = attempt_login(db, form.username.data, form.password.data, utcnow())
        db.commit()  # the count of failures, or its reset
        if attempt.user is not None:
            _clear_session()  # no state from before the login survives it
            login_user(Account.from_user(attempt.user))
            return redirect(safe_next(form.next.data) or url_for("index"))
        if attempt.locked_until is not None:
            flash(_("该账号连续多次密码错误，已暂时锁定，请 %(minutes)d 分钟后再试，或请管理员重置密码。",
                    minutes=LOCK_MINUTES), "danger")
        else:
            flash(str(LOGIN_FAILED), "danger")
    elif request.method == "POST":
        flash(str(LOGIN_FAILED), "danger")
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    db = get_db()
    end_sessions(db, current_user.id)  # a copied cookie stops working too, not just this one
    db.commit()
    logout_user()
    _clear_session()
    flash(_("您已退出登录。"), "info")
    return redirect(url_for("auth.login"))


class PasswordForm(FlaskForm):
    current = PasswordField(lazy_gettext("当前密码"),
                            validators=[DataRequired(lazy_gettext("请填写当前密码。"))])
    new = PasswordField(lazy_gettext("新密码"), validators=[
        DataRequired(lazy_gettext("请填写新密码。")),
        Length(min=MIN_PASSWORD, max=MAX_PASSWORD,
               message=lazy_gettext("密码需要 %(min)d 到 %(max)d 个字符。"))])
    again = PasswordField(lazy_gettext("再次输入新密码"), validators=[
        DataRequired(lazy_gettext("请再次输入新密码。")),
        EqualTo("new", message=lazy_gettext("两次输入的新密码不一致。"))])
    submit = SubmitField(lazy_gettext("修改密码"))


@bp.route("/password", methods=["GET", "POST"])
@login_required
def password():
    """Every logged-in user changes their own password here (the current one is required)."""
    form = PasswordForm()
    if form.validate_on_submit():
        db = get_db()
        try:
            user = change_own_password(db, current_user.id, form.current.data, form.new.data)
        except ChangeRefused as error:
            db.rollback()
            field = form.current if error.code == "wrong_password" else form.new
            field.errors = [*field.errors, message(error)]
        else:
            db.commit()
            # Other sessions of this account end (their key changed); this one carries on.
            login_user(Account.from_user(user))
            flash(_("密码已修改；其他设备上的登录已失效。"), "success")
            return redirect(url_for("index"))
    return render_template("auth/password.html", form=form, min_length=MIN_PASSWORD)
