"""Reading fields out of hostile pages: scripts inside comments, endless nesting; wrong
encodings are crawler/encoding.py's."""

from __future__ import annotations

import re
from typing import Any

from parsel import Selector

from crawler.encoding import UndecodablePage, decode_body  # noqa: F401 (the spiders' import)

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
MAX_FIELD_CHARS = 200_000


def text_of(selector: Selector, css: str | None, limit: int | None = MAX_FIELD_CHARS) -> str:
    """All visible text under the first node matching `css`, paragraphs kept as lines, cut
    at `limit` characters (None: uncut, for a caller that reports the cut)."""
    if not css:
        return ""
    if "::" in css:  # an explicit ::text or ::attr(...) selection
        return " ".join(v.strip() for v in selector.css(css).getall() if v.strip())[:limit]
    node = selector.css(css)
    if not node:
        return ""
    parts: list[str] = []
    _visible_text(node[0].root, parts)
    lines = (_SPACE.sub(" ", line).strip() for line in "".join(parts).split("\n"))
    return _BLANK_LINES.sub("\n", "\n".join(lines)).strip()[:limit]


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


def html_text(html: str) -> str:
    """The text a reader sees in a fragment of HTML (feeds and APIs carry markup in strings)."""
    if "<" not in html:
        return html.strip()
    return text_of(Selector(text=f"<div>{html}</div>"), "div", limit=None)
