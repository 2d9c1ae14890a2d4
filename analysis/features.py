"""Hashed character n-gram features for short Chinese texts, in numpy.

The same code featurises text for training and at run time, so the two can
never drift apart. Nothing is stored but the hash space size and the feature
options: there is no vocabulary. Hashing uses a fixed 64-bit mixer, so the
features are identical on every machine and in every process (unlike
Python's ``hash``).

A batch of texts is joined into one array of code points, separated by
``0``; every n-gram of every text is then hashed with a few array
operations. That makes featurising a batch of short comments cost a few
microseconds per text.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import numpy as np

# Longest text featurised. A 200 KB post is cut to its first MAX_CHARS
# characters: sentiment is read from the start of a comment, and a bound keeps
# one giant text from stalling a batch.
MAX_CHARS = 2000

_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_STEP = np.uint64(0x9E3779B97F4A7C15)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)

# Emoticon tags as Weibo writes them: [哈哈], [泪], [good].
_EMOTICON = re.compile(r"\[([^\[\]\x00]{1,8})\]")

# Negation words: the characters that follow them get a marked feature, so that
# 不 + 错 and 没 + 有问题 are told apart from 错 and 有问题.
NEGATORS = "不没别无未非难"


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser, in place on a uint64 array."""
    x ^= x >> _S30
    x *= _M1
    x ^= x >> _S27
    x *= _M2
    x ^= x >> _S31
    return x


def _hash_strings(strings: Sequence[str], salt: int) -> np.ndarray:
    """Stable 64-bit hashes of short strings (emoticon names)."""
    out = np.empty(len(strings), dtype=np.uint64)
    for i, s in enumerate(strings):
        h = np.array([salt], dtype=np.uint64)
        cps = np.frombuffer(s.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
        for cp in cps.astype(np.uint64):
            h = _mix(h * _STEP + cp)
        out[i] = h[0]
    return out


@dataclass(frozen=True)
class FeatureConfig:
    """What the featuriser emits. Stored in the model's metadata."""

    ngram_min: int = 1
    ngram_max: int = 3
    hash_bits: int = 20
    emoticons: bool = True
    negation_window: int = 0  # 0 = off; else mark the next k chars after a negator
    tf: str = "binary"  # "binary" or "log"
    max_chars: int = MAX_CHARS
    extra: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> FeatureConfig:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)


def clean(texts: Sequence[str], max_chars: int = MAX_CHARS) -> list[str]:
    """Strings only, cut to max_chars, stripped, without NUL characters."""
    out = []
    for t in texts:
        if not isinstance(t, str):
            t = "" if t is None else str(t)
        t = t[:max_chars]
        if "\x00" in t:
            t = t.replace("\x00", " ")
        out.append(t.strip())
    return out


def _fold(cps: np.ndarray) -> np.ndarray:
    """Full-width ASCII to half-width, ideographic space to space, A-Z to a-z."""
    cps = cps.copy()
    full = (cps >= 0xFF01) & (cps <= 0xFF5E)
    cps[full] -= 0xFEE0
    cps[cps == 0x3000] = 0x20
    upper = (cps >= 0x41) & (cps <= 0x5A)
    cps[upper] += 0x20
    return cps


