"""The 办理 panel of a case: one small form per workflow action, one POST route for them all.

The rules live in huiying/workflow.py; this module only turns forms into calls of it and its
refusals into a flashed sentence. CSRF is checked for every POST by CSRFProtect (400).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, current_app, flash, redirect, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext, pgettext
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload
from wtforms import DateTimeLocalField, IntegerField, SelectField, StringField, TextAreaField

from dashboard.db import get_db
from dashboard.i18n import N_, status_label
from dashboard.permissions import ACT_ON_CASES, allowed_actions, get_visible_case_or_404, require_roles
from huiying import disclosure, workflow
from huiying.models import Case, Department, User
from huiying.workflow import Action, WorkflowError

bp = Blueprint("workflow", __name__, url_prefix="/cases")

TEXT_LIMIT = 5000
LOW_HOURS, HIGH_HOURS = workflow.EXTENSION_HOURS


class AssignForm(FlaskForm):
    department = SelectField(lazy_gettext("承办科室"), coerce=int, validate_choice=False)
    note = StringField(lazy_gettext("派单说明（可选）"), render_kw={"maxlength": 500})


class AcceptForm(FlaskForm):
    pass


class ExtendForm(FlaskForm):
    hours = IntegerField(lazy_gettext("延期小时数"), default=24,
                         render_kw={"min": LOW_HOURS, "max": HIGH_HOURS})
    note = StringField(lazy_gettext("说明（可选）"), render_kw={"maxlength": 500})


class FollowUpForm(FlaskForm):
    text = TextAreaField(lazy_gettext("回访情况"),
                         render_kw={"rows": 3, "maxlength": TEXT_LIMIT, "required": True})
    # Choices are set per request in _form (the words of workflow.SATISFACTION, translated).
    satisfaction = SelectField(lazy_gettext("群众评价"), validate_choice=False)


class MergeForm(FlaskForm):
    into = IntegerField(lazy_gettext("并入案件编号"), render_kw={"min": 1})


class DueForm(FlaskForm):
    # Local time of the installation (HUIYING_TIMEZONE), as every time on the screens.
    due_at = DateTimeLocalField(lazy_gettext("新的办理时限"), format="%Y-%m-%dT%H:%M",
                                render_kw={"required": True})
    reason = StringField(lazy_gettext("调整理由"), render_kw={"maxlength": 500, "required": True})


class CorrectionReceivedForm(FlaskForm):
    received_at = DateTimeLocalField(lazy_gettext("收到补正的时间（不填为现在）"), format="%Y-%m-%dT%H:%M")


class AnswerForm(FlaskForm):
    # Choices: table 三's result rows (huiying/disclosure.py), set per request in _form.
    result = SelectField(lazy_gettext("办理结果"), validate_choice=False)
    note = StringField(lazy_gettext("答复说明（可选）"), render_kw={"maxlength": 500})


def _text_form(label: str, *, required: bool = True) -> type[FlaskForm]:
    """A form of one text area; `required` only sets the browser hint, the core checks."""
    attributes = {"rows": 3, "maxlength": TEXT_LIMIT, **({"required": True} if required else {})}
    return type("TextForm", (FlaskForm,), {"text": TextAreaField(lazy_gettext(label), render_kw=attributes)})


def _text(form: Any) -> str:
    return (form.text.data or "")[:TEXT_LIMIT]


def _timezone() -> str:
    return current_app.config["TIMEZONE"]


def _assign(db: Session, case: Case, actor: User, form: Any) -> None:
    chosen = db.get(Department, form.department.data) if form.department.data else None
    workflow.assign(db, case, actor, chosen, note=form.note.data or "", tz=_timezone())


def local_time(local: datetime | None) -> datetime | None:
    """A datetime-local field's naive local time in the installation's zone; None (missing or
    not a date and time) stays None."""
    return local.replace(tzinfo=ZoneInfo(_timezone())) if local else None


def _set_due(db: Session, case: Case, actor: User, form: Any) -> None:
    workflow.set_due(db, case, actor, local_time(form.due_at.data), (form.reason.data or "")[:500])


def _correction_received(db: Session, case: Case, actor: User, form: Any) -> None:
    workflow.correction_received(db, case, actor, local_time(form.received_at.data), tz=_timezone())


def _extend_disclosure(db: Session, case: Case, actor: User, form: Any) -> None:
    workflow.extend_disclosure(db, case, actor, _text(form), tz=_timezone())


def _answer_disclosure(db: Session, case: Case, actor: User, form: Any) -> None:
    workflow.answer_disclosure(db, case, actor, form.result.data or "", form.note.data or "")


@dataclass(frozen=True)
class Panel:
    """One action in the panel: its form and success message (a Chinese id); the buttons are
    labelled in the template (pgettext "button": the verbs, not the statuses)."""

    form: type[FlaskForm]
    done: str
    run: Callable[[Session, Case, User, Any], Any]
    style: str = "btn-primary"


PANELS: dict[Action, Panel] = {
    Action.ASSIGN: Panel(AssignForm, N_("已派单。"), _assign),
    Action.ACCEPT: Panel(AcceptForm, N_("已签收。"),
                         lambda db, case, actor, form: workflow.accept(db, case, actor)),
    Action.REPLY: Panel(_text_form(N_("回复内容")), N_("已回复。"),
                        lambda db, case, actor, form: workflow.reply(db, case, actor, _text(form))),
    Action.REQUEST_EXTENSION: Panel(
        _text_form(N_("延期理由")), N_("已提交延期申请，等待宣传办审批。"),
        lambda db, case, actor, form: workflow.request_extension(db, case, actor, _text(form)),
        "btn-outline-secondary"),
    Action.RETURN: Panel(_text_form(N_("退回理由")), N_("已退回宣传办重新研判。"),
                         lambda db, case, actor, form: workflow.return_case(db, case, actor, _text(form)),
                         "btn-outline-danger"),
    Action.APPROVE_EXTENSION: Panel(
        ExtendForm, N_("已批准延期。"),
        lambda db, case, actor, form: workflow.approve_extension(
            db, case, actor, form.hours.data, note=form.note.data or "")),
    Action.REJECT_EXTENSION: Panel(
        _text_form(N_("驳回理由（可选）"), required=False), N_("已驳回延期申请。"),
        lambda db, case, actor, form: workflow.reject_extension(db, case, actor, _text(form)),
        "btn-outline-danger"),
    Action.FOLLOW_UP: Panel(FollowUpForm, N_("已记录回访。"),
                            lambda db, case, actor, form: workflow.follow_up(
                                db, case, actor, _text(form), satisfaction=form.satisfaction.data or None)),
    Action.CLOSE: Panel(_text_form(N_("办结说明（可选）"), required=False), N_("已办结。"),
                        lambda db, case, actor, form: workflow.close(db, case, actor, _text(form))),
    Action.REJECT: Panel(_text_form(N_("不予处理理由")), N_("已标记为不予处理。"),
                         lambda db, case, actor, form: workflow.reject(db, case, actor, _text(form)),
                         "btn-outline-danger"),
    Action.MERGE: Panel(MergeForm, N_("已并入另一案件。"),
                        lambda db, case, actor, form: workflow.merge(db, case, actor, form.into.data),
                        "btn-outline-secondary"),
    Action.SET_DUE: Panel(DueForm, N_("已调整办理时限。"), _set_due, "btn-outline-secondary"),
    Action.ASK_CORRECTION: Panel(
        _text_form(N_("需要补正的内容")), N_("已告知申请人补正，答复期限暂停计算。"),
        lambda db, case, actor, form: workflow.ask_correction(db, case, actor, _text(form)),
        "btn-outline-secondary"),
    Action.CORRECTION_RECEIVED: Panel(CorrectionReceivedForm, N_("已收到补正，答复期限重新计算。"),
                                      _correction_received),
    Action.EXTEND_DISCLOSURE: Panel(_text_form(N_("延长答复期限的理由")), N_("已延长答复期限 20 个工作日。"),
                                    _extend_disclosure, "btn-outline-secondary"),
    Action.ANSWER_DISCLOSURE: Panel(AnswerForm, N_("已答复申请并办结。"), _answer_disclosure),
}


def _form(db: Session, case: Case, action: Action) -> FlaskForm:
    form = PANELS[action].form(prefix=str(action))
    if action == Action.ASSIGN:
        names = db.execute(select(Department.id, Department.name).order_by(Department.id)).all()
        form.department.choices = [(0, _("请选择"))] + [(i, n) for i, n in names if i != case.department_id]
    if action == Action.ANSWER_DISCLOSURE:
        results = [(key, _(name)) for key, name in disclosure.RESULTS.items()]
        form.result.choices = [("", _("请选择")), *results]
    if action == Action.FOLLOW_UP:
        form.satisfaction.choices = [("", _("未表态")), ("满意", _("满意")), ("基本满意", _("基本满意")),
                                     ("不满意", _("不满意"))]
    return form


def action_forms(db: Session, case: Case, user: Any) -> list[tuple[Action, Panel, FlaskForm]]:
    """The forms of the actions `user` may take on `case` now (none for a leader)."""
    return [(action, PANELS[action], _form(db, case, action)) for action in allowed_actions(case, user)]


def error_message(exc: WorkflowError) -> str:
    """The refusal in the UI language."""
    params = dict(exc.params)
    status, action = params.get("status"), params.get("action")
    if status:
        params["status"] = status_label(status)
    if action:
        params["action"] = pgettext("button", action)
    return _(exc.template, **params)


@bp.post("/<int:case_id>/act/<action>")
@require_roles(*ACT_ON_CASES)
def act(case_id: int, action: str):
    if action not in set(Action):
        abort(404)
    action = Action(action)
    db = get_db()
    case = get_visible_case_or_404(db, case_id, current_user, selectinload(Case.events))
    panel = PANELS[action]
    # Values that do not parse (hours, case ids) arrive as None: the core says what is wrong.
    form = _form(db, case, action)
    back = url_for("cases.detail", case_id=case.id)
    try:
        panel.run(db, case, db.get(User, current_user.id), form)
    except WorkflowError as exc:
        db.rollback()
        flash(error_message(exc), "danger")
        return redirect(back)
    db.commit()
    flash(_(panel.done), "success")
    return redirect(back)
