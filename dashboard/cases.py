"""Case list with filters, one case with its comments and history, and corrections of a
comment's analysis (stored as labels for training)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload
from wtforms import SelectField, SubmitField

from dashboard import case_export, case_query
from dashboard.bulk import bulk_form
from dashboard.case_query import CaseQuery
from dashboard.db import get_db
from dashboard.disclosure import working_days_left
from dashboard.filters import SENTIMENT_LABELS
from dashboard.hot_words import recent_hot_words
from dashboard.i18n import N_, severity_label, status_label
from dashboard.masking import text_mask_for
from dashboard.permissions import (
    ALL_ROLES,
    CORRECT_ANALYSIS,
    can_correct,
    can_see_all_departments,
    get_visible_case_or_404,
    require_roles,
    visible_cases,
)
from dashboard.reports import attachment
from dashboard.workflow import action_forms
from huiying import disclosure, hot_terms, workflow
from huiying.models import (
    Case,
    CaseEvent,
    CaseStatus,
    Comment,
    Department,
    Label,
    LabelField,
    Severity,
    Source,
    Topic,
    utcnow,
)
from huiying.monthly_export import MEDIA_TYPES
from huiying.workflow import pending_extension

bp = Blueprint("cases", __name__, url_prefix="/cases")


def _query() -> CaseQuery:
    """The filters of this request; what was not understood is said once, as a warning."""
    query = case_query.parse(get_db(), request.args, current_user, current_app.config["TIMEZONE"])
    for problem in query.problems:
        flash(problem_message(problem), "warning")
    return query


def problem_message(problem: case_query.Problem) -> str:
    params = {name: _(value) if name == "label" else value for name, value in problem.params.items()}
    return _(problem.template, **params)


def time_left(due_at: datetime | None, now: datetime) -> str:
    """剩 5 小时 / 超时 2 天: whole hours up to two days, then whole days."""
    if due_at is None:
        return ""
    hours = int(abs((due_at - now).total_seconds()) // 3600)
    amount = _("%(n)s 小时", n=hours) if hours < 48 else _("%(n)s 天", n=hours // 24)
    return _("剩 %(amount)s", amount=amount) if due_at >= now else _("超时 %(amount)s", amount=amount)


@bp.get("/")
@require_roles(*ALL_ROLES)
def index():
    db = get_db()
    query = _query()
    now = utcnow()
    chosen = query.chosen
    per_page = current_app.config["CASES_PER_PAGE"]
    page = request.args.get("page", "1")
    page = max(1, int(page)) if page.isdigit() else 1

    counts = dict(db.execute(
        query.where(db, select(Case.status, func.count()).select_from(Case), current_user, now,
                    with_status=False)
        .group_by(Case.status)
    ).all())
    # The total is in the counts per status (which ignore the status filter): no second count.
    total = counts.get(chosen["status"], 0) if "status" in chosen else sum(counts.values())
    pages = max(1, -(-total // per_page))
    page = min(page, pages)
    rows = db.scalars(
        query.cases(db, current_user, now)
        .options(selectinload(Case.department), *case_query.LIST_DEFERRED)
        .limit(per_page).offset((page - 1) * per_page)
    ).all()
    # The 已超时 / 24小时内到期 badges count within the other filters, whichever is chosen.
    unfiltered = query.without("due")
    due_counts = {
        key: db.scalar(unfiltered.where(db, select(func.count()).select_from(Case), current_user, now)
                       .where(clause)) or 0
        for key, clause in (("overdue", workflow.overdue(now)),
                            ("soon", workflow.due_within(now, case_query.DUE_SOON_HOURS)))}
    sees_all = can_see_all_departments(current_user)
    # A department's to-do: cases sent to it and not yet accepted, whatever the filters.
    to_accept = db.scalar(visible_cases(select(func.count()).select_from(Case), current_user)
                          .where(Case.status == CaseStatus.ASSIGNED)) \
        if not sees_all else None
    clocks = case_query.clock_states(db, [case.id for case in rows], now)
    return render_template(
        "cases/list.html", cases=rows, total=total, page=page, pages=pages, chosen=chosen,
        counts=counts, statuses=list(CaseStatus),
        to_accept=to_accept, clocks=clocks, due_counts=due_counts,
        time_left={case.id: time_left(case.due_at, now) for case in rows if case.id in clocks},
        choices=_choices_of_filters(db, chosen, sees_all),
        sorts=[(value, _(label)) for value, label in case_query.SORTS.items()],
        bulk=bulk_form(db, current_user),
        # Words of everybody's comments: only for those who see every case.
        hot_words=recent_hot_words(db, now) if sees_all else [],
    )


def _choices_of_filters(db: Session, chosen: dict[str, str], sees_all: bool) -> list:
    """(parameter, label, [(value, text)]) of each drop-down filter, in the form's order."""
    def translated(labels: dict[str, str]) -> list[tuple[str, str]]:
        return [(value, _(label)) for value, label in labels.items()]

    topics = _topic_names(db)
    if chosen.get("topic") not in (None, case_query.NO_TOPIC, *topics):
        topics.append(chosen["topic"])  # a disabled topic stays selectable once chosen
    departments = [(case_query.NO_DEPARTMENT, _("未派单")), *(
        (str(i), n) for i, n in db.execute(select(Department.id, Department.name).order_by(Department.id)))]
    sources = [(str(i), title or name) for i, title, name in db.execute(
        select(Source.id, Source.title, Source.name).order_by(Source.title, Source.name))]
    return [
        ("status", _("状态"), [(s, status_label(s)) for s in CaseStatus]),
        *([("department", _("科室"), departments)] if sees_all else []),
        ("severity", _("严重程度"), [(s, severity_label(s)) for s in Severity]),
        ("due", _("办理时限"), translated(case_query.DUE)),
        ("topic", _("主题"), [(case_query.NO_TOPIC, _("未归类")), *((n, n) for n in topics)]),
        ("sentiment", _("情感倾向"), translated(SENTIMENT_LABELS)),
        ("channel", _("渠道"), translated(case_query.CHANNELS)),
        ("source", _("来源"), sources),
    ]


