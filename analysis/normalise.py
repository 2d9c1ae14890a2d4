"""Text normalisation: the same Chinese text in many spellings becomes one string.

Order matters: NFKC first (full-width brackets become ASCII, so pinyin annotations in
`落實（shí）` are found), then pinyin annotations go, then traditional → simplified.
"""

from __future__ import annotations

import html
import re
import unicodedata
from functools import cache

MAX_CHARS = 20_000  # longer texts are cut: nobody writes a 200 KB comment by hand

_SCRIPT_OR_STYLE = re.compile(r"<(script|style)\b.*?</\1\s*>", re.I | re.S)
_TAG = re.compile(r"<[^<>]{0,2000}>")
_PINYIN = re.compile(
    r"(?<=[\u3400-\u9fff])\(\s*[a-zA-Zāáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜüńňǹḿ]{1,7}[1-5]?\s*\)"
)
_SPACE = re.compile(r"\s+")


@cache
def _converter():
    import opencc  # one converter per process: building it reads dictionaries from disk

    return opencc.OpenCC("t2s")


def clean_unicode(text: str) -> str:
    """Make any str safe to encode: lone UTF-16 surrogates become U+FFFD."""
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def strip_html(text: str) -> str:
    if "<" not in text and "&" not in text:
        return text
    text = _SCRIPT_OR_STYLE.sub(" ", text)
    text = _TAG.sub(" ", text)
    return html.unescape(text)


def strip_pinyin(text: str) -> str:
    """`落实(shí)` → `落实`: annotations some sites add for readers, noise for analysis."""
    return _PINYIN.sub("", text)


def normalise(text: str) -> str:
    text = clean_unicode(text or "")[:MAX_CHARS]
    text = strip_html(text)
    text = unicodedata.normalize("NFKC", text)
    text = strip_pinyin(text)
    text = _converter().convert(text)
    return _SPACE.sub(" ", text).strip()
