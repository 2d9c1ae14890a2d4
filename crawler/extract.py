"""Reading fields out of hostile pages: wrong encodings, scripts inside comments."""

from __future__ import annotations

import re
from typing import Any

from parsel import Selector

# Elements whose content a reader never sees.
_HIDDEN = frozenset({"script", "style", "template"})
# Elements that start a new line; inline ones (b, font, span, a …) run on within their line, so
# "按标准<font>足量供餐</font>，" stays one sentence.
_BLOCKS = frozenset({
    "address", "article", "aside", "blockquote", "br", "dd", "div", "dl", "dt", "fieldset",
    "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr",
    "li", "main", "nav", "ol", "p", "pre", "section", "table", "tbody", "td", "tfoot", "th",
    "thead", "tr", "ul",
})
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
    parts: list[str] = []
    _visible_text(node[0].root, parts)
    lines = (_SPACE.sub(" ", line).strip() for line in "".join(parts).split("\n"))
    return _BLANK_LINES.sub("\n", "\n".join(lines)).strip()[:MAX_FIELD_CHARS]


def _visible_text(root, parts: list[str]) -> None:
    """Append the text a reader sees inside `root` (not its tail), a line break per block.

    An explicit stack, not recursion: hostile pages nest thousands of unclosed tags.
    """
    stack: list = [root]  # an element to open, or a string to append on the way out
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            parts.append(item)
            continue
        tag = item.tag.lower() if isinstance(item.tag, str) else None  # None: a comment
        tail = "" if item is root else item.tail or ""
        if tag is None or tag in _HIDDEN:
            parts.append(tail)
            continue
        brk = "\n" if tag in _BLOCKS else ""
        parts.append(brk + (item.text or ""))
        stack.append(brk + tail)
        stack.extend(reversed(item))


def external_id(url: str, spec: dict[str, Any], selector: Selector) -> str | None:
    if spec.get("from", "url") == "css":
        return text_of(selector, spec.get("css")) or None
    pattern = spec.get("pattern")
    if not pattern:
        return url
    match = re.search(pattern, url)
    return match.group(1) if match and match.groups() else (match.group(0) if match else None)
