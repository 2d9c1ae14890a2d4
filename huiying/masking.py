"""Mask personal data before it is shown or sent: phone numbers, ID numbers, email addresses.

One pure function on plain strings, used by the dashboard (a Jinja filter), the case export,
the JSON API and the emails of huiying.notify, so a reader sees the same masking everywhere.

The public writes numbers in every form: `138-1234-5678`, `138 1234 5678`, full-width
`１３９１２３４５６７８`, `+86 138…`, landlines `0571-88886666` or `(0571)88886666`, old
15-digit ID numbers. Matching runs on the NFKC form of each character (full-width digits and
letters become ASCII) while the text around a match is returned unchanged, so masking never
rewrites the Chinese punctuation of a message.
"""

from __future__ import annotations

import re
import unicodedata

_SEP = r"[-\s.]?"  # one hyphen, space or dot between the groups of a number
_MONTH_DAY = r"(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])"

EMAIL = re.compile(r"(?<![\w.+-])([A-Za-z0-9])[A-Za-z0-9._%+-]*(@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)")
# Resident ID numbers: a 6-digit area code, the birth date, a sequence number and (18 only)
# a check character. The date is checked so that a ticket or order number is left alone.
_AREA = r"(?<![0-9A-Za-z])([1-9][0-9]{5})"
ID_18 = re.compile(_AREA + rf"((?:18|19|20)[0-9]{{2}}{_MONTH_DAY})([0-9]{{3}}[0-9Xx])(?![0-9A-Za-z])")
ID_15 = re.compile(_AREA + rf"([0-9]{{2}}{_MONTH_DAY})([0-9]{{3}})(?![0-9A-Za-z])")
# Mainland mobile numbers, optionally with +86/86 in front; not part of a longer number.
MOBILE = re.compile(rf"(?<![0-9])((?:\+?86{_SEP})?1[3-9][0-9]){_SEP}([0-9]{{4}}){_SEP}([0-9]{{4}})(?![0-9])")
# Landlines: a 3- or 4-digit area code starting with 0 (in brackets or followed by a
# separator), then 7 or 8 digits, optionally split once, and an extension.
LANDLINE = re.compile(r"(?<![0-9])(\(0[1-9][0-9]{1,2}\)\s?|0[1-9][0-9]{1,2}[-\s]?)"
                      r"([0-9]{3,4}[-\s]?[0-9]{4})(?:[-转#][0-9]{1,5})?(?![0-9])")


def _id_18(match: re.Match) -> str:
    # first 6 and last 4 characters: 110101********1234
    return match.group(1) + "*" * 8 + match.group(3)[-4:]


def _id_15(match: re.Match) -> str:
    # first 6 and last 4 characters: 110101*****1234
    return match.group(1) + "*" * 5 + (match.group(2) + match.group(3))[-4:]


def _mobile(match: re.Match) -> str:
    return match.group(1) + "****" + match.group(3)


def _landline(match: re.Match) -> str:
    digits = re.sub(r"[-\s]", "", match.group(2))
    return match.group(1) + "****" + digits[-4:]


def _email(match: re.Match) -> str:
    return match.group(1) + "***" + match.group(2)


# Earlier patterns win where matches overlap: an email's digits are no phone number and an
# ID number's digits are no mobile.
_PATTERNS = ((EMAIL, _email), (ID_18, _id_18), (ID_15, _id_15), (MOBILE, _mobile), (LANDLINE, _landline))


def _folded(text: str) -> str:
    """NFKC per character where that keeps one character, so positions match the original."""
    out = []
    for char in text:
        if char.isascii():
            out.append(char)
            continue
        folded = unicodedata.normalize("NFKC", char)
        out.append(folded if len(folded) == 1 else char)
    return "".join(out)


def mask_text(text: str | None, *, official: bool = False) -> str:
    """138****5678 for mobiles, 0571-****6666 for landlines, 110101********1234 for ID
    numbers, z***@example.com for email addresses; everything else unchanged.

    `official` is for what the bureau wrote (an official reply): the landline there is an
    office's published number, so it stays readable; mobiles, IDs and emails are masked.
    """
    if not text:
        return ""
    folded = _folded(text)
    spans: list[tuple[int, int, str]] = []
    for pattern, replace in _PATTERNS:
        if official and pattern is LANDLINE:
            continue
        for match in pattern.finditer(folded):
            start, end = match.span()
            if any(start < taken_end and taken_start < end for taken_start, taken_end, _ in spans):
                continue
            spans.append((start, end, replace(match)))
    if not spans:
        return text
    pieces, position = [], 0
    for start, end, masked in sorted(spans):
        pieces.append(text[position:start])
        pieces.append(masked)
        position = end
    pieces.append(text[position:])
    return "".join(pieces)
