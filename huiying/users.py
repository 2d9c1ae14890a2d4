"""Accounts: hashed passwords, roles, API tokens (only their hash is stored)."""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from huiying.errors import InputError
from huiying.models import Department, Role, User

MIN_PASSWORD = 10
# werkzeug's scrypt at its default work factor (n=2**15, r=8, p=1), about 0.2 s of a core per
# hash. Each stored hash names its own method, so checking never depends on this value; the
# test suite lowers it for the passwords it creates (tests/conftest.py).
HASH_METHOD = "scrypt"


def hash_password(password: str) -> str:
    return generate_password_hash(password, method=HASH_METHOD)


def create_user(session: Session, username: str, password: str, role: str,
                department: str | None = None, email: str | None = None) -> User:
    if role not in set(Role):
        raise InputError(f"role {role!r} is unknown; use one of {', '.join(r.value for r in Role)}.")
    if len(password) < MIN_PASSWORD:
        raise InputError(f"the password must have at least {MIN_PASSWORD} characters.")
    if session.scalar(select(User).where(User.username == username)):
        raise InputError(f"a user named {username!r} exists already.")
    department_row = None
    if role == Role.DEPARTMENT:
        if not department:
            raise InputError("a department user needs --department NAME.")
        department_row = session.scalar(select(Department).where(Department.name == department))
        if department_row is None:
            names = ", ".join(session.scalars(select(Department.name)))
            raise InputError(f"no department named {department!r}; known: {names}.")
    user = User(username=username, password_hash=hash_password(password), role=role,
                department=department_row, email=email)
    session.add(user)
    session.flush()
    return user


def verify_password(user: User, password: str) -> bool:
    return user.active and check_password_hash(user.password_hash, password)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_api_token(session: Session, username: str) -> str:
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise InputError(f"no user named {username!r}.")
    token = secrets.token_urlsafe(32)
    user.api_token_hash = hash_token(token)
    return token


def ensure_admin(session: Session, password: str | None) -> str | None:
    """Create the first admin; return the generated password (to print once), if any."""
    if session.scalar(select(User.id).where(User.role == Role.ADMIN).limit(1)) is not None:
        return None
    generated = None
    if not password:
        generated = password = secrets.token_urlsafe(12)
    create_user(session, "admin", password, Role.ADMIN)
    return generated
