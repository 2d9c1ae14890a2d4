"""Case list with filters, and one case with its comments and history."""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, current_app, render_template, request
from flask_login import current_user
from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import selectinload

from dashboard.db import get_db
from dashboard.permissions import (
    ALL_ROLES,
    can_see_all_departments,
    get_visible_case_or_404,
    require_roles,
    visible_cases,
)
from huiying.models import Case, CaseEvent, CaseStatus, Comment, Department, Severity, utcnow

bp = Blueprint("cases", __name__, url_prefix="/cases")

# Once answered (or set aside), a case can no longer be late.
DONE_STATUSES = {CaseStatus.REPLIED, CaseStatus.FOLLOWED_UP, CaseStatus.CLOSED,
                 CaseStatus.REJECTED, CaseStatus.MERGED}
NO_DEPARTMENT = "none"


def is_overdue(case: Case, now: datetime) -> bool:
    return case.due_at is not None and case.due_at < now and case.status not in DONE_STATUSES


def _filters() -> dict[str, str]:
    """The valid GET filters; anything unknown is ignored rather than an error."""
    args = request.args
    chosen: dict[str, str] = {}
    if args.get("status") in set(CaseStatus):
        chosen["status"] = args["status"]
    if args.get("severity") in set(Severity):
        chosen["severity"] = args["severity"]
    department = args.get("department", "")
    if can_see_all_departments(current_user) and (department.isdigit() or department == NO_DEPARTMENT):
        chosen["department"] = department
    keyword = args.get("q", "").strip()[:100]
    if keyword:
        chosen["q"] = keyword
    return chosen


def _apply(query: Select, chosen: dict[str, str], *, with_status: bool = True) -> Select:
    query = visible_cases(query, current_user)
    if with_status and "status" in chosen:
        query = query.where(Case.status == chosen["status"])
    if "severity" in chosen:
        query = query.where(Case.severity == chosen["severity"])
    if chosen.get("department") == NO_DEPARTMENT:
        query = query.where(Case.department_id.is_(None))
    elif "department" in chosen:
        query = query.where(Case.department_id == int(chosen["department"]))
    if "q" in chosen:
        keyword = chosen["q"]
        query = query.where(or_(Case.title.contains(keyword, autoescape=True),
                                Case.summary.contains(keyword, autoescape=True)))
    return query


@bp.get("/")
@require_roles(*ALL_ROLES)
def index():
    db = get_db()
    chosen = _filters()
    per_page = current_app.config["CASES_PER_PAGE"]
    page = request.args.get("page", "1")
    page = max(1, int(page)) if page.isdigit() else 1

    total = db.scalar(_apply(select(func.count(Case.id)), chosen)) or 0
    pages = max(1, -(-total // per_page))
    page = min(page, pages)
    rows = db.scalars(
        _apply(select(Case), chosen)
        .options(selectinload(Case.department))
        .order_by(Case.first_seen_at.desc(), Case.id.desc())
        .limit(per_page).offset((page - 1) * per_page)
    ).all()
    counts = dict(db.execute(
        _apply(select(Case.status, func.count(Case.id)), chosen, with_status=False)
        .group_by(Case.status)
    ).all())
    departments = (db.scalars(select(Department).order_by(Department.id)).all()
                   if can_see_all_departments(current_user) else [])
    now = utcnow()
    return render_template(
        "cases/list.html", cases=rows, total=total, page=page, pages=pages, chosen=chosen,
        counts=counts, statuses=list(CaseStatus), severities=list(Severity),
        departments=departments, no_department=NO_DEPARTMENT,
        overdue={case.id for case in rows if is_overdue(case, now)},
    )


@bp.get("/<int:case_id>")
@require_roles(*ALL_ROLES)
def detail(case_id: int):
    db = get_db()
    case = get_visible_case_or_404(
        db, case_id, current_user,
        selectinload(Case.department),
        selectinload(Case.comments).selectinload(Comment.source),
        selectinload(Case.events).selectinload(CaseEvent.actor),
    )
    return render_template("cases/detail.html", case=case, overdue=is_overdue(case, utcnow()))
