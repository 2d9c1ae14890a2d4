"""Helpers of the admin screen tests: forms posted the way a browser posts them."""

from __future__ import annotations

from sqlalchemy import select

from huiying.models import AuditEvent

from .conftest import csrf_token


def post_form(client, url, page_url=None, **fields):
    """POST `fields` to `url` with the CSRF token of `page_url` (default: `url` itself)."""
    data = {"csrf_token": csrf_token(client.get(page_url or url).text), **fields}
    return client.post(url, data=data)


def audit_events(db, kind=None):
    db.expire_all()
    query = select(AuditEvent).order_by(AuditEvent.id)
    if kind:
        query = query.where(AuditEvent.target_kind == kind)
    return list(db.scalars(query))
