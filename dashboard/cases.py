"""Case list with filters, one case with its comments and history, and corrections of a
comment's analysis (stored as labels for training)."""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session, selectinload
from wtforms import SelectField, SubmitField

from dashboard.db import get_db
from dashboard.filters import SENTIMENT_LABELS
from dashboard.i18n import N_
from dashboard.permissions import (
    ALL_ROLES,
    CORRECT_ANALYSIS,
    can_correct,
    can_see_all_departments,
    get_visible_case_or_404,
    require_roles,
    visible_cases,
)
from dashboard.workflow import action_forms
from huiying.models import (
    Case,
    CaseEvent,
    CaseStatus,
    Comment,
    Department,
    Label,
    LabelField,
    Severity,
    Topic,
    utcnow,
)
from huiying.trends import hot_words_of_period
from huiying.workflow import pending_extension

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
    sees_all = can_see_all_departments(current_user)
    departments = db.scalars(select(Department).order_by(Department.id)).all() if sees_all else []
    # A department's to-do: cases sent to it and not yet accepted, whatever the filters.
    to_accept = db.scalar(visible_cases(select(func.count(Case.id)), current_user)
                          .where(Case.status == CaseStatus.ASSIGNED)) \
        if not sees_all else None
    now = utcnow()
    return render_template(
        "cases/list.html", cases=rows, total=total, page=page, pages=pages, chosen=chosen,
        counts=counts, statuses=list(CaseStatus), severities=list(Severity),
        departments=departments, no_department=NO_DEPARTMENT, to_accept=to_accept,
        overdue={case.id for case in rows if is_overdue(case, now)},
        # Words of everybody's comments: only for those who see every case.
        hot_words=_hot_words(db, now) if sees_all else [],
    )


HOT_WORDS_DAYS = 7
HOT_WORDS_SHOWN = 10
HOT_WORDS_REFRESH = 600  # seconds: segmenting a week of comments is not per-request work
_hot_words_cache: dict[tuple[str, int], list[str]] = {}


