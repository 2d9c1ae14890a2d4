"""Fingerprints that fold reposts into one case."""

from __future__ import annotations

import hashlib
import re

import numpy as np

_REPOST_PREFIX = re.compile(r"^(转发|转载|转|同问|顶|求回复|再次反映)[!！:：,，\s]*")
_NOT_WORD = re.compile(r"[\W_]+")


def exact_fingerprint(text: str) -> str:
    """Equal for normalised texts that differ only in punctuation, spacing or a repost prefix."""
    core = core_text(text)
    return hashlib.sha1(core.encode("utf-8"), usedforsecurity=False).hexdigest()


# --- near-duplicates: MinHash LSH for candidates, bigram containment to decide ----------

SHINGLE = 2
NUM_PERM = 64
ROWS_PER_BAND = 2  # 32 bands: pairs with Jaccard ≥ 0.4 meet in some band with p > 0.99
MIN_SHINGLES = 8  # shorter texts fold only when identical
NEAR_DUPLICATE_CONTAINMENT = 0.5
_PRIME = (1 << 61) - 1
_rng = np.random.default_rng(20261125)  # fixed: keys must be equal across processes and years
_A = _rng.integers(1, _PRIME, NUM_PERM, dtype=np.uint64)
_B = _rng.integers(0, _PRIME, NUM_PERM, dtype=np.uint64)


def core_text(text: str) -> str:
    """What reposts share: no repost prefix, punctuation or spacing."""
    return _NOT_WORD.sub("", _REPOST_PREFIX.sub("", text.strip())).lower()


def shingles(text: str) -> set[str]:
    core = core_text(text)
    return {core[i:i + SHINGLE] for i in range(len(core) - SHINGLE + 1)}


def _stable_hash(value: bytes) -> int:
    return int.from_bytes(hashlib.blake2b(value, digest_size=8).digest(), "little")


def lsh_keys(text: str) -> list[int]:
    """Band keys of the MinHash signature (signed 64-bit, to fit a BIGINT column)."""
    grams = shingles(text)
    if len(grams) < MIN_SHINGLES:
        return []
    x = np.fromiter((_stable_hash(g.encode()) >> 3 for g in grams), dtype=np.uint64,
                    count=len(grams))
    # (a*x + b) mod p per permutation; uint64 wrap-around is fine for a hash family.
    signature = ((_A[:, None] * x[None, :] + _B[:, None]) % np.uint64(_PRIME)).min(axis=1)
    keys = []
    for band in range(NUM_PERM // ROWS_PER_BAND):
        chunk = signature[band * ROWS_PER_BAND:(band + 1) * ROWS_PER_BAND]
        key = _stable_hash(bytes([band]) + chunk.tobytes())
        keys.append(key - (1 << 64) if key >= 1 << 63 else key)
    return keys


def containment(a: str, b: str) -> float:
    """Share of the shorter text's bigrams found in the other one (0..1)."""
    sa, sb = shingles(a), shingles(b)
    if len(sa) < MIN_SHINGLES or len(sb) < MIN_SHINGLES:
        return 1.0 if core_text(a) == core_text(b) else 0.0
    return len(sa & sb) / min(len(sa), len(sb))


def is_near_duplicate(a: str, b: str) -> bool:
    return containment(a, b) >= NEAR_DUPLICATE_CONTAINMENT
