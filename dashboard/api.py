"""The JSON API (read only): GET /api/cases, /api/cases/<id>, /api/stats (docs/api.md).

A request is authenticated by `Authorization: Bearer <token>` from `huiying users token`
(only the token's hash is stored), never by the session cookie, so the API needs no CSRF
token. A token sees exactly what its user sees on the pages (dashboard/permissions.py): the
same filters (dashboard/case_query.py), another department's case is 404. Errors are JSON
with the message in Chinese and English.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, current_app, g, jsonify, request, url_for
from flask_babel import force_locale, gettext
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload
from werkzeug.exceptions import HTTPException

from dashboard import case_query
from dashboard.auth import Account
from dashboard.db import get_db
from dashboard.filters import http_url
from dashboard.i18n import N_
from dashboard.masking import name_mask_for, text_mask_for
from dashboard.permissions import figures_department, get_visible_case_or_404
from huiying import stats
from huiying.figures import case_link
from huiying.models import Case, CaseEvent, Comment, User, utcnow
from huiying.users import hash_token

bp = Blueprint("api", __name__, url_prefix="/api")

PER_PAGE = 25
DEFAULT_STATS_DAYS = 7
MAX_PER_PAGE = 100
MAX_DIGITS = 6  # a page beyond 999,999 is a mistake (and SQLite refuses 64-bit overflows)
MESSAGES = {
    401: ("unauthorized", N_("缺少或无效的 API 令牌：请在请求头中加上 Authorization: Bearer <令牌>，"
                             "令牌由 huiying users token 用户名 生成。")),
    403: ("forbidden", N_("此令牌的用户无权读取这些数据。")),
    404: ("not_found", N_("没有这项数据，或此令牌的用户无权查看。")),
    405: ("method_not_allowed", N_("API 只接受 GET 请求。")),
}


def _both(template: str, **params: Any) -> dict[str, str]:
    """The message in Chinese and in English, from the dashboard's catalog (a `label`
    parameter is a message id too: a filter's name)."""
    texts = {}
    for key, locale in (("zh", "zh_Hans"), ("en", "en")):
        with force_locale(locale):
            shown = {name: gettext(value) if name == "label" else value for name, value in params.items()}
            texts[key] = gettext(template, **shown)
    return texts


def error(status: int, code: str, template: str, **extra: Any):
    response = jsonify({"error": code, "message": _both(template), **extra})
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="huiying"'
    return response


def http_error(exc: HTTPException):
    code, template = MESSAGES.get(exc.code or 500, ("error", N_("请求无法完成。")))
    return error(exc.code or 500, code, template)


# By status code: the app's HTML error pages are registered by code too, and a code wins
# over a class (Flask looks up codes first).
for _status in (400, 401, 403, 404, 405, 500):
    bp.register_error_handler(_status, http_error)


@bp.before_request
def authenticate():
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return error(401, *MESSAGES[401])
    user = get_db().scalar(select(User).where(User.api_token_hash == hash_token(token)))
    if user is None or not user.active:  # a disabled account's token stops working at once
        return error(401, *MESSAGES[401])
    g.api_user = Account.from_user(user)
    return None


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def mask_text(text: str | None, *, official: bool = False) -> str:
    """Personal data masked unless the token's role may read it, as on the pages."""
    return text_mask_for(g.api_user)(text, official=official)


def mask_name(name: str | None) -> str:
    return name_mask_for(g.api_user)(name)


def _case(case: Case, clock: str | None) -> dict[str, Any]:
    base_url = current_app.config["HUIYING_SETTINGS"].base_url
    return {
        "id": case.id,
        "title": mask_text(case.title),
        "summary": mask_text(case.summary),
        "status": case.status,
        "severity": case.severity,
        "topic": case.topic,
        "department": case.department.name if case.department else None,
        "heat": case.heat,
        "sentiment": case.sentiment_label,
        "first_seen_at": _iso(case.first_seen_at),
        "due_at": _iso(case.due_at),
        "first_reply_at": _iso(case.first_reply_at),
        "clock": clock,  # overdue / soon / open while an answer is owed, else null
        "url": case_link(base_url, case.id),
    }


