"""The audit log of administrative changes: one function writes it, in the caller's transaction.

An audit event is added to the same session as the change it describes, so both are
committed together or neither is: the log cannot claim a change that did not happen, nor
miss one that did.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, joinedload

from huiying.models import AuditEvent

PER_PAGE = 50


def record(session: Session, actor_id: int | None, action: str, target_kind: str,
           target_id: int | str | None, summary: str, data: dict[str, Any] | None = None) -> AuditEvent:
    """Add one audit event (committed with the caller's change). `data` must hold no secret."""
    event = AuditEvent(actor_id=actor_id, action=action, target_kind=target_kind,
                       target_id=None if target_id is None else str(target_id),
                       summary=summary, data=data or {})
    session.add(event)
    return event


def kinds(session: Session) -> list[str]:
    """The target kinds the log holds, for a filter."""
    return list(session.scalars(select(AuditEvent.target_kind).distinct().order_by(AuditEvent.target_kind)))


def page_of_events(session: Session, page: int, kind: str | None = None,
                   per_page: int = PER_PAGE) -> tuple[list[AuditEvent], int, int]:
    """One page of events, newest first; the page shown (clamped) and the number of pages."""
    query: Select = select(AuditEvent)
    if kind:
        query = query.where(AuditEvent.target_kind == kind)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    pages = max(1, -(-total // per_page))
    page = min(max(1, page), pages)
    rows = session.scalars(query.options(joinedload(AuditEvent.actor))
                           .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
                           .limit(per_page).offset((page - 1) * per_page)).all()
    return list(rows), page, pages
