"""Bulk actions on the case list: 派单, 不予处理, 办结 for the ticked cases in one POST.

Each case goes through huiying/workflow.py's function of the action, with its rules, and is
committed on its own: one refused case does not hold back the others. The result page says,
per case, what was done or why it was refused (the workflow's sentence, in the UI language).
CSRF is checked by CSRFProtect like every other POST.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext, pgettext
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload
from wtforms import HiddenField, SelectField, StringField

from dashboard.auth import safe_next
from dashboard.case_query import ID_DIGITS
from dashboard.db import get_db
from dashboard.permissions import ACT_ON_CASES, require_roles, role_may, visible_cases
from dashboard.workflow import error_message
from huiying import workflow
from huiying.models import Case, Department, User
from huiying.workflow import Action, WorkflowError

bp = Blueprint("bulk", __name__, url_prefix="/cases")

BULK_ACTIONS = (Action.ASSIGN, Action.REJECT, Action.CLOSE)
MAX_CASES = 100  # four pages of the list; more at once is a mistake more often than not
TEXT_LIMIT = 500


class BulkForm(FlaskForm):
    action = SelectField(lazy_gettext("批量操作"))
    department = SelectField(lazy_gettext("承办科室"), coerce=int, validate_choice=False)
    text = StringField(lazy_gettext("理由或说明"), render_kw={"maxlength": TEXT_LIMIT})
    back = HiddenField()


def bulk_form(db: Session, user: Any) -> BulkForm | None:
    """The bulk bar for `user`, with the actions their role may take; None when there are none."""
    actions = [action for action in BULK_ACTIONS if role_may(user, action)]
    if not actions:
        return None
    form = BulkForm()
    form.action.choices = [(str(a), pgettext("button", workflow.ACTION_NAMES[a])) for a in actions]
    names = db.execute(select(Department.id, Department.name).order_by(Department.id)).all()
    form.department.choices = [(0, _("请选择"))] + [(i, n) for i, n in names]
    return form


@dataclass(frozen=True)
class Outcome:
    case_id: int
    title: str | None  # None: no such case, or not one the user may see
    done: bool
    message: str


def _run(db: Session, case: Case, actor: User, action: Action, department: Department | None,
         text: str) -> None:
    if action == Action.ASSIGN:
        workflow.assign(db, case, actor, department, note=text)
    elif action == Action.REJECT:
        workflow.reject(db, case, actor, text)
    else:
        workflow.close(db, case, actor, text)


def _case_ids() -> list[int]:
    ids = []
    for value in request.form.getlist("case"):
        if value.isdigit() and len(value) <= ID_DIGITS and int(value) not in ids:
            ids.append(int(value))
    return ids


@bp.post("/bulk")
@require_roles(*ACT_ON_CASES)
def run():
    db = get_db()
    form = bulk_form(db, current_user)
    back = safe_next(request.form.get("back")) or url_for("cases.index")
    if form is None or not form.validate_on_submit():
        flash(_("请选择一项批量操作。"), "danger")
        return redirect(back)
    action = Action(form.action.data)
    ids = _case_ids()
    text = (form.text.data or "").strip()[:TEXT_LIMIT]
    department = db.get(Department, form.department.data) if form.department.data else None
    problem = None
    if not ids:
        problem = _("请先勾选案件。")
    elif len(ids) > MAX_CASES:
        problem = _("一次最多处理 %(n)s 件案件。", n=MAX_CASES)
    elif action == Action.ASSIGN and department is None:
        problem = _("请选择承办科室。")
    elif action == Action.REJECT and not text:
        problem = _("不予处理须说明理由。")
    if problem:
        flash(problem, "danger")
        return redirect(back)

    if action == Action.ASSIGN:
        done_message = _("已派至%(department)s。", department=department.name)
    else:
        done_message = _("已标记为不予处理。") if action == Action.REJECT else _("已办结。")
    outcomes = []
    for case_id in ids:
        case = db.scalar(visible_cases(select(Case).where(Case.id == case_id), current_user)
                         .options(selectinload(Case.events), selectinload(Case.department)))
        if case is None:
            outcomes.append(Outcome(case_id, None, False, _("没有这件案件，或您无权查看。")))
            continue
        title = case.title
        try:
            _run(db, case, db.get(User, current_user.id), action, department, text)
        except WorkflowError as exc:
            db.rollback()
            outcomes.append(Outcome(case_id, title, False, error_message(exc)))
            continue
        db.commit()
        outcomes.append(Outcome(case_id, title, True, done_message))
    return render_template("cases/bulk_result.html", outcomes=outcomes, back=back,
                           action=pgettext("button", workflow.ACTION_NAMES[action]),
                           done=sum(o.done for o in outcomes))
