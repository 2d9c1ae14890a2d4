"""Jinja filters: local time, labels in the UI language, safe links, masking."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from flask import Flask, current_app
from flask_babel import gettext

from dashboard import masking
from dashboard.i18n import N_

# Marked with N_ and translated where shown: case notes record the Chinese texts.
SENTIMENT_LABELS = {"negative": N_("负面"), "neutral": N_("中性"), "positive": N_("正面")}
ACTION_LABELS = {
    "create": N_("生成案件"),
    "assign": N_("派单"),
    "triage": N_("转研判"),
    "merge_comment": N_("合并留言"),
    "accept": N_("签收"),
    "reply": N_("回复"),
    "follow_up": N_("回访"),
    "close": N_("办结"),
    "return": N_("退回"),
    "request_extension": N_("申请延期"),
    "extend": N_("延期"),
    "reject_extension": N_("驳回延期申请"),
    "reject": N_("不予处理"),
    "merge": N_("合并"),
    "merge_in": N_("并入"),
    "correct": N_("人工纠正"),
    "reclassify": N_("重新归类"),
    "escalate": N_("升级"),
    "calendar_missing": N_("缺少工作日历"),
    "calendar_due": N_("补算时限"),
    "set_due": N_("调整时限"),
    "source_reply": N_("来源已答复"),
    "register_disclosure": N_("登记申请"),
    "ask_correction": N_("告知补正"),
    "correction_received": N_("收到补正"),
    "extend_disclosure": N_("延长答复期限"),
    "answer_disclosure": N_("答复申请"),
}


def localtime(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """An aware UTC datetime shown in the configured zone (Asia/Shanghai)."""
    if value is None:
        return "—"
    return value.astimezone(ZoneInfo(current_app.config["TIMEZONE"])).strftime(fmt)


def sentiment_label(value: str | None) -> str:
    label = SENTIMENT_LABELS.get(value or "")
    return gettext(label) if label else "—"


def action_label(value: str) -> str:
    label = ACTION_LABELS.get(value)
    return gettext(label) if label else value


def http_url(value: str | None) -> str | None:
    """Only http(s) links are rendered: a javascript: URL in a crawled item is no link."""
    if value and urlsplit(value.strip()).scheme.lower() in ("http", "https"):
        return value.strip()
    return None


def init_app(app: Flask) -> None:
    # Whether a page is served, for links to pages another part of the app may not have yet.
    app.jinja_env.globals["has_page"] = lambda endpoint: endpoint in app.view_functions
    app.add_template_filter(localtime)
    app.add_template_filter(sentiment_label)
    app.add_template_filter(action_label)
    app.add_template_filter(http_url)
    masking.init_app(app)
