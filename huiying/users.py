"""Accounts: hashed passwords, roles, API tokens (only their hash is stored).

Every change to an account goes through a function here and is written to the audit log in
the same transaction. Rules a change must keep raise AccountError: its `code` lets the
dashboard say the same thing in the user's language; its message is English for the CLI.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from huiying.audit import record
from huiying.errors import ChangeRefused
from huiying.models import Department, Role, User

MIN_PASSWORD = 10
MAX_PASSWORD = 200
# werkzeug's scrypt at its default work factor (n=2**15, r=8, p=1), about 0.2 s of a core per
# hash. Each stored hash names its own method, so checking never depends on this value; the
# test suite lowers it for the passwords it creates (tests/conftest.py).
HASH_METHOD = "scrypt"
# Letters (Chinese too), digits and . _ @ -: a name that survives a URL and an email line.
USERNAME = re.compile(r"^[\w.@-]{1,80}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# Per account, on top of the per-address limit of the login page: after LOCK_AFTER wrong
# passwords in a row the account refuses every password for LOCK_MINUTES. A successful login
# or a password reset starts the count again.
LOCK_AFTER = 5
LOCK_MINUTES = 15


def hash_password(password: str) -> str:
    return generate_password_hash(password, method=HASH_METHOD)


class AccountError(ChangeRefused):
    """A change to an account that the rules refuse."""


def check_password_rule(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise AccountError("password_short",
                           f"the password must have at least {MIN_PASSWORD} characters.")
    if len(password) > MAX_PASSWORD:
        raise AccountError("password_long",
                           f"the password must have at most {MAX_PASSWORD} characters.")


def clean_email(email: str | None) -> str | None:
    email = (email or "").strip()
    if not email:
        return None
    if not EMAIL.match(email) or len(email) > 200:
        raise AccountError("email_invalid", f"{email!r} is not an email address.")
    return email


def _department_for(session: Session, role: str, department: str | None) -> Department | None:
    """The department row a role needs (department users only), by name."""
    if role not in set(Role):
        raise AccountError("role_unknown",
                           f"role {role!r} is unknown; use one of {', '.join(r.value for r in Role)}.")
    if role != Role.DEPARTMENT:
        return None
    if not department:
        raise AccountError("department_needed", "a department user needs --department NAME.")
    row = session.scalar(select(Department).where(Department.name == department))
    if row is None:
        names = ", ".join(session.scalars(select(Department.name)))
        raise AccountError("department_unknown", f"no department named {department!r}; known: {names}.")
    return row


def create_user(session: Session, username: str, password: str, role: str,
                department: str | None = None, email: str | None = None, *,
                actor_id: int | None = None) -> User:
    username = username.strip()
    if not USERNAME.match(username):
        raise AccountError("username_invalid", f"the user name {username!r} may only have letters, "
                           "digits and . _ @ - (at most 80).")
    check_password_rule(password)
    if session.scalar(select(User).where(User.username == username)):
        raise AccountError("username_taken", f"a user named {username!r} exists already.")
    department_row = _department_for(session, role, department)
    user = User(username=username, password_hash=hash_password(password), role=role,
                department=department_row, email=clean_email(email))
    session.add(user)
    session.flush()
    record(session, actor_id, "user.add", "user", user.id, f"新增账号 {username}（{role}）",
           {"username": username, "role": role, "department": department_row and department_row.name,
            "email": user.email})
    return user


def get_user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise AccountError("no_user", f"no user with id {user_id}.")
    return user


def _user_named(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise AccountError("no_user", f"no user named {username!r}.")
    return user


def _other_active_admins(session: Session, user: User) -> int:
    return session.scalar(select(func.count(User.id)).where(
        User.role == Role.ADMIN, User.active.is_(True), User.id != user.id)) or 0


def _keep_an_admin(session: Session, user: User, actor_id: int | None) -> None:
    """Refuse a change that takes `user` out of the active admins if nobody would be left,
    or if the admin making it is `user` (one cannot lock oneself out)."""
    if user.role != Role.ADMIN or not user.active:
        return
    if actor_id is not None and actor_id == user.id:
        raise AccountError("self_lockout", "you cannot disable your own account or take away "
                           "your own admin role; ask another administrator.")
    if _other_active_admins(session, user) == 0:
        raise AccountError("last_admin", f"{user.username!r} is the last active administrator; "
                           "make another administrator first.")


def update_user(session: Session, user_id: int, *, role: str, department: str | None,
                email: str | None, actor_id: int | None = None) -> User:
    """Change an account's role, department and email."""
    user = get_user(session, user_id)
    department_row = _department_for(session, role, department)
    email = clean_email(email)
    if role != Role.ADMIN:
        _keep_an_admin(session, user, actor_id)
    before = {"role": user.role, "department": user.department.name if user.department else None,
              "email": user.email}
    user.role, user.department, user.email = role, department_row, email
    after = {"role": role, "department": department_row and department_row.name, "email": email}
    changed = {k: [before[k], after[k]] for k in before if before[k] != after[k]}
    if changed:
        record(session, actor_id, "user.edit", "user", user.id,
               f"修改账号 {user.username}：{'、'.join(changed)}", changed)
    session.flush()
    return user