@bp.get("/export.xlsx")
@require_roles(*ALL_ROLES)
def export():
    """The filtered list (all pages, up to EXPORT_LIMIT cases) as an xlsx sheet; the link
    carries the list's understood filters only, so nothing is left to warn about."""
    db = get_db()
    query = case_query.parse(db, request.args, current_user, current_app.config["TIMEZONE"])
    now = utcnow()
    rows = db.scalars(
        query.cases(db, current_user, now)
        .options(selectinload(Case.department), selectinload(Case.comments).selectinload(Comment.source))
        .limit(case_export.EXPORT_LIMIT + 1)
    ).all()
    settings = current_app.config["HUIYING_SETTINGS"]
    data = case_export.to_xlsx(
        rows[:case_export.EXPORT_LIMIT], case_query.clock_states(db, [c.id for c in rows], now),
        tz=current_app.config["TIMEZONE"], base_url=settings.base_url, now=now,
        truncated=len(rows) > case_export.EXPORT_LIMIT, mask=text_mask_for(current_user))
    stamp = now.astimezone(ZoneInfo(current_app.config["TIMEZONE"])).strftime("%Y%m%d-%H%M")
    return Response(data, mimetype=MEDIA_TYPES["xlsx"], headers={
        "Content-Disposition": attachment(f"案件列表-{stamp}.xlsx", f"huiying-cases-{stamp}.xlsx"),
        "Cache-Control": "no-store",
    })


@bp.get("/<int:case_id>")
@require_roles(*ALL_ROLES)
def detail(case_id: int):
    db = get_db()
    case = get_visible_case_or_404(
        db, case_id, current_user,
        selectinload(Case.department),
        selectinload(Case.comments).selectinload(Comment.source),
        selectinload(Case.events).selectinload(CaseEvent.actor),
        selectinload(Case.disclosure),
    )
    forms = {}
    if can_correct(current_user):
        names = _topic_names(db)
        forms = {c.id: correction_form(c, names) for c in case.comments}
    now = utcnow()
    clock = case_query.clock_states(db, [case.id], now).get(case.id)
    return render_template("cases/detail.html", case=case, clock=clock,
                           time_left=time_left(case.due_at, now) if clock else "",
                           tickets=[c for c in case.comments if case_query.is_ticket(c)],
                           channels=sorted({case_query.channel_of(c.source) for c in case.comments}),
                           channel_labels=case_query.CHANNELS,
                           forms=forms, actions=action_forms(db, case, current_user),
                           pending_extension=pending_extension(case),
                           working_days_left=working_days_left(db, case, now) if case.disclosure else None,
                           applicant_types=disclosure.APPLICANT_TYPES, results=disclosure.RESULTS)


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
    if LabelField.RELEVANT in changed:
        # In or out of the hot-word counts, with the terms stored on the comment (no jieba in a
        # web request); one never segmented is counted by the worker's next sweep.
        hot_terms.count_comments(db, [comment], current_app.config["TIMEZONE"], segment=False)
    note = "；".join(f"{FIELD_NAMES[f]} {_display(f, before[f])}→{_display(f, after[f])}" for f in changed)
    db.add(CaseEvent(case=case, actor_id=current_user.id, action="correct",
                     note=f"人工纠正：{note}（留言 #{comment.id}）",
                     data={"comment_id": comment.id,
                           "changes": {str(f): [before[f], after[f]] for f in changed}}))
    db.commit()
    flash(_("已保存纠正，将用于改进模型。"), "success")
    return redirect(back)
