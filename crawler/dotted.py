"""Dotted paths into parsed JSON: `data.list`, `user.name`, `replies.0.content`, `tags.*.name`."""

from __future__ import annotations

from typing import Any

MISSING = object()


def lookup(data: Any, path: str) -> Any:
    """The value at `path` ('' is the whole document), or MISSING. A number picks a list item;
    `*` takes every item (a list of what the rest of the path finds in each)."""
    if not path:
        return data
    head, _, rest = path.partition(".")
    if head == "*":
        if not isinstance(data, list):
            return MISSING
        found = [lookup(item, rest) for item in data]
        return [value for value in found if value is not MISSING]
    if isinstance(data, dict):
        return lookup(data[head], rest) if head in data else MISSING
    if isinstance(data, list) and head.lstrip("-").isdigit():
        index = int(head)
        return lookup(data[index], rest) if -len(data) <= index < len(data) else MISSING
    return MISSING


def as_text(value: Any) -> str | None:
    """A JSON value as a comment's text: lists joined by lines, nothing for null or missing."""
    if value is MISSING or value is None:
        return None
    if isinstance(value, list):
        return "\n".join(t for t in (as_text(v) for v in value) if t) or None
    if isinstance(value, dict):
        return None
    return str(value).strip() or None