def featurise(texts: Sequence[str], cfg: FeatureConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Hash a batch of texts.

    Returns ``(doc, col, val)``: for each distinct (text, feature) pair the
    text's index in the batch, the feature column in ``[0, 2**hash_bits)`` and
    its value. Values are normalised so that each text's vector has unit L2
    norm. Texts that are empty after cleaning have no features.
    """
    cleaned = clean(texts, cfg.max_chars)
    n = len(cleaned)
    joined = "\x00" + "\x00".join(cleaned) + "\x00"
    cps = _fold(np.frombuffer(joined.encode("utf-32-le", "surrogatepass"), dtype=np.uint32))
    sep = cps == 0
    doc_at = np.cumsum(sep) - 1  # position -> text index
    c64 = cps.astype(np.uint64)
    mask = np.uint64((1 << cfg.hash_bits) - 1)

    hashes: list[np.ndarray] = []
    docs: list[np.ndarray] = []

    h = np.zeros(len(c64), dtype=np.uint64)
    bad = np.zeros(len(c64), dtype=bool)
    edge = int(cfg.extra.get("edge", 0)) if cfg.extra else 0
    sep_pos = np.flatnonzero(sep)
    for k in range(1, cfg.ngram_max + 1):
        # h[i] is the hash of the k-gram starting at i; bad[i] marks windows that
        # cross a separator.
        length = len(c64) - k + 1
        if length <= 0:
            break
        h = _mix(h[:length] * _STEP + c64[k - 1 : k - 1 + length] + np.uint64(k))
        bad = bad[:length] | sep[k - 1 : k - 1 + length]
        if k >= cfg.ngram_min:
            ok = ~bad
            hashes.append(h[ok])
            docs.append(doc_at[:length][ok])
        if k <= 2 and edge:
            # the same n-gram again, marked as near the start / near the end of the text
            d = doc_at[:length]
            i = np.arange(length)
            head = ~bad & (i - sep_pos[np.minimum(d, n)] - 1 < edge)
            tail = ~bad & (sep_pos[np.minimum(d + 1, n)] - (i + k) < edge)
            hashes.append(_mix(h[head] + np.uint64(0x4E4E)))
            docs.append(d[head])
            hashes.append(_mix(h[tail] + np.uint64(0x7A7A)))
            docs.append(d[tail])

    if cfg.negation_window > 0:
        neg = np.isin(cps, np.array([ord(ch) for ch in cfg_negators(cfg)], dtype=np.uint32))
        neg_pos = np.flatnonzero(neg)
        for j in range(1, cfg.negation_window + 1):
            p = neg_pos + j
            p = p[p < len(cps)]
            # stay inside the same text
            p = p[doc_at[p] == doc_at[p - j]]
            p = p[~sep[p]]
            # feature: negator (any) followed, j chars later, by this char
            hv = _mix(c64[p] * _STEP + np.uint64(0xA5A5 + j))
            hashes.append(hv)
            docs.append(doc_at[p])

    if cfg.emoticons:
        names, where = [], []
        for m in _EMOTICON.finditer(joined):
            names.append(m.group(1))
            where.append(m.start())
        if names:
            uniq = sorted(set(names))
            table = dict(zip(uniq, _hash_strings(uniq, 0xE307), strict=True))
            eh = np.array([table[s] for s in names], dtype=np.uint64)
            # m.start() indexes the joined str; code point indexes are the same
            pos = np.array(where, dtype=np.int64)
            edoc = doc_at[pos]
            hashes.append(eh)
            docs.append(edoc)
            if cfg.extra.get("emoticon_position"):
                # Which emoticon comes first and last in a text, and whether it
                # is in the author's own words or in a quoted repost (after //@).
                first = np.ones(len(edoc), dtype=bool)
                first[1:] = edoc[1:] != edoc[:-1]
                last = np.ones(len(edoc), dtype=bool)
                last[:-1] = edoc[1:] != edoc[:-1]
                hashes.append(_mix(eh[first] + np.uint64(0x1F)))
                docs.append(edoc[first])
                hashes.append(_mix(eh[last] + np.uint64(0x2F)))
                docs.append(edoc[last])
                fwd = np.array([m.start() for m in re.finditer("//@", joined)], dtype=np.int64)
                if len(fwd):
                    fdoc = doc_at[fwd]
                    # first //@ of each text
                    ff = np.ones(len(fdoc), dtype=bool)
                    ff[1:] = fdoc[1:] != fdoc[:-1]
                    cut = np.full(n, np.iinfo(np.int64).max)
                    cut[fdoc[ff]] = fwd[ff]
                    quoted = pos > cut[edoc]
                else:
                    quoted = np.zeros(len(pos), dtype=bool)
                own = ~quoted
                hashes.append(_mix(eh[own] + np.uint64(0x3F)))
                docs.append(edoc[own])

    if not hashes or sum(len(h) for h in hashes) == 0:
        return (np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float32))
    col = (np.concatenate(hashes) & mask).astype(np.int64)
    doc = np.concatenate(docs).astype(np.int64)
    key = doc << np.int64(cfg.hash_bits) | col
    key.sort()
    first = np.empty(len(key), dtype=bool)
    first[0] = True
    np.not_equal(key[1:], key[:-1], out=first[1:])
    if cfg.tf == "binary":
        key = key[first]
        val = np.ones(len(key), dtype=np.float64)
    else:
        starts = np.flatnonzero(first)
        counts = np.diff(np.append(starts, len(key)))
        key = key[starts]
        val = 1.0 + np.log(counts.astype(np.float64))
    doc = key >> np.int64(cfg.hash_bits)
    col = key & np.int64((1 << cfg.hash_bits) - 1)
    norms = np.sqrt(np.bincount(doc, weights=val * val, minlength=n))
    val = val / norms[doc]
    return doc, col, val.astype(np.float32)


def cfg_negators(cfg: FeatureConfig) -> str:
    return cfg.extra.get("negators", NEGATORS) if cfg.extra else NEGATORS