def _hot_words(db: Session, now: datetime) -> list[str]:
    key = (current_app.config["DATABASE_URL"], int(now.timestamp()) // HOT_WORDS_REFRESH)
    if key in _hot_words_cache:
        return _hot_words_cache[key]
    words = [item["word"] for item in
             hot_words_of_period(db, now, days=HOT_WORDS_DAYS, top_k=HOT_WORDS_SHOWN)["words"]]
    # An empty result is not kept: right after the start (or a quiet week) the first comments
    # are analysed within a minute, and their words should show then, not ten minutes later.
    # Computing "nothing" is cheap, as there is little to segment.
    if words:
        _hot_words_cache.clear()
        _hot_words_cache[key] = words
    return words


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
    forms = {}
    if can_correct(current_user):
        names = _topic_names(db)
        forms = {c.id: correction_form(c, names) for c in case.comments}
    return render_template("cases/detail.html", case=case, overdue=is_overdue(case, utcnow()),
                           forms=forms, actions=action_forms(db, case, current_user),
                           pending_extension=pending_extension(case))


# --- corrections ---------------------------------------------------------------------------

# Case notes are written in Chinese whatever the UI language; the form shows translations.
RELEVANT_LABELS = {"true": N_("是"), "false": N_("否")}
NO_TOPIC = N_("无")
FIELD_NAMES = {LabelField.SENTIMENT: "情感", LabelField.TOPIC: "主题", LabelField.RELEVANT: "相关"}


class CorrectionForm(FlaskForm):
    sentiment = SelectField(lazy_gettext("情感"))
    topic = SelectField(lazy_gettext("主题"))
    relevant = SelectField(lazy_gettext("相关"))
    submit = SubmitField(lazy_gettext("保存纠正"))


def _shown(comment: Comment) -> dict[str, str]:
    """The comment's current values as the form's choice values."""
    relevant = "" if comment.relevant is None else ("true" if comment.relevant else "false")
    return {LabelField.SENTIMENT: comment.sentiment_label or "",
            LabelField.TOPIC: comment.topic or "", LabelField.RELEVANT: relevant}


def _display(field: str, value: str) -> str:
    if field == LabelField.SENTIMENT:
        return SENTIMENT_LABELS.get(value, "—")
    if field == LabelField.RELEVANT:
        return RELEVANT_LABELS.get(value, "—")
    return value or NO_TOPIC


def _topic_names(db: Session) -> list[str]:
    return list(db.scalars(select(Topic.name).where(Topic.enabled).order_by(Topic.id)))


def _choices(options: list[tuple[str, str]], current: str, shown: str) -> list[tuple[str, str]]:
    # A value that is no longer offered (a disabled topic, not yet analysed) stays selectable,
    # so saving another field does not silently change this one.
    return options if any(v == current for v, _ in options) else [(current, shown), *options]


def _translated(labels: dict[str, str]) -> list[tuple[str, str]]:
    return [(value, _(label)) for value, label in labels.items()]


def correction_form(comment: Comment, topic_names: list[str]) -> CorrectionForm:
    shown = _shown(comment)
    form = CorrectionForm(prefix=f"c{comment.id}", data=None if request.method == "POST" else {
        "sentiment": shown[LabelField.SENTIMENT], "topic": shown[LabelField.TOPIC],
        "relevant": shown[LabelField.RELEVANT]})
    form.sentiment.choices = _choices(_translated(SENTIMENT_LABELS), shown[LabelField.SENTIMENT], "—")
    form.topic.choices = _choices([("", _(NO_TOPIC)), *((n, n) for n in topic_names)],
                                  shown[LabelField.TOPIC], shown[LabelField.TOPIC])
    form.relevant.choices = _choices(_translated(RELEVANT_LABELS), shown[LabelField.RELEVANT], "—")
    return form


@bp.post("/<int:case_id>/comments/<int:comment_id>/correct")
@require_roles(*CORRECT_ANALYSIS)
def correct(case_id: int, comment_id: int):
    """Store what changed as Label rows, show the corrected values, record it on the case."""
    db = get_db()
    case = get_visible_case_or_404(db, case_id, current_user)
    comment = db.get(Comment, comment_id)
    if comment is None or comment.case_id != case.id:
        abort(404)
    back = url_for("cases.detail", case_id=case.id) + f"#comment-{comment.id}"
    form = correction_form(comment, _topic_names(db))
    if not form.validate_on_submit():
        flash(_("纠正未保存：请从下拉列表中选择。"), "danger")
        return redirect(back)
    before = _shown(comment)
    after = {LabelField.SENTIMENT: form.sentiment.data, LabelField.TOPIC: form.topic.data,
             LabelField.RELEVANT: form.relevant.data}
    changed = [field for field in FIELD_NAMES if after[field] != before[field]]
    if not changed:
        flash(_("没有改动。"), "info")
        return redirect(back)
    for field in changed:
        db.add(Label(comment_id=comment.id, field=field, value=after[field], user_id=current_user.id))
    comment.sentiment_label = after[LabelField.SENTIMENT] or comment.sentiment_label
    comment.topic = after[LabelField.TOPIC] or None
    if after[LabelField.RELEVANT]:
        comment.relevant = after[LabelField.RELEVANT] == "true"
    note = "；".join(f"{FIELD_NAMES[f]} {_display(f, before[f])}→{_display(f, after[f])}" for f in changed)
    db.add(CaseEvent(case=case, actor_id=current_user.id, action="correct",
                     note=f"人工纠正：{note}（留言 #{comment.id}）",
                     data={"comment_id": comment.id,
                           "changes": {str(f): [before[f], after[f]] for f in changed}}))
    db.commit()
    flash(_("已保存纠正，将用于改进模型。"), "success")
    return redirect(back)
