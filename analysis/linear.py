"""The machinery the router and relevance models share, in numpy alone.

- `Features`: hashed character n-grams of the whole text, plus a second family for the
  opening characters (a message board puts the title first), weighted by sublinear tf-idf
  and scaled to unit length.
- `train_svm`: one-vs-rest L2-regularised, squared-hinge linear SVMs, all classes at once,
  by dual coordinate descent (Hsieh et al., ICML 2008). No randomness but the visiting
  order, which comes from the seed, so training is reproducible bit for bit.
- `stratified_folds`: k folds, stratified by label, that keep identical texts together.
- `write_npz` / `read_npz`: an `.npz` with fixed zip timestamps (byte-identical for the same
  arrays) that loads with `allow_pickle=False`.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from analysis.ngrams import SparseBatch, char_ngrams


@dataclass(frozen=True)
class FeatureConfig:
    n_max: int = 2  # character 1..n_max grams
    bits: int = 18  # hash space 2**bits
    head_chars: int = 0  # >0: also n-grams of the first head_chars characters, own family
    min_df: int = 1  # features seen in fewer training texts are dropped

    def as_dict(self) -> dict:
        return asdict(self)


def featurise(texts: Sequence[str], config: FeatureConfig) -> SparseBatch:
    texts = list(texts)
    batch = char_ngrams(texts, n_max=config.n_max, bits=config.bits)
    if config.head_chars:
        from analysis.ngrams import stack

        head = char_ngrams([t[: config.head_chars] for t in texts], n_max=config.n_max,
                           bits=config.bits, salt=1)
        batch = stack(batch, head, config.bits)
    return batch


def document_frequency(batch: SparseBatch, bits: int) -> np.ndarray:
    return np.bincount(batch.col, minlength=1 << bits)


def idf_from_df(df: np.ndarray, n_docs: int, min_df: int) -> np.ndarray:
    idf = np.log((1.0 + n_docs) / (1.0 + df)) + 1.0
    idf[df < min_df] = 0.0
    return idf


def weight(batch: SparseBatch, idf: np.ndarray) -> np.ndarray:
    """Sublinear tf × idf, each document scaled to unit length; returns the entry values."""
    val = (1.0 + np.log(batch.val.astype(np.float64))) * idf[batch.col]
    norm = np.sqrt(np.bincount(batch.doc, weights=val * val, minlength=batch.n_docs))
    norm[norm == 0] = 1.0
    return val / norm[batch.doc]


def linear_scores(batch: SparseBatch, values: np.ndarray, dense_w: np.ndarray,
                  bias: np.ndarray) -> np.ndarray:
    """(n_docs, k) scores of a linear model over the hashed space; dense_w is (2**bits, k)."""
    k = dense_w.shape[1]
    scores = np.empty((batch.n_docs, k), dtype=np.float64)
    contrib = dense_w[batch.col] * values[:, None]
    for j in range(k):
        scores[:, j] = np.bincount(batch.doc, weights=contrib[:, j], minlength=batch.n_docs)
    return scores + bias


def train_svm(batch: SparseBatch, values: np.ndarray, targets: np.ndarray, *, c: float,
              seed: int, max_epochs: int = 300, tol: float = 0.05,
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One-vs-rest squared-hinge SVMs with a bias; targets is (n_docs, k) of ±1.

    Returns (used hashed columns, weights (n_used, k), bias (k,)). Only columns with a
    non-zero value in some training text can get a weight, so only those are kept.
    """
    cols, local = np.unique(batch.col[values != 0], return_inverse=True)
    nz = values != 0
    doc, val = batch.doc[nz], values[nz]
    n, k = batch.n_docs, targets.shape[1]
    indptr = np.searchsorted(doc, np.arange(n + 1))
    w = np.zeros((len(cols), k))
    b = np.zeros(k)
    alpha = np.zeros((n, k))
    d_ii = 0.5 / c
    q_ii = np.bincount(doc, weights=val * val, minlength=n) + 1.0 + d_ii  # +1: the bias feature
    y = targets.astype(np.float64)
    rng = np.random.default_rng(seed)
    for _ in range(max_epochs):
        lo, hi = np.inf, -np.inf
        for i in rng.permutation(n):
            s, e = indptr[i], indptr[i + 1]
            idx, v = local[s:e], val[s:e]
            g = y[i] * (v @ w[idx] + b) - 1.0 + d_ii * alpha[i]
            pg = np.where(alpha[i] > 0, g, np.minimum(g, 0.0))
            lo, hi = min(lo, pg.min()), max(hi, pg.max())
            new = np.maximum(alpha[i] - g / q_ii[i], 0.0)
            step = (new - alpha[i]) * y[i]
            if not step.any():
                continue
            alpha[i] = new
            w[idx] += np.outer(v, step)
            b += step
        if hi - lo < tol:
            break
    return cols.astype(np.int32), w.astype(np.float32), b.astype(np.float32)


