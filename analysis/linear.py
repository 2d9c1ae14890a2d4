"""The linear-model part the router and relevance models share, in numpy alone.

- `TfidfConfig` and `LinearModel`: hashed character n-grams (`analysis.features`), weighted
  by sublinear tf-idf and scaled to unit length, scored by one linear SVM per output column.
- `train_svm`: one-vs-rest L2-regularised, squared-hinge linear SVMs, all classes at once,
  by dual coordinate descent (Hsieh et al., ICML 2008). No randomness but the visiting
  order, which comes from the seed, so training is reproducible bit for bit.
- `out_of_fold`: scores of k-fold models on the texts each did not see; `stratified_folds`
  keeps identical texts together.
- `save` / `load`: `weights.npz` + `meta.json` (`analysis.modelfile`), with a version made of
  the kind, the build month and a hash of the content.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from analysis import modelfile
from analysis.features import FeatureConfig, SparseBatch, featurise, unit_norms

FORMAT = 1
MAX_CHARS = 20_000  # the same cut as analysis.normalise


@dataclass(frozen=True)
class TfidfConfig:
    n_max: int = 2  # character 1..n_max grams
    bits: int = 18  # hash space 2**bits
    head_chars: int = 0  # >0: also n-grams of the first head_chars characters, own family
    min_df: int = 1  # features seen in fewer training texts are dropped

    def as_dict(self) -> dict:
        return asdict(self)

    def features(self) -> FeatureConfig:
        """Counts of n-grams of the (already normalised) text; tf-idf is done here."""
        return FeatureConfig(ngram_max=self.n_max, hash_bits=self.bits, max_chars=MAX_CHARS,
                             fold=False, head_chars=self.head_chars, binary=False, unit_length=False)


def idf_from_df(df: np.ndarray, n_docs: int, min_df: int) -> np.ndarray:
    idf = np.log((1.0 + n_docs) / (1.0 + df)) + 1.0
    idf[df < min_df] = 0.0
    return idf


def weight(batch: SparseBatch, idf: np.ndarray) -> np.ndarray:
    """Sublinear tf × idf, each document scaled to unit length; returns the entry values."""
    val = (1.0 + np.log(batch.val.astype(np.float64))) * idf[batch.col]
    return val / unit_norms(batch.doc, val, batch.n_docs)[batch.doc]


@dataclass
class LinearModel:
    """Linear SVM scores (one column per class) over tf-idf weighted hashed n-grams."""

    config: TfidfConfig
    cols: np.ndarray  # int32 hashed columns that have weights
    weights: np.ndarray  # float32 (n_cols, k)
    bias: np.ndarray  # float32 (k,)
    idf: np.ndarray  # float32 (n_cols,)

    def __post_init__(self):
        size = 1 << self.config.bits
        self._dense_w = np.zeros((size, self.weights.shape[1]), dtype=np.float32)
        self._dense_w[self.cols] = self.weights
        self._dense_idf = np.zeros(size, dtype=np.float64)
        self._dense_idf[self.cols] = self.idf

    def scores(self, texts: Sequence[str]) -> np.ndarray:
        """(n_texts, k) SVM scores of normalised texts."""
        batch = featurise(texts, self.config.features())
        values = weight(batch, self._dense_idf)
        contrib = self._dense_w[batch.col] * values[:, None]
        scores = np.empty((batch.n_docs, contrib.shape[1]), dtype=np.float64)
        for j in range(contrib.shape[1]):
            scores[:, j] = np.bincount(batch.doc, weights=contrib[:, j], minlength=batch.n_docs)
        return scores + self.bias.astype(np.float64)

    @classmethod
    def fit(cls, texts: Sequence[str], targets: np.ndarray, config: TfidfConfig, c: float,
            seed: int) -> LinearModel:
        """Train on normalised texts; targets is (n_texts, k) of ±1."""
        batch = featurise(texts, config.features())
        df = np.bincount(batch.col, minlength=1 << config.bits)
        idf = idf_from_df(df, len(texts), config.min_df)
        cols, w, b = train_svm(batch, weight(batch, idf), targets, c=c, seed=seed)
        return cls(config, cols, w, b, idf[cols].astype(np.float32))


def out_of_fold(texts: list[str], targets: np.ndarray, strata: Sequence[str], *, folds: int,
                seed: int, config: TfidfConfig, c: float) -> np.ndarray:
    """Scores of every text by the model of the fold that did not train on it."""
    groups = ["".join(t.split()) for t in texts]
    fold = stratified_folds(strata, groups, folds, seed)
    scores = np.zeros(targets.shape)
    for k in range(folds):
        train, test = np.flatnonzero(fold != k), np.flatnonzero(fold == k)
        if not len(test):
            continue
        model = LinearModel.fit([texts[i] for i in train], targets[train], config, c, seed)
        scores[test] = model.scores([texts[i] for i in test])
    return scores


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


def version_month() -> str:
    """yyyy.mm of the build: SOURCE_DATE_EPOCH when set (reproducible builds), else today."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    when = dt.datetime.fromtimestamp(int(epoch), dt.UTC) if epoch else dt.datetime.now(dt.UTC)
    return when.strftime("%Y.%m")


def save(directory: Path | str, kind: str, model: LinearModel, meta: dict) -> dict:
    """Write the model and its metadata; returns the metadata with format, kind and version."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    arrays = {"cols": model.cols.astype(np.int32), "weights": model.weights.astype(np.float32),
              "bias": model.bias.astype(np.float32), "idf": model.idf.astype(np.float32)}
    meta = {**meta, "format": FORMAT, "kind": kind, "features": model.config.as_dict()}
    meta.pop("version", None)
    meta["version"] = f"{kind}-{version_month()}-{modelfile.content_hash(arrays, meta)}"
    modelfile.write_npz(directory / "weights.npz", arrays)
    modelfile.write_json(directory / "meta.json", meta)
    return meta


def load(directory: Path | str, kind: str) -> tuple[LinearModel, dict]:
    directory = Path(directory)
    meta = modelfile.read_json(directory / "meta.json")
    if meta.get("kind") != kind or meta.get("format") != FORMAT:
        raise ValueError(f"{directory} does not hold a {kind} model of format {FORMAT}")
    arrays = modelfile.read_npz(directory / "weights.npz")
    model = LinearModel(TfidfConfig(**meta["features"]), arrays["cols"], arrays["weights"],
                        arrays["bias"], arrays["idf"])
    return model, meta
