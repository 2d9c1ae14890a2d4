"""Mask personal data before it is shown or sent: mobile numbers and ID numbers.

Pure functions on plain strings, used by the dashboard (as a Jinja filter) and by the
emails of huiying.notify, so what a reader sees is masked the same way everywhere.
"""

from __future__ import annotations

import re

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
