"""Hashed character n-gram features for a whole batch of texts, in numpy.

One featuriser for every model: the sentiment engine (`analysis.sentiment`) and the router
and relevance models (through `analysis.linear`). The same code featurises text at training
and at run time, so the two cannot drift apart. Nothing is stored but the options in
`FeatureConfig`: there is no vocabulary.

A batch is joined into one array of code points, texts separated by 0; the n-gram hashes of
all texts come from a few vectorised operations (no Python loop per character), so a batch
of short comments costs a few microseconds a text. The hash is our own: a 64-bit polynomial
over the code points, salted by n-gram length and feature family, finished by a splitmix64
mixer. Unlike Python's `hash()` it gives the same features in every process and on every
machine.

The result is a sparse matrix in coordinate form, `SparseBatch(doc, col, val, n_docs)`, with
one entry per distinct (text, feature) pair.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

_PRIME = np.uint64(0x100000001B3)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_GOLDEN = 0x9E3779B97F4A7C15
_MASK64 = (1 << 64) - 1

# Feature families: the same string hashed in another family is another feature.
NGRAM, HEAD, EMOTICON, FIRST_EMOTICON, LAST_EMOTICON, OWN_EMOTICON = range(6)

# Emoticon tags as Weibo writes them: [哈哈], [泪], [good].
_EMOTICON = re.compile(r"\[([^\[\]\x00]{1,8})\]")


@dataclass(frozen=True)
class FeatureConfig:
    """What the featuriser emits. Stored in the model's metadata."""

    ngram_min: int = 1
    ngram_max: int = 3
    hash_bits: int = 20
    max_chars: int = 2000  # longer texts are cut; a bound keeps one giant text from stalling a batch
    fold: bool = True  # strip; full-width ASCII to half-width, ideographic space to space, A-Z to a-z
    head_chars: int = 0  # >0: n-grams within the first head_chars characters again, as their own family
    emoticons: bool = False  # [哈哈] tags, also marked first / last / in the author's own words
    binary: bool = True  # 1 for every distinct feature of a text, else its count
    unit_length: bool = True  # scale each text's vector to unit L2 norm

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class SparseBatch:
    doc: np.ndarray  # int64, text of each entry, sorted
    col: np.ndarray  # int64, hashed feature of each entry, in [0, 2**hash_bits)
    val: np.ndarray  # float32
    n_docs: int


def clean(texts: Sequence[str], max_chars: int, strip: bool = True) -> list[str]:
    """Strings only, cut to max_chars, NUL replaced by a space, stripped unless told not to."""
    out = []
    for t in texts:
        if not isinstance(t, str):
            t = "" if t is None else str(t)
        t = t[:max_chars].replace("\x00", " ")
        out.append(t.strip() if strip else t)
    return out


def mix(h: np.ndarray) -> np.ndarray:
    """splitmix64-style finaliser of a uint64 array."""
    h = h ^ (h >> np.uint64(31))
    h = h * _MIX1
    h = h ^ (h >> np.uint64(29))
    h = h * _MIX2
    return h ^ (h >> np.uint64(32))


def columns(h: np.ndarray, bits: int, family: int = NGRAM, n: int = 0) -> np.ndarray:
    """Feature columns of polynomial hashes: salted by n-gram length and family, mixed, cut."""
    salt = np.uint64((_GOLDEN * (n + 1000 * family)) & _MASK64)
    return (mix(h ^ salt) & np.uint64((1 << bits) - 1)).astype(np.int64)


def string_hashes(strings: Sequence[str]) -> np.ndarray:
    """The polynomial hash of whole strings (emoticon names, words), as for an n-gram."""
    out = []
    for s in strings:
        h = 0
        for ch in s:
            h = (h * int(_PRIME) + ord(ch)) & _MASK64
        out.append(h)
    return np.array(out, dtype=np.uint64)


def _fold(cp: np.ndarray) -> np.ndarray:
    cp = cp.copy()
    cp[(cp >= 0xFF01) & (cp <= 0xFF5E)] -= 0xFEE0
    cp[cp == 0x3000] = 0x20
    cp[(cp >= 0x41) & (cp <= 0x5A)] += 0x20
    return cp


