"""Decoding crawled pages whose encoding is wrong, missing or mixed.

Government sites declare UTF-8 and serve GBK, or the reverse, and some pages are UTF-8 with a
paragraph pasted in GBK. Any byte string "decodes" as GB18030 without an error, so success
is not enough: a decoding is judged by how plausible its Chinese is — the share of its
ideographs that are among the common ones (GB2312 level 1, Big5's frequent characters). A
UTF-8 page decoded as GBK is full of rare ideographs; the right decoding has almost none.

A page that fails strict UTF-8 is also decoded run by run (each stretch of non-ASCII bytes in
the codec that reads it most plausibly), which restores a GBK fragment inside a UTF-8 page.
A page no decoding reads plausibly is refused (UndecodablePage): it becomes a crawl error,
never a garbled comment.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cache

FALLBACK_ENCODINGS = ("utf-8", "gb18030", "big5")
# Above this share of implausible characters among the ideographs a decoding is rejected:
# real text has well under 5 % (names, rare place names); a wrong codec gives 30-100 %.
MAX_IMPLAUSIBLE = 0.2
MIN_JUDGED = 8  # fewer characters than this: too few to tell rare ideographs from common
_NON_ASCII_RUN = re.compile(rb"[\x80-\xff]+")


class UndecodablePage(ValueError):
    pass


@cache
def _common_ideographs() -> frozenset[str]:
    """GB2312 level 1 (3,755 simplified) and Big5's frequent set (5,401 traditional)."""
    chars: set[str] = set()
    for lead in range(0xB0, 0xD8):
        for trail in range(0xA1, 0xFF):
            try:
                chars.add(bytes((lead, trail)).decode("gb2312"))
            except UnicodeDecodeError:
                continue
    for lead in range(0xA4, 0xC7):
        for trail in (*range(0x40, 0x7F), *range(0xA1, 0xFF)):
            try:
                chars.add(bytes((lead, trail)).decode("big5"))
            except UnicodeDecodeError:
                continue
    return frozenset(chars)


def _is_ideograph(char: str) -> bool:
    return "\u3400" <= char <= "\u9fff"


def _implausible(char: str) -> bool:
    """A character a wrong decoding produces and real Chinese text almost never has."""
    if char == "\ufffd" or "\ue000" <= char <= "\uf8ff" or "\x80" <= char <= "\x9f":
        return True
    return _is_ideograph(char) and char not in _common_ideographs()


_IDEOGRAPHS = re.compile("[\u3400-\u9fff]")
_ODD = re.compile("[\ufffd\ue000-\uf8ff\x80-\x9f]")  # replacement, private use, C1 controls


def implausible_share(text: str) -> float:
    """Share of implausible characters among the ideographs and the odd characters."""
    common = _common_ideographs()
    ideographs = _IDEOGRAPHS.findall(text)
    odd = len(_ODD.findall(text))
    judged = len(ideographs) + odd
    if not judged:
        return 0.0
    # Too few ideographs to tell common from rare; bytes no codec reads still count.
    rare = sum(1 for char in ideographs if char not in common) if judged >= MIN_JUDGED else 0
    return (odd + rare) / judged


def _run_score(text: str) -> int:
    """For one run of bytes: common ideographs count for, anything odd counts against
    (letters U+0080-U+07FF too: GBK pairs that happen to be valid UTF-8 read as Cyrillic)."""
    score = 0
    for char in text:
        if _implausible(char) or "\u0080" <= char <= "\u07ff":
            score -= 1
        elif _is_ideograph(char):
            score += 1
    return score


def _decode_run(run: bytes) -> str:
    best, best_score = None, None
    for encoding in FALLBACK_ENCODINGS:  # ties go to the earlier codec: UTF-8
        try:
            text = run.decode(encoding)
        except UnicodeDecodeError:
            continue
        score = _run_score(text)
        if best_score is None or score > best_score:
            best, best_score = text, score
    return best if best is not None else run.decode("utf-8", errors="replace")


def _decode_by_runs(body: bytes) -> str:
    pieces, position = [], 0
    for match in _NON_ASCII_RUN.finditer(body):
        pieces.append(body[position:match.start()].decode("ascii"))
        pieces.append(_decode_run(match.group()))
        position = match.end()
    pieces.append(body[position:].decode("ascii"))
    return "".join(pieces)


def _codec(name: str) -> str:
    name = name.lower()
    return "gb18030" if name in ("gbk", "gb2312", "gb_2312-80") else name  # a superset of both


def _candidates(declared: str | None, forced: str | None) -> Iterable[str]:
    names = [e for e in (forced, declared) if e] + list(FALLBACK_ENCODINGS)
    return dict.fromkeys(_codec(name) for name in names)


def decode_body(body: bytes, declared: str | None, forced: str | None = None) -> str:
    """The page as text: the first of the forced, declared and usual codecs that decodes it
    strictly into plausible Chinese; else the run-by-run decoding if that is plausible."""
    tried = []
    for encoding in _candidates(declared, forced):
        try:
            text = body.decode(encoding)
        except (UnicodeDecodeError, LookupError):
            tried.append(f"{encoding}: invalid")
            continue
        if encoding == "utf-8":
            return text  # bytes of another codec are never valid UTF-8 beyond a few characters
        share = implausible_share(text)
        if share <= MAX_IMPLAUSIBLE:
            return text
        tried.append(f"{encoding}: {share:.0%} garbled")
    mixed = _decode_by_runs(body)
    share = implausible_share(mixed)
    if share <= MAX_IMPLAUSIBLE:
        return mixed
    tried.append(f"mixed: {share:.0%} garbled")
    raise UndecodablePage(f"the page is not readable text in any encoding ({'; '.join(tried)}); "
                          "not stored")
