"""Jinja filters: local time, Chinese labels, safe links, masking."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from flask import Flask, current_app

from dashboard import masking

SENTIMENT_LABELS = {"negative": "负面", "neutral": "中性", "positive": "正面"}
ACTION_LABELS = {
    "create": "生成案件",
    "assign": "派单",
    "triage": "转研判",
    "merge_comment": "合并留言",
    "accept": "签收",
    "reply": "回复",
    "follow_up": "回访",
    "close": "办结",
    "return": "退回",
    "extend": "延期",
    "reject": "不予处理",
    "merge": "合并",
    "correct": "人工纠正",
}


def localtime(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """An aware UTC datetime shown in the configured zone (Asia/Shanghai)."""
    if value is None:
        return "—"
    return value.astimezone(ZoneInfo(current_app.config["TIMEZONE"])).strftime(fmt)


def sentiment_label(value: str | None) -> str:
    return SENTIMENT_LABELS.get(value or "", "—")


def action_label(value: str) -> str:
    return ACTION_LABELS.get(value, value)


def http_url(value: str | None) -> str | None:
    """Only http(s) links are rendered: a javascript: URL in a crawled item is no link."""
    if value and urlsplit(value.strip()).scheme.lower() in ("http", "https"):
        return value.strip()
    return None


def init_app(app: Flask) -> None:
    app.add_template_filter(localtime)
    app.add_template_filter(sentiment_label)
    app.add_template_filter(action_label)
    app.add_template_filter(http_url)
    masking.init_app(app)
