"""Login and logout. The logged-in user is a small read-only copy of the User row."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext
from flask_login import LoginManager, UserMixin, current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from werkzeug.security import check_password_hash, generate_password_hash
from wtforms import HiddenField, PasswordField, StringField, SubmitField
from wtforms.validators import DataRequired, Length

from dashboard.db import get_db
from dashboard.i18n import SESSION_KEY as LANGUAGE_KEY
from huiying.models import User
from huiying.users import verify_password

bp = Blueprint("auth", __name__, url_prefix="/auth")

login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = lazy_gettext("请先登录。")
login_manager.localize_callback = str  # flashed into the session as a plain string
login_manager.login_message_category = "warning"
login_manager.session_protection = "strong"

LOGIN_FAILED = lazy_gettext("用户名或密码错误")


# Checked when the user does not exist, so both failures take as long (no name probing).
@cache
def _dummy_hash() -> str:
    return generate_password_hash("not-a-password")


@dataclass(frozen=True)
class Account(UserMixin):
    """What the views need of the current user; detached from any database session."""

    id: int
    username: str
    role: str
    department_id: int | None
    department_name: str | None

    @classmethod
    def from_user(cls, user: User) -> Account:
        return cls(user.id, user.username, user.role, user.department_id,
                   user.department.name if user.department else None)


@login_manager.user_loader
def load_user(user_id: str) -> Account | None:
    if not user_id.isdigit():
        return None
    user = get_db().get(User, int(user_id))
    if user is None or not user.active:  # a disabled account loses its open sessions too
        return None
    return Account.from_user(user)


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
        user = db.scalar(select(User).where(User.username == form.username.data.strip()))
        if user is None:
            check_password_hash(_dummy_hash(), form.password.data)
        elif verify_password(user, form.password.data):
            _clear_session()  # no state from before the login survives it
            login_user(Account.from_user(user))
            return redirect(safe_next(form.next.data) or url_for("index"))
        flash(str(LOGIN_FAILED), "danger")
    elif request.method == "POST":
        flash(str(LOGIN_FAILED), "danger")
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    logout_user()
    _clear_session()
    flash(_("您已退出登录。"), "info")
    return redirect(url_for("auth.login"))
