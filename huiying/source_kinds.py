"""The YAML shape of each source kind, and the validation that reads it.

Every kind shares the common keys (name, title, encoding, headers, include/exclude …) and adds
its own. A mistyped file is refused with one sentence naming the file and the key: an unknown
key with the nearest known one, a missing required key, a value of the wrong type. The spider
of each kind lives in crawler/spiders/ (crawler/kinds.py maps kind → spider); this module
stays free of Scrapy, as the core must.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Callable
from dataclasses import dataclass
from difflib import get_close_matches
from typing import Any

from huiying.errors import InputError

# Value checks: a problem as the end of a sentence, or None.
Check = Callable[[Any], str | None]


@dataclass(frozen=True)
class Key:
    """One key of a source file: its type, whether it must be there, and what it holds."""

    type: type | tuple[type, ...]
    required: bool = False
    keys: dict[str, Key] | None = None  # a mapping whose own keys are known
    item: type | None = None  # a list (or a mapping's values) of this type
    check: Check | None = None


NUMBER = (int, float)
_TYPE_NAMES = {str: "text", int: "a whole number", bool: "true or false", list: "a list",
               dict: "a mapping", float: "a number", NUMBER: "a number"}


_TEXT_VALUES = {str: "text"}


def _type_name(kind: type | tuple[type, ...]) -> str:
    if kind in _TYPE_NAMES:
        return _TYPE_NAMES[kind]
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join(_TYPE_NAMES.get(k, k.__name__) for k in kinds)


def _positive(value: Any) -> str | None:
    return None if value >= 1 else "must be a positive whole number"


def _positive_number(value: Any) -> str | None:
    return None if 0 < value < float("inf") else "must be a positive number of seconds"


def _web_addresses(value: list) -> str | None:
    if value and all(isinstance(u, str) and u.startswith(("http://", "https://")) for u in value):
        return None
    return "must list http:// or https:// addresses"


def _regex(value: str) -> str | None:
    try:
        re.compile(value)
    except re.error as exc:
        return f"is not a valid regex ({exc})"
    return None


def _template(*placeholders: str) -> Check:
    def check(value: str) -> str | None:
        if not value.startswith(("http://", "https://")):
            return "must be an http:// or https:// address"
        if not any("{" + p + "}" in value for p in placeholders):
            return "must contain " + " or ".join("{" + p + "}" for p in placeholders)
        return None
    return check


def _one_of(*choices: str) -> Check:
    return lambda value: None if value in choices else f"must be one of {', '.join(choices)}"


def _codec(value: str) -> str | None:
    try:
        codecs.lookup(value)
    except LookupError:
        return "is not an encoding Python knows (e.g. gbk, gb18030, big5, utf-8)"
    return None


def _not_empty(value: list) -> str | None:
    return None if value and all(s.strip() for s in value) else "must list at least one word"


ID = Key(dict, keys={"from": Key(str, check=_one_of("url", "css")), "pattern": Key(str, check=_regex),
                     "css": Key(str)})
COMMON: dict[str, Key] = {
    "name": Key(str, required=True),
    "title": Key(str),
    "kind": Key(str),
    "enabled": Key(bool),
    "max_pages": Key(int, check=_positive),
    "timezone": Key(str),
    "interval_minutes": Key(int, check=_positive),
    "follow_seconds": Key(NUMBER, check=_positive_number),
    "encoding": Key(str, check=_codec),
    "headers": Key(dict, item=str),
    "include": Key(list, item=str),
    "exclude": Key(list, item=str),
}
START_URLS = Key(list, required=True, check=_web_addresses)
DETAIL = Key(dict, required=True, keys={
    "id": ID, "title": Key(str, required=True), "body": Key(str, required=True), "author": Key(str),
    "published_at": Key(str), "reply": Key(str), "replied_at": Key(str)})

KINDS: dict[str, dict[str, Key]] = {
    # List pages linking to detail pages (留言板, 局长信箱).
    "board": {
        "start_urls": START_URLS,
        "list": Key(dict, required=True, keys={"link": Key(str, required=True), "next": Key(str)}),
        "detail": DETAIL,
    },
    # RSS 2.0 / Atom feeds: every entry a comment.
    "feed": {"start_urls": START_URLS},
    # A JSON API paged by page number or by a cursor the response gives.
    "json_api": {
        "url": Key(str, required=True, check=_template("page", "cursor")),
        "paging": Key(dict, keys={"by": Key(str, required=True, check=_one_of("page", "cursor")),
                                  "start": Key(int), "cursor": Key(str)}),
        "items": Key(str, required=True),
        "fields": Key(dict, required=True, keys={
            "id": Key(str, required=True), "title": Key(str), "body": Key(str), "author": Key(str),
            "published_at": Key(str), "reply": Key(str), "replied_at": Key(str), "url": Key(str)}),
        "link": Key(str, check=_template("id")),
    },
    # A forum: thread list pages → thread pages, each floor a comment, the first the post.
    "forum": {
        "start_urls": START_URLS,
        "list": Key(dict, required=True, keys={"thread": Key(str, required=True), "next": Key(str)}),
        "thread": Key(dict, required=True, keys={
            "id": ID, "title": Key(str, required=True), "floor": Key(str, required=True),
            "body": Key(str, required=True), "author": Key(str), "time": Key(str), "next": Key(str),
            "max_pages": Key(int, check=_positive),
            "official": Key(dict, keys={"authors": Key(list, item=str), "marker": Key(str)})}),
    },
    # A site search run once for each keyword; results read in place or followed to details.
    "search": {
        "url": Key(str, required=True, check=_template("keyword")),
        "keywords": Key(list, required=True, item=str, check=_not_empty),
        "results": Key(dict, required=True, keys={
            "item": Key(str, required=True), "link": Key(str, required=True), "title": Key(str),
            "summary": Key(str), "published_at": Key(str), "author": Key(str), "next": Key(str)}),
        "detail": Key(dict, keys=DETAIL.keys),
    },
}


# Kinds whose spider can follow the source (crawler/spiders/base.py, "following").
FOLLOWED_KINDS = ("board",)


@dataclass(frozen=True)
class Validator:
    origin: str

    def fail(self, text: str) -> None:
        raise InputError(f"{self.origin}: {text}.")

    def mapping(self, data: dict, keys: dict[str, Key], prefix: str = "") -> None:
        for name in data:
            if name not in keys:
                near = get_close_matches(str(name), list(keys), n=1, cutoff=0.6)
                hint = f"did you mean '{prefix}{near[0]}'?" if near else \
                    f"known keys here: {', '.join(keys)}"
                raise InputError(f"{self.origin}: unknown key '{prefix}{name}'; {hint}")
        for name, key in keys.items():
            if name not in data:
                if key.required:
                    self.fail(f"the key '{prefix}{name}' is missing")
                continue
            self.value(data[name], key, f"{prefix}{name}")

    def value(self, value: Any, key: Key, path: str) -> None:
        kinds = key.type if isinstance(key.type, tuple) else (key.type,)
        # YAML's true/false are ints to Python; a whole number is never a bool here.
        if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
            self.fail(f"'{path}' must be {_type_name(key.type)}, got {_yaml_type(value)}")
        if key.item is not None:
            values = value.values() if isinstance(value, dict) else value
            if not all(isinstance(v, key.item) and not isinstance(v, bool) for v in values):
                self.fail(f"'{path}' must hold only {_TEXT_VALUES.get(key.item, 'such')} values")
        if key.keys is not None:
            self.mapping(value, key.keys, f"{path}.")
        if key.check is not None:
            problem = key.check(value)
            if problem:
                self.fail(f"'{path}' {problem}")


def _yaml_type(value: Any) -> str:
    if value is None:
        return "nothing"
    return _type_name(type(value))


def validate(data: dict[str, Any], origin: str) -> str:
    """Check a source mapping against its kind's keys; return the kind."""
    kind = data.get("kind", "board")
    if kind not in KINDS:
        near = get_close_matches(str(kind), list(KINDS), n=1)
        hint = f"did you mean {near[0]!r}? " if near else ""
        raise InputError(f"{origin}: kind {kind!r} is not supported; {hint}use one of {', '.join(KINDS)}.")
    validator = Validator(origin)
    validator.mapping(data, {**COMMON, **KINDS[kind]})
    if kind == "json_api":
        _json_api_rules(data, validator)
    if "follow_seconds" in data and kind not in FOLLOWED_KINDS:
        validator.fail(f"'follow_seconds' is for {' and '.join(FOLLOWED_KINDS)} sources only "
                       f"(a {kind} source is crawled every interval)")
    return kind


def _json_api_rules(data: dict[str, Any], validator: Validator) -> None:
    """What the keys of a JSON API source say of each other."""
    paging = data.get("paging", {"by": "page"})
    placeholder = "{" + paging["by"] + "}"
    if placeholder not in data["url"]:
        validator.fail(f"'url' must contain {placeholder} to page by {paging['by']}")
    if paging["by"] == "cursor" and not paging.get("cursor"):
        validator.fail("the key 'paging.cursor' is missing (the dotted path of the next cursor)")
    if not ({"title", "body"} & set(data["fields"])):
        validator.fail("'fields' must map at least one of title and body")
