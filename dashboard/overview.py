"""The home page (`/`): the bureau's overview (舆情态势) for admin, press office and leaders; a
department's own open cases and this month's on-time rate for department users.

The figures come from huiying/stats.py (which the JSON API reads too); the charts are drawn by
static/overview.js from `<script type="application/json">` blocks, so the strict CSP holds and
every chart also has its table.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from flask import Blueprint, Flask, current_app, jsonify, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from dashboard.db import get_db
from dashboard.hot_words import hot_words_between
from dashboard.i18n import N_, severity_label, status_label
from dashboard.permissions import ALL_ROLES, figures_department, require_roles
from huiying import stats
from huiying.figures import month_bounds
from huiying.models import utcnow

bp = Blueprint("overview", __name__, url_prefix="/overview")

ECHARTS = Path(__file__).parent / "static" / "vendor" / "echarts" / "echarts.min.js"
PRESETS = {"today": (1, N_("今日")), "7": (7, N_("近7天")), "30": (30, N_("近30天"))}
DEFAULT_PRESET = "7"
POLL_SECONDS = 20  # how often the 需要处理 panel asks for new urgent cases


@dataclass(frozen=True)
class Period:
    preset: str  # a PRESETS key, or "custom"
    first: date
    last: date
    error: stats.PeriodError | None = None
    typed: tuple[str, str] = ("", "")  # what was typed into the custom range, shown again


def _today() -> date:
    return datetime.now(ZoneInfo(current_app.config["TIMEZONE"])).date()


def chosen_period() -> Period:
    """From the query string: ?period=today|7|30, or ?from=YYYY-MM-DD&to=YYYY-MM-DD. A custom
    range that cannot be shown keeps what was typed, says why, and shows the default."""
    today = _today()
    args = request.args
    if "from" in args or "to" in args:
        typed = (args.get("from", "")[:20], args.get("to", "")[:20])
        try:
            first, last = stats.parse_period(*typed, today=today)
        except stats.PeriodError as error:
            days = PRESETS[DEFAULT_PRESET][0]
            return Period(DEFAULT_PRESET, today - timedelta(days=days - 1), today, error, typed)
        return Period("custom", first, last, typed=typed)
    preset = args.get("period") if args.get("period") in PRESETS else DEFAULT_PRESET
    days = PRESETS[preset][0]
    return Period(preset, today - timedelta(days=days - 1), today)


def time_left(seconds: float | None) -> str:
    """剩余 2小时05分 / 已超时 1天3小时, as static/overview.js counts it down (same texts)."""
    if seconds is None:
        return _("无时限")
    whole = int(abs(seconds))
    days, rest = divmod(whole, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        span = _("%(d)s天%(h)s小时", d=days, h=hours)
    elif hours:
        span = _("%(h)s小时%(m)s分", h=hours, m=str(minutes).zfill(2))
    else:
        span = _("%(m)s分%(s)s秒", m=minutes, s=str(secs).zfill(2))
    return _("已超时 %(span)s", span=span) if seconds < 0 else _("剩余 %(span)s", span=span)


def countdown_labels() -> dict[str, str]:
    """The texts of time_left() for the script, with %(name)s placeholders left in."""
    return {"days": _("%(d)s天%(h)s小时", d="%(d)s", h="%(h)s"),
            "hours": _("%(h)s小时%(m)s分", h="%(h)s", m="%(m)s"),
            "minutes": _("%(m)s分%(s)s秒", m="%(m)s", s="%(s)s"),
            "left": _("剩余 %(span)s", span="%(span)s"),
            "overdue": _("已超时 %(span)s", span="%(span)s"),
            "none": _("无时限"),
            "arrived": _("新增 %(n)s 件需要处理的案件", n="%(n)s"),
            "stale": _("暂时无法刷新，将自动重试。")}


def _case_list_json(listing: stats.CaseList, now: datetime) -> dict:
    data = listing.as_dict(now)
    for item in data["cases"]:
        item["url"] = url_for("cases.detail", case_id=item["id"])
        item["severity_label"] = severity_label(item["severity"])
        item["status_label"] = status_label(item["status"])
        item["department"] = item["department"] or _("未派单")
        item["time_left"] = time_left(item["seconds_left"])
    return data


def _attention(now: datetime) -> stats.CaseList:
    """What the panel at the top lists: the bureau's urgent cases, or the department's open ones."""
    department = figures_department(current_user)
    if department is None:
        return stats.attention(get_db(), now)
    return stats.open_cases(get_db(), now, department)


def index():
    now = utcnow()
    listing = _attention(now)
    context = {"now": now, "listing": listing, "time_left": time_left,
               "poll": {"url": url_for("overview.attention"), "seconds": current_app.config.get(
                   "OVERVIEW_POLL_SECONDS", POLL_SECONDS), "now": now.isoformat(),
                   "labels": countdown_labels(),
                   "known": [c.id for c in listing.cases]}}
    tz = current_app.config["TIMEZONE"]
    department = figures_department(current_user)
    if department is not None:  # a department's own page: its figures only
        month = _today().replace(day=1)
        start, end = month_bounds(month, tz)
        figures = next(iter(stats.department_figures(get_db(), start, end, now, department)), None)
        return render_template("overview/department.html", month=month, figures=figures, **context)

    period = chosen_period()
    start, end = stats.period_bounds(period.first, period.last, tz)
    figures = stats.overview(get_db(), start, end, tz, now)
    return render_template(
        "overview/bureau.html", period=period, presets=PRESETS, figures=figures,
        charts=charts(figures), hot_words=hot_words_between(get_db(), period.first, period.last),
        charts_installed=ECHARTS.is_file(),
        period_error=_(period.error.template, **period.error.params) if period.error else None,
        **context)


@bp.get("/attention.json")
@require_roles(*ALL_ROLES)
def attention():
    """What the panel polls: the same list as the page, with the server's time."""
    now = utcnow()
    counts = {}
    if figures_department(current_user) is None:  # the bureau's figures, shown on its page only
        counts = dict(zip(("overdue", "due_soon"), stats.due_counts(get_db(), now), strict=True))
    return jsonify(now=now.isoformat(), counts=counts, **_case_list_json(_attention(now), now))


