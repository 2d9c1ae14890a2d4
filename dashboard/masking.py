"""Mask personal data before it is shown: mobile numbers, ID numbers, authors' names.

The functions return plain strings (never Markup), so Jinja still escapes the result.
"""

from __future__ import annotations

import re

from flask import Flask
from flask_babel import gettext as _

# Mainland mobile numbers, optionally with +86/86 in front; not part of a longer number.
MOBILE = re.compile(r"(?<![0-9])((?:\+?86[- ]?)?1[3-9][0-9])([0-9]{4})([0-9]{4})(?![0-9])")
# 18-character resident ID numbers: 17 digits and a digit or X check character.
ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])([0-9]{6})([0-9]{8})([0-9]{3}[0-9Xx])(?![0-9A-Za-z])")


def mask_text(text: str | None) -> str:
    """138****1234 for mobiles; first 6 and last 4 characters of an ID number."""
    if not text:
        return ""
    text = ID_NUMBER.sub(lambda m: m.group(1) + "*" * 8 + m.group(3)[-4:], text)
    return MOBILE.sub(lambda m: m.group(1) + "****" + m.group(3), text)


def mask_name(name: str | None) -> str:
    """张** for 张三丰; one-character names stay as they are; no name → 匿名."""
    name = (name or "").strip()
    if not name:
        return _("匿名")
    return name if len(name) == 1 else name[0] + "**"


def init_app(app: Flask) -> None:
    app.add_template_filter(mask_text, "mask")
    app.add_template_filter(mask_name, "mask_name")
