"""Who may see what — the only place where roles are checked.

Department users see the cases assigned to their department; admin, press office and
leaders see all. A case one may not see is reported as missing (404), never as forbidden.
Only the admin edits the topic taxonomy, accounts, departments, routing rules, sources and the
working-day calendar, reads the audit log and enters the annual report's figures that no case
records (press conferences, tables 二 to 四); admin and press office correct the analysis; only
the press office reads personal data in clear (pages, exports, the API); admin,
press office and leaders read the reports and the overview (the whole bureau's figures); a
department user's home page shows its own department's cases and figures only.
Acting on a case (the 办理 panel) follows huiying/workflow.py's rules table: leaders act on
nothing, department users only on their own department's cases.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import Flask, abort
from flask_login import current_user, login_required
from sqlalchemy import Select, false, select
from sqlalchemy.orm import Session

from huiying import workflow
from huiying.models import Case, Role

ALL_ROLES = tuple(Role)
SEE_ALL_CASES = {Role.ADMIN, Role.PRESS, Role.LEADER}
MANAGE_TOPICS = (Role.ADMIN,)
ADMINISTER = (Role.ADMIN,)  # accounts, departments, routing rules, sources, the audit log
MANAGE_CALENDAR = (Role.ADMIN,)  # the working-day calendar every clock counts on
CORRECT_ANALYSIS = (Role.ADMIN, Role.PRESS)
ACT_ON_CASES = (Role.ADMIN, Role.PRESS, Role.DEPARTMENT)
REGISTER_DISCLOSURE = (Role.ADMIN, Role.PRESS)  # 依申请公开 requests (huiying.workflow's rule)
READ_REPORTS = (Role.ADMIN, Role.PRESS, Role.LEADER)  # the whole bureau's figures
BUREAU_OVERVIEW = (Role.ADMIN, Role.PRESS, Role.LEADER)  # `/`: 舆情态势, else one's department
ENTER_ANNUAL_INPUTS = (Role.ADMIN,)
# The 通知 page: every role, each user their own in-app notifications only (the queries name
# the user: dashboard/notifications.py, huiying/notify/channels/inapp.py).
SEE_OWN_NOTIFICATIONS = ALL_ROLES  # the annual report's cells only a person knows
# Phone and ID numbers, email addresses and authors' names in clear: the press office calls
# the public back. Everyone else (the IT admin, leaders, departments) reads them masked, and
# emails are always masked since they leave the system.
SEE_PERSONAL_DATA = (Role.PRESS,)

F = TypeVar("F", bound=Callable[..., Any])


def require_roles(*roles: str) -> Callable[[F], F]:
    """Log in first (redirect to the login page), then 403 unless the role is one of `roles`."""
    allowed = set(roles)

    def decorator(view: F) -> F:
        @wraps(view)
        @login_required
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if current_user.role not in allowed:
                abort(403)
            return view(*args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorator


def visible_cases(query: Select, user: Any) -> Select:
    """Restrict a query over Case to the cases `user` may see."""
    if user.role in SEE_ALL_CASES:
        return query
    if user.role == Role.DEPARTMENT and user.department_id is not None:
        return query.where(Case.department_id == user.department_id)
    return query.where(false())  # unknown role or department missing: nothing


def can_see_all_departments(user: Any) -> bool:
    return user.role in SEE_ALL_CASES


def get_visible_case_or_404(session: Session, case_id: int, user: Any, *options: Any) -> Case:
    query = visible_cases(select(Case).where(Case.id == case_id), user).options(*options)
    case = session.scalar(query)
    if case is None:
        abort(404)
    return case


def can_manage_topics(user: Any) -> bool:
    return user.is_authenticated and user.role in MANAGE_TOPICS


def can_administer(user: Any) -> bool:
    return user.is_authenticated and user.role in ADMINISTER


def can_manage_calendar(user: Any) -> bool:
    return user.is_authenticated and user.role in MANAGE_CALENDAR


def can_correct(user: Any) -> bool:
    return user.is_authenticated and user.role in CORRECT_ANALYSIS


def can_read_reports(user: Any) -> bool:
    return user.is_authenticated and user.role in READ_REPORTS


def sees_bureau_overview(user: Any) -> bool:
    """The home page with the whole bureau's figures; otherwise one's own department's."""
    return user.is_authenticated and user.role in BUREAU_OVERVIEW


NO_DEPARTMENT_ID = -1  # matches no department: a department user without one sees nothing


def figures_department(user: Any) -> int | None:
    """Whose cases and figures `user`'s home page counts: None for the whole bureau's, else
    their own department's id."""
    if sees_bureau_overview(user):
        return None
    if user.role == Role.DEPARTMENT and user.department_id is not None:
        return user.department_id
    return NO_DEPARTMENT_ID


def can_see_personal_data(user: Any) -> bool:
    return user.is_authenticated and user.role in SEE_PERSONAL_DATA


def can_register_disclosure(user: Any) -> bool:
    return user.is_authenticated and user.role in REGISTER_DISCLOSURE


def can_enter_annual_inputs(user: Any) -> bool:
    return user.is_authenticated and user.role in ENTER_ANNUAL_INPUTS


def allowed_actions(case: Case, user: Any) -> list[workflow.Action]:
    """The workflow actions `user` may take on `case` (which they can see) now."""
    if not user.is_authenticated or user.role not in ACT_ON_CASES:
        return []
    return workflow.available_actions(case, user)


def role_may(user: Any, action: workflow.Action) -> bool:
    """Whether `user`'s role may take `action` on some case (the bulk bar offers those);
    each case's own state and department are checked again when the action is taken."""
    if not user.is_authenticated or user.role not in ACT_ON_CASES:
        return False
    return user.role == Role.ADMIN or user.role in workflow.RULES[action].roles


def init_app(app: Flask) -> None:
    """Templates ask these questions instead of comparing roles themselves."""
    app.jinja_env.globals.update(can_manage_topics=can_manage_topics, can_correct=can_correct,
                                 can_manage_calendar=can_manage_calendar,
                                 can_read_reports=can_read_reports, can_administer=can_administer,
                                 sees_bureau_overview=sees_bureau_overview,
                                 can_enter_annual_inputs=can_enter_annual_inputs,
                                 can_register_disclosure=can_register_disclosure)