def _comment(comment: Comment) -> dict[str, Any]:
    ticket = case_query.is_ticket(comment)
    return {
        "id": comment.id,
        "source": comment.source.name,
        "channel": case_query.channel_of(comment.source),
        "ticket": comment.external_id if ticket else None,  # 工单编号
        "request_type": comment.request_type,  # 诉求类型
        "title": mask_text(comment.title),
        "body": mask_text(comment.body),
        "author": mask_name(comment.author) if comment.author else None,
        "published_at": _iso(comment.published_at),
        "url": http_url(comment.url),
        "official_reply": (mask_text(comment.official_reply, official=True)
                           if comment.official_reply else None),
        "replied_at": _iso(comment.replied_at),
        "sentiment": comment.sentiment_label,
        "topic": comment.topic,
        "relevant": comment.relevant,
    }


def _event(event: CaseEvent) -> dict[str, Any]:
    return {
        "at": _iso(event.at),
        "actor": event.actor.username if event.actor else None,
        "action": event.action,
        "from_status": event.from_status,
        "to_status": event.to_status,
        "note": mask_text(event.note),
        "data": event.data or {},
    }


def _positive(name: str, default: int, limit: int | None = None) -> int | None:
    text = request.args.get(name, "")
    if not text:
        return default
    if not text.isdigit() or len(text) > MAX_DIGITS or int(text) < 1:
        return None
    return min(int(text), limit) if limit else int(text)


@bp.get("/cases")
def cases():
    db = get_db()
    user = g.api_user
    query = case_query.parse(db, request.args, user, current_app.config["TIMEZONE"])
    page, per_page = _positive("page", 1), _positive("per_page", PER_PAGE, MAX_PER_PAGE)
    if query.problems or page is None or per_page is None:
        problems = [_both(p.template, **p.params) for p in query.problems]
        if page is None or per_page is None:
            problems.append(_both(N_("page 和 per_page 须为正整数。")))
        return error(400, "bad_request", N_("请求参数有误。"), problems=problems)
    now = utcnow()
    total = db.scalar(query.where(db, select(func.count()).select_from(Case), user, now)) or 0
    rows = db.scalars(query.cases(db, user, now)
                      .options(selectinload(Case.department))
                      .limit(per_page).offset((page - 1) * per_page)).all()
    clocks = case_query.clock_states(db, [case.id for case in rows], now)
    more = page * per_page < total
    return jsonify({
        "total": total,
        "page": page,
        "per_page": per_page,
        "next": url_for("api.cases", _external=True, **query.chosen, page=page + 1, per_page=per_page)
        if more else None,
        "cases": [_case(case, clocks.get(case.id)) for case in rows],
    })


@bp.get("/cases/<int:case_id>")
def case_detail(case_id: int):
    db = get_db()
    case = get_visible_case_or_404(
        db, case_id, g.api_user, selectinload(Case.department),
        selectinload(Case.comments).selectinload(Comment.source),
        selectinload(Case.events).selectinload(CaseEvent.actor))
    clock = case_query.clock_states(db, [case.id], utcnow()).get(case.id)
    return jsonify({
        **_case(case, clock),
        "severity_reasons": case.severity_reasons or [],
        "channels": sorted({case_query.channel_of(c.source) for c in case.comments}),
        "comments": [_comment(c) for c in case.comments],
        "events": [_event(e) for e in case.events],
    })


@bp.get("/stats")
def stats_view():
    """The overview's figures (huiying/stats.py) of the local days from..to, both included
    (default: the last 7 days, as on the page): the whole bureau's for the roles whose home
    page shows them, a department's own for a department token."""
    tz = current_app.config["TIMEZONE"]
    now = utcnow()
    today = now.astimezone(ZoneInfo(tz)).date()
    if "from" in request.args or "to" in request.args:
        try:
            first, last = stats.parse_period(request.args.get("from"), request.args.get("to"), today)
        except stats.PeriodError as exc:
            return error(400, "bad_request", N_("请求参数有误。"),
                         problems=[{"parameter": exc.field, **_both(exc.template, **exc.params)}])
    else:
        first, last = today - timedelta(days=DEFAULT_STATS_DAYS - 1), today
    start, end = stats.period_bounds(first, last, tz)
    figures = stats.overview(get_db(), start, end, tz, now, figures_department(g.api_user))
    return jsonify({"period": {"from": first.isoformat(), "to": last.isoformat()}, **figures.as_dict()})