def set_active(session: Session, user_id: int, active: bool, *, actor_id: int | None = None) -> User:
    """Disable (the account can no longer log in, its sessions end) or enable an account."""
    user = get_user(session, user_id)
    if user.active == active:
        return user
    if not active:
        _keep_an_admin(session, user, actor_id)
    user.active = active
    record(session, actor_id, "user.enable" if active else "user.disable", "user", user.id,
           f"{'启用' if active else '停用'}账号 {user.username}")
    session.flush()
    return user


def generate_password() -> str:
    """A random password to hand over once: 16 URL-safe characters."""
    return secrets.token_urlsafe(12)


def reset_password(session: Session, user_id: int, password: str, *,
                   actor_id: int | None = None) -> User:
    """An administrator sets a new password (the user's open sessions end)."""
    user = get_user(session, user_id)
    check_password_rule(password)
    user.password_hash = hash_password(password)
    user.failed_logins = 0  # a reset also lifts a lockout
    user.locked_until = None
    record(session, actor_id, "user.reset_password", "user", user.id, f"重置账号 {user.username} 的密码")
    session.flush()
    return user


def set_password_by_name(session: Session, username: str, password: str) -> User:
    """`huiying users passwd NAME`: set a password from the server's command line."""
    user = _user_named(session, username)
    return reset_password(session, user.id, password)


def change_own_password(session: Session, user_id: int, current: str, new: str) -> User:
    """A user changes their own password; the current one is required."""
    user = get_user(session, user_id)
    if not verify_password(user, current):
        raise AccountError("wrong_password", "the current password is wrong.")
    check_password_rule(new)
    if check_password_hash(user.password_hash, new):
        raise AccountError("password_same", "the new password is the same as the current one.")
    user.password_hash = hash_password(new)
    record(session, user.id, "user.change_password", "user", user.id, f"{user.username} 修改了自己的密码")
    session.flush()
    return user


def session_key(user: User) -> str:
    """Changes whenever the password or the session version does (logout): a session made
    before stops working, wherever a copy of its cookie is."""
    material = f"{user.password_hash}:{user.session_version or 0}"
    return hashlib.sha256(material.encode()).hexdigest()[:16]


def end_sessions(session: Session, user_id: int) -> None:
    """Logout: every session of the account ends, on every device (SQL increment, so two
    logouts at once both count)."""
    session.execute(update(User).where(User.id == user_id)
                    .values(session_version=func.coalesce(User.session_version, 0) + 1))


@dataclass(frozen=True)
class Login:
    """What a login attempt came to: the user, or why not (locked_until set while locked)."""

    user: User | None
    locked_until: datetime | None = None


# Checked when the user does not exist, so both failures take as long (no name probing).
@cache
def _dummy_hash() -> str:
    return hash_password("not-a-password")


def attempt_login(session: Session, username: str, password: str, now: datetime) -> Login:
    """Check a password and keep the account's count of failures; the caller commits."""
    user = session.scalar(select(User).where(User.username == username.strip()))
    if user is None:
        check_password_hash(_dummy_hash(), password)
        return Login(None)
    if user.locked_until is not None and user.locked_until > now:
        return Login(None, user.locked_until)  # not counted: the lock runs from the 5th failure
    if verify_password(user, password):
        if user.failed_logins or user.locked_until:
            user.failed_logins, user.locked_until = 0, None
        return Login(user)
    failures = session.scalar(
        update(User).where(User.id == user.id)
        .values(failed_logins=func.coalesce(User.failed_logins, 0) + 1)
        .returning(User.failed_logins))
    if failures >= LOCK_AFTER:
        locked_until = now + timedelta(minutes=LOCK_MINUTES)
        session.execute(update(User).where(User.id == user.id)
                        .values(failed_logins=0, locked_until=locked_until))
        record(session, None, "user.locked", "user", user.id,
               f"账号 {user.username} 连续 {LOCK_AFTER} 次密码错误，锁定 {LOCK_MINUTES} 分钟")
        return Login(None, locked_until)
    return Login(None)


def verify_password(user: User, password: str) -> bool:
    return user.active and check_password_hash(user.password_hash, password)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_api_token(session: Session, username: str) -> str:
    """A new token for the API; it replaces the user's old one, which stops working."""
    user = _user_named(session, username)
    token = secrets.token_urlsafe(32)
    user.api_token_hash = hash_token(token)
    record(session, None, "user.token", "user", user.id, f"为账号 {username} 生成新的 API 令牌")
    return token


def revoke_api_token(session: Session, username: str) -> bool:
    """The user's token stops working; False if there was none."""
    user = _user_named(session, username)
    had = user.api_token_hash is not None
    user.api_token_hash = None
    if had:
        record(session, None, "user.token_revoked", "user", user.id, f"撤销账号 {username} 的 API 令牌")
    return had


def ensure_admin(session: Session, password: str | None) -> str | None:
    """Create the first admin; return the generated password (to print once), if any."""
    if session.scalar(select(User.id).where(User.role == Role.ADMIN).limit(1)) is not None:
        return None
    generated = None
    if not password:
        generated = password = generate_password()
    create_user(session, "admin", password, Role.ADMIN)
    return generated
