"""Reading fields out of hostile pages: wrong encodings, scripts inside comments."""

from __future__ import annotations

import re
from typing import Any

from parsel import Selector

# Text nodes a reader sees: never script or style content.
_VISIBLE_TEXT = ".//text()[not(ancestor::script) and not(ancestor::style)]"
_SPACE = re.compile(r"[ \t\r\f\v\u3000\xa0]+")
_BLANK_LINES = re.compile(r"\n\s*\n+")
FALLBACK_ENCODINGS = ("utf-8", "gb18030", "big5")
MAX_FIELD_CHARS = 200_000


class UndecodablePage(ValueError):
    pass


def decode_body(body: bytes, declared: str | None, forced: str | None = None) -> str:
    """Decode with the forced, then the declared encoding; fall back when they are wrong.

    Many government sites declare UTF-8 and serve GBK (or the reverse); a page decoded with
    the wrong codec is full of U+FFFD, so try the usual Chinese codecs strictly instead.
    """
    candidates = [e for e in (forced, declared) if e] + list(FALLBACK_ENCODINGS)
    for encoding in dict.fromkeys(c.lower() for c in candidates):
        if encoding in ("gbk", "gb2312"):
            encoding = "gb18030"  # a superset: never fails where GBK would succeed
        try:
            return body.decode(encoding)
        except (UnicodeDecodeError, LookupError):
            continue
    raise UndecodablePage(
        f"the page is neither {declared or 'its declared encoding'} nor UTF-8, GB18030 or Big5"
    )


def text_of(selector: Selector, css: str | None) -> str:
    """All visible text under the first node matching `css`, paragraphs kept as lines."""
    if not css:
        return ""
    if "::" in css:  # an explicit ::text or ::attr(...) selection
        return " ".join(v.strip() for v in selector.css(css).getall() if v.strip())
    node = selector.css(css)
    if not node:
        return ""
    parts = node[0].xpath(_VISIBLE_TEXT).getall()
    joined = "\n".join(_SPACE.sub(" ", p).strip() for p in parts)
    return _BLANK_LINES.sub("\n", joined).strip()[:MAX_FIELD_CHARS]


def external_id(url: str, spec: dict[str, Any], selector: Selector) -> str | None:
    if spec.get("from", "url") == "css":
        return text_of(selector, spec.get("css")) or None
    pattern = spec.get("pattern")
    if not pattern:
        return url
    match = re.search(pattern, url)
    return match.group(1) if match and match.groups() else (match.group(0) if match else None)