def featurise(texts: Sequence[str], cfg: FeatureConfig) -> SparseBatch:
    """The hashed features of a batch of texts; texts empty after cleaning have none."""
    texts = clean(texts, cfg.max_chars, strip=cfg.fold)
    joined = "\x00".join(texts) + "\x00"
    cp = np.frombuffer(joined.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    if cfg.fold:
        cp = _fold(cp)
    cp = cp.astype(np.uint64)
    is_sep = cp == 0
    doc = np.cumsum(is_sep) - is_sep  # the separator after text i still belongs to i
    sep_before = np.concatenate(([0], np.cumsum(is_sep)))  # separators in cp[:i]
    if cfg.head_chars:
        starts = np.concatenate(([0], np.flatnonzero(is_sep)[:-1] + 1))
        offset = np.arange(len(cp)) - starts[doc]  # position within its text

    cols, docs = [], []
    h = cp
    for n in range(1, cfg.ngram_max + 1):
        m = len(cp) - n + 1
        if m <= 0:
            break
        if n > 1:
            h = h[:m] * _PRIME + cp[n - 1 :]
        if n < cfg.ngram_min:
            continue
        ok = (sep_before[n : m + n] - sep_before[:m]) == 0  # the window holds no separator
        cols.append(columns(h[ok], cfg.hash_bits, NGRAM, n))
        docs.append(doc[:m][ok])
        if cfg.head_chars:
            head = ok & (offset[:m] + n <= cfg.head_chars)
            cols.append(columns(h[head], cfg.hash_bits, HEAD, n))
            docs.append(doc[:m][head])

    if cfg.emoticons:
        matches = list(_EMOTICON.finditer(joined))
        if matches:
            names = [m.group(1) for m in matches]
            uniq = sorted(set(names))
            table = dict(zip(uniq, string_hashes(uniq), strict=True))
            eh = np.array([table[s] for s in names], dtype=np.uint64)
            pos = np.array([m.start() for m in matches], dtype=np.int64)  # str index = code point index
            edoc = doc[pos]
            # Which tag comes first and last in a text, and whether it is in the author's
            # own words or in a quoted repost (after the first //@).
            first = np.ones(len(edoc), dtype=bool)
            first[1:] = edoc[1:] != edoc[:-1]
            last = np.ones(len(edoc), dtype=bool)
            last[:-1] = edoc[1:] != edoc[:-1]
            cut = np.full(len(texts), np.iinfo(np.int64).max)
            fwd = np.array([m.start() for m in re.finditer("//@", joined)], dtype=np.int64)
            np.minimum.at(cut, doc[fwd], fwd)  # the first //@ of each text
            own = pos < cut[edoc]
            for family, keep in ((EMOTICON, slice(None)), (FIRST_EMOTICON, first),
                                 (LAST_EMOTICON, last), (OWN_EMOTICON, own)):
                cols.append(columns(eh[keep], cfg.hash_bits, family))
                docs.append(edoc[keep])

    return _coo(docs, cols, len(texts), cfg)


def _coo(docs: list[np.ndarray], cols: list[np.ndarray], n_docs: int, cfg: FeatureConfig) -> SparseBatch:
    bits = cfg.hash_bits
    key = np.zeros(0, dtype=np.int64)
    if docs:
        key = (np.concatenate(docs).astype(np.int64) << bits) | np.concatenate(cols)
    key.sort()  # not np.unique: its hash table is several times slower here
    starts = np.flatnonzero(np.concatenate(([True], key[1:] != key[:-1]))) if len(key) else key
    val = np.diff(np.append(starts, len(key))).astype(np.float64)  # the count of each feature
    key = key[starts]
    if cfg.binary:
        val[:] = 1.0
    doc = key >> bits
    if cfg.unit_length:
        val = val / unit_norms(doc, val, n_docs)[doc]
    return SparseBatch(doc, key & ((1 << bits) - 1), val.astype(np.float32), n_docs)


def unit_norms(doc: np.ndarray, val: np.ndarray, n_docs: int) -> np.ndarray:
    """The L2 norm of every text's vector; 1 for texts without features."""
    norm = np.sqrt(np.bincount(doc, weights=val * val, minlength=n_docs))
    norm[norm == 0] = 1.0
    return norm
