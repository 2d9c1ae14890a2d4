"""Fingerprints that fold reposts into one case."""

from __future__ import annotations

import hashlib
import re

import numpy as np

from analysis.features import mix

_REPOST_PREFIX = re.compile(r"^(转发|转载|转|同问|顶|求回复|再次反映)[!！:：,，\s]*")
_NOT_WORD = re.compile(r"[\W_]+")


def exact_fingerprint(text: str) -> str:
    """Equal for normalised texts that differ only in punctuation, spacing or a repost prefix."""
    core = core_text(text)
    return hashlib.sha1(core.encode("utf-8"), usedforsecurity=False).hexdigest()


# --- near-duplicates: MinHash LSH for candidates, bigram containment to decide ----------

NUM_PERM = 64
ROWS_PER_BAND = 2  # 32 bands: pairs with Jaccard ≥ 0.4 meet in some band with p > 0.99
MIN_SHINGLES = 8  # shorter texts fold only when identical
MAX_GRAMS_PER_CHUNK = 50_000
NEAR_DUPLICATE_CONTAINMENT = 0.5
_PRIME = (1 << 61) - 1
_rng = np.random.default_rng(20261125)  # fixed: keys must be equal across processes and years
_A = _rng.integers(1, _PRIME, NUM_PERM, dtype=np.uint64)
_B = _rng.integers(0, _PRIME, NUM_PERM, dtype=np.uint64)


def core_text(text: str) -> str:
    """What reposts share: no repost prefix, punctuation or spacing."""
    return _NOT_WORD.sub("", _REPOST_PREFIX.sub("", text.strip())).lower()


def shingles(text: str) -> set[int]:
    """The text's character bigrams, each one int (two code points of 21 bits): made with
    numpy and compared as ints, twice as fast as sets of two-character strings."""
    return set(_bigrams(core_text(text)).tolist())


def _bigrams(core: str) -> np.ndarray:
    cp = np.frombuffer(core.encode("utf-32-le", "surrogatepass"), dtype=np.uint32).astype(np.uint64)
    return (cp[:-1] << np.uint64(21)) | cp[1:]  # code points fit 21 bits


_BAND_SALT = mix(np.arange(1, NUM_PERM // ROWS_PER_BAND + 1, dtype=np.uint64))


def lsh_keys(text: str) -> list[int]:
    """Band keys of the MinHash signature (signed 64-bit, to fit a BIGINT column)."""
    return lsh_keys_many([text])[0]


def lsh_keys_many(texts: list[str]) -> list[list[int]]:
    """lsh_keys for a batch: one set of numpy operations for all texts, not one per text."""
    grams, owners = [], []
    for i, text in enumerate(texts):
        unique = np.unique(_bigrams(core_text(text)))
        if len(unique) >= MIN_SHINGLES:
            grams.append(unique)
            owners.append(i)
    keys: list[list[int]] = [[] for _ in texts]
    # Chunks keep the (permutations × grams) matrix near 25 MB whatever the batch.
    chunk, size = [], 0
    for index, gram in enumerate(grams):
        chunk.append(index)
        size += len(gram)
        if size >= MAX_GRAMS_PER_CHUNK or index == len(grams) - 1:
            rows = _band_keys([grams[i] for i in chunk])
            for i, row in zip(chunk, rows, strict=True):
                keys[owners[i]] = row
            chunk, size = [], 0
    return keys


def _band_keys(grams: list[np.ndarray]) -> list[list[int]]:
    starts = np.cumsum([0] + [len(g) for g in grams[:-1]])
    x = mix(np.concatenate(grams)) >> np.uint64(3)  # below 2**61, the family's prime
    # (a*x + b) mod p per permutation; uint64 wrap-around is fine for a hash family.
    hashed = (_A[:, None] * x[None, :] + _B[:, None]) % np.uint64(_PRIME)
    signatures = np.minimum.reduceat(hashed, starts, axis=1).T  # (texts, NUM_PERM)
    bands = signatures.reshape(len(grams), -1, ROWS_PER_BAND)
    combined = np.broadcast_to(_BAND_SALT, bands.shape[:2])
    for j in range(ROWS_PER_BAND):
        combined = mix(combined ^ bands[:, :, j])
    return combined.view(np.int64).tolist()


def containment(a: str, b: str) -> float:
    """Share of the shorter text's bigrams found in the other one (0..1)."""
    return shingle_containment(a, shingles(a), b, shingles(b))


def shingle_containment(a: str, sa: set[int], b: str, sb: set[int]) -> float:
    """`containment` of two texts whose shingles are already made (a batch compares one
    case's text with many comments: its shingles are made once)."""
    if len(sa) < MIN_SHINGLES or len(sb) < MIN_SHINGLES:
        return 1.0 if core_text(a) == core_text(b) else 0.0
    return len(sa & sb) / min(len(sa), len(sb))


def is_near_duplicate(a: str, b: str) -> bool:
    return containment(a, b) >= NEAR_DUPLICATE_CONTAINMENT
