"""Hashed character n-grams for a whole batch at once, in numpy.

Every text of a batch is joined into one code-point array; the n-gram hashes of all texts
are computed with a few vectorised operations (no Python loop per character), so scoring
stays fast on one core. The hash is our own 64-bit mix, not Python's `hash()`, so the same
text gives the same features in every process and on every machine.

The result is a sparse matrix in coordinate form: `SparseBatch(doc, col, val, n_docs)`,
with one entry per distinct (document, feature) pair.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np

MAX_CHARS = 20_000  # the same cut as analysis.normalise

_SEP = 0  # joins texts; a window containing it belongs to no text
_PRIME = np.uint64(0x100000001B3)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_SALT = 0x9E3779B97F4A7C15


def _salt(n: int) -> np.uint64:
    return np.uint64((_SALT * n) & 0xFFFFFFFFFFFFFFFF)


@dataclass(frozen=True)
class SparseBatch:
    doc: np.ndarray  # int64, row of each entry, sorted
    col: np.ndarray  # int64, hashed feature of each entry
    val: np.ndarray  # float32, the count (before any weighting)
    n_docs: int

    def to_scipy(self):  # experiments only; the product needs numpy alone
        from scipy.sparse import csr_matrix

        return csr_matrix((self.val, (self.doc, self.col)), shape=(self.n_docs, 1 << 30))


def _mix(h: np.ndarray) -> np.ndarray:
    h = h ^ (h >> np.uint64(31))
    h = h * _MIX1
    h = h ^ (h >> np.uint64(29))
    h = h * _MIX2
    return h ^ (h >> np.uint64(32))


def codepoints(texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """The batch as one uint64 code-point array, and the document of every position."""
    parts = [(t or "")[:MAX_CHARS].replace("\x00", " ") for t in texts]
    joined = "\x00".join(parts) + "\x00"
    cp = np.frombuffer(joined.encode("utf-32-le", "surrogatepass"), dtype=np.uint32).astype(np.uint64)
    is_sep = cp == _SEP
    doc = np.cumsum(is_sep) - is_sep  # the separator after text i still belongs to i
    return cp, doc


def char_ngrams(texts: list[str], *, n_min: int = 1, n_max: int = 3, bits: int = 18,
                salt: int = 0) -> SparseBatch:
    """Counts of hashed character n-grams (n_min..n_max) in `bits`-bit buckets.

    A different `salt` gives a different (independent) feature family, e.g. for the
    opening characters of a text, where a message board puts its title.
    """
    cp, doc = codepoints(texts)
    sep = (cp == _SEP).astype(np.int64)
    sep_before = np.concatenate(([0], np.cumsum(sep)))  # separators in cp[:i]
    mask = np.uint64((1 << bits) - 1)
    cols, docs = [], []
    h = np.zeros(0, dtype=np.uint64)
    for n in range(1, n_max + 1):
        m = len(cp) - n + 1
        if m <= 0:
            break
        h = cp[:m].copy() if n == 1 else h[:m] * _PRIME + cp[n - 1 :]
        if n < n_min:
            continue
        ok = (sep_before[n : m + n] - sep_before[:m]) == 0
        hashed = _mix(h[ok] ^ _salt(n + 1000 * salt)) & mask
        cols.append(hashed.astype(np.int64))
        docs.append(doc[:m][ok])
    return _coo(docs, cols, len(texts), bits)


def hashed_tokens(token_lists: list[list[str]], *, bits: int = 18, salt: int = 101) -> SparseBatch:
    """Counts of hashed whole tokens (e.g. jieba words), in the same bucket space."""
    docs, raw = [], []
    for i, tokens in enumerate(token_lists):
        for token in tokens:
            if token.strip():
                docs.append(i)
                raw.append(zlib.crc32(token.encode("utf-8", "surrogatepass")))
    h = np.array(raw, dtype=np.uint64) ^ _salt(salt)
    cols = (_mix(h) & np.uint64((1 << bits) - 1)).astype(np.int64)
    return _coo([np.array(docs, dtype=np.int64)], [cols], len(token_lists), bits)


def _coo(docs: list[np.ndarray], cols: list[np.ndarray], n_docs: int, bits: int,
         vals: list[np.ndarray] | None = None) -> SparseBatch:
    if not docs:
        empty = np.zeros(0, dtype=np.int64)
        return SparseBatch(empty, empty, np.zeros(0, dtype=np.float32), n_docs)
    key = (np.concatenate(docs).astype(np.int64) << bits) | np.concatenate(cols)
    if vals is None:
        uniq, counts = np.unique(key, return_counts=True)
    else:
        uniq, inverse = np.unique(key, return_inverse=True)
        counts = np.bincount(inverse, weights=np.concatenate(vals), minlength=len(uniq))
    return SparseBatch(uniq >> bits, uniq & ((1 << bits) - 1), counts.astype(np.float32), n_docs)


def stack(a: SparseBatch, b: SparseBatch, bits: int) -> SparseBatch:
    """Union of two batches over the same documents (counts add where buckets collide)."""
    if a.n_docs != b.n_docs:
        raise ValueError("batches cover different documents")
    return _coo([a.doc, b.doc], [a.col, b.col], a.n_docs, bits, [a.val, b.val])
