"""Mask personal data before it is shown: mobile numbers, ID numbers (huiying.masking), authors' names.

The functions return plain strings (never Markup), so Jinja still escapes the result.
"""

from __future__ import annotations

from flask import Flask
from flask_babel import gettext as _

from huiying.masking import mask_text  # the pure function the emails use too


def mask_name(name: str | None) -> str:
    """张** for 张三丰; one-character names stay as they are; no name → 匿名."""
    name = (name or "").strip()
    if not name:
        return _("匿名")
    return name if len(name) == 1 else name[0] + "**"


def init_app(app: Flask) -> None:
    app.add_template_filter(mask_text, "mask")
    app.add_template_filter(mask_name, "mask_name")
