"""Fingerprints that fold reposts into one case."""

from __future__ import annotations

import hashlib
import re

_REPOST_PREFIX = re.compile(r"^(转发|转载|转|同问|顶|求回复|再次反映)[!！:：,，\s]*")
_NOT_WORD = re.compile(r"[\W_]+")


def exact_fingerprint(text: str) -> str:
    """Equal for normalised texts that differ only in punctuation, spacing or a repost prefix."""
    core = _REPOST_PREFIX.sub("", text.strip())
    core = _NOT_WORD.sub("", core).lower()
    return hashlib.sha1(core.encode("utf-8"), usedforsecurity=False).hexdigest()