def dense_weights(cols: np.ndarray, w: np.ndarray, bits: int) -> np.ndarray:
    dense = np.zeros((1 << bits, w.shape[1]), dtype=np.float32)
    dense[cols] = w
    return dense


def stratified_folds(labels: Sequence[str], groups: Sequence[str], folds: int, seed: int) -> np.ndarray:
    """Fold number of every row; rows with the same group (e.g. same text) share a fold."""
    first: dict[str, str] = {}
    for group, label in zip(groups, labels, strict=True):
        first.setdefault(group, label)
    names = sorted(first)
    by_label: dict[str, list[str]] = {}
    for g in names:
        by_label.setdefault(first[g], []).append(g)
    rng = np.random.default_rng(seed)
    fold_of: dict[str, int] = {}
    offset = 0
    for label in sorted(by_label):
        members = by_label[label]
        for rank, pos in enumerate(rng.permutation(len(members))):
            fold_of[members[pos]] = (rank + offset) % folds
        offset += len(members)
    return np.array([fold_of[g] for g in groups], dtype=np.int64)


def macro_f1(truth: Sequence[str], pred: Sequence[str]) -> tuple[float, float]:
    """(accuracy, macro-F1 over the labels present in truth or predictions)."""
    truth, pred = list(truth), list(pred)
    if not truth:
        return 0.0, 0.0
    labels = sorted(set(truth) | set(pred))
    f1s = []
    for label in labels:
        tp = sum(1 for t, p in zip(truth, pred, strict=True) if t == label and p == label)
        fp = sum(1 for t, p in zip(truth, pred, strict=True) if t != label and p == label)
        fn = sum(1 for t, p in zip(truth, pred, strict=True) if t == label and p != label)
        f1s.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
    accuracy = sum(1 for t, p in zip(truth, pred, strict=True) if t == p) / len(truth)
    return accuracy, float(np.mean(f1s))


def data_sha256(texts: Sequence[str], labels: Sequence[str]) -> str:
    h = hashlib.sha256()
    for text, label in zip(texts, labels, strict=True):
        h.update(text.encode("utf-8", "surrogatepass") + b"\x00" + label.encode("utf-8") + b"\x01")
    return h.hexdigest()


def write_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Like np.savez_compressed, but with fixed timestamps: same arrays → same bytes."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name in sorted(arrays):
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            data = io.BytesIO()
            np.lib.format.write_array(data, np.ascontiguousarray(arrays[name]), allow_pickle=False)
            zf.writestr(info, data.getvalue(), compresslevel=9)
    Path(path).write_bytes(buffer.getvalue())


def read_npz(path: Path) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as data:
        return {name: data[name] for name in data.files}


def write_json(path: Path, meta: dict) -> None:
    Path(path).write_text(json.dumps(meta, ensure_ascii=False, indent=2, sort_keys=True) + "\n",
                          encoding="utf-8")


def content_hash(arrays: dict[str, np.ndarray], meta: dict) -> str:
    h = hashlib.sha256(json.dumps(meta, ensure_ascii=False, sort_keys=True).encode("utf-8"))
    for name in sorted(arrays):
        h.update(name.encode() + np.ascontiguousarray(arrays[name]).tobytes())
    return h.hexdigest()[:8]


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
