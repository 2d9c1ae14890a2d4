"""Mask personal data before it is shown: phone, ID numbers and email addresses
(huiying.masking), authors' names — unless the reader's role may see them
(dashboard/permissions.py SEE_PERSONAL_DATA).

The functions return plain strings (never Markup), so Jinja still escapes the result.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask
from flask_babel import gettext as _
from flask_login import current_user

from dashboard.permissions import can_see_personal_data
from huiying.masking import mask_text  # the one function the emails, exports and API use too

Mask = Callable[..., str]  # (text, *, official=False) -> str


def mask_name(name: str | None) -> str:
    """张** for 张三丰; one-character names stay as they are; no name → 匿名."""
    name = (name or "").strip()
    if not name:
        return _("匿名")
    return name if len(name) == 1 else name[0] + "**"


def _clear(text: str | None, *, official: bool = False) -> str:
    return text or ""


def _clear_name(name: str | None) -> str:
    return (name or "").strip() or _("匿名")


def text_mask_for(user: Any) -> Mask:
    """mask_text, or the text unchanged for a role that may see personal data."""
    return _clear if can_see_personal_data(user) else mask_text


def name_mask_for(user: Any) -> Mask:
    return _clear_name if can_see_personal_data(user) else mask_name


def _mask_filter(text: str | None) -> str:
    return text_mask_for(current_user)(text)


def _mask_reply_filter(text: str | None) -> str:
    """An official reply: the office's landline stays readable (huiying.masking)."""
    return text_mask_for(current_user)(text, official=True)


def _mask_name_filter(name: str | None) -> str:
    return name_mask_for(current_user)(name)


def init_app(app: Flask) -> None:
    app.add_template_filter(_mask_filter, "mask")
    app.add_template_filter(_mask_reply_filter, "mask_reply")
    app.add_template_filter(_mask_name_filter, "mask_name")