RESPONSE_CLASS_NAMES = [N_("1小时内"), N_("1–5小时"), N_("5–24小时"), N_("24–48小时"), N_("2–7天"),
                        N_("7天以上")]


def charts(figures: stats.Overview) -> dict[str, dict]:
    """Each chart's data as the script draws it and the template tabulates it: categories
    (x axis, or y for horizontal bars) and named series of numbers."""
    one_year = figures.days[0].year == figures.days[-1].year
    days = [day.strftime("%m-%d" if one_year else "%Y-%m-%d") for day in figures.days]
    share = [None if v is None else round(v * 100, 1) for v in figures.negative_share]
    ranked = [d for d in figures.departments if d.id is not None]
    return {
        "new-cases": {"title": _("新增案件（按严重程度）"), "kind": "bar", "stack": True,
                      "category_name": _("日期"), "categories": days,
                      "colors": ["#b02a37", "#d97706", "#6c757d"],
                      "series": [{"name": severity_label(s), "data": counts}
                                 for s, counts in figures.new_cases.items()]},
        "negative-share": {"title": _("负面留言占比（%）"), "kind": "line", "percent": True,
                           "category_name": _("日期"), "categories": days,
                           "series": [{"name": _("负面占比"), "data": share}]},
        "volume": {"title": _("每日留言量"), "kind": "bar", "category_name": _("日期"), "categories": days,
                   "series": [{"name": _("相关留言"), "data": figures.comments},
                              {"name": _("其中负面"), "data": figures.negative}]},
        "sources": {"title": _("留言来源"), "kind": "bar", "horizontal": True, "category_name": _("来源"),
                    "categories": [name for name, _count in figures.by_source],
                    "series": [{"name": _("相关留言"), "data": [c for _name, c in figures.by_source]}]},
        "topics": {"title": _("案件主题"), "kind": "bar", "horizontal": True, "category_name": _("主题"),
                   "categories": [_("未归类") if n == stats.NO_TOPIC else n for n, _c in figures.by_topic],
                   "series": [{"name": _("新增案件"), "data": [c for _n, c in figures.by_topic]}]},
        "departments": {"title": _("科室按时回应率（%）"), "kind": "bar", "horizontal": True, "percent": True,
                        "category_name": _("科室"),
                        "categories": [d.name for d in ranked],
                        "series": [{"name": _("按时率"), "data": [
                            None if d.on_time_rate is None else round(d.on_time_rate * 100, 1)
                            for d in ranked]}]},
        "response-times": {"title": _("回应时长分布"), "kind": "bar", "category_name": _("回应时长"),
                           "categories": [_(name) for name in RESPONSE_CLASS_NAMES],
                           "series": [{"name": _("已回应案件"),
                                       "data": [r.count for r in figures.response_times]}]},
    }


def init_app(app: Flask) -> None:
    app.add_url_rule("/", "index", require_roles(*ALL_ROLES)(index))
    app.register_blueprint(bp)
