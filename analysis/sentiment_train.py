"""Train, cross-validate and evaluate the default sentiment model.

Training needs scikit-learn and scipy (``pip install scikit-learn``); the
shipped model runs on numpy alone. Rebuild the shipped model with::

    python -m analysis.sentiment_train \\
        --data sentiment_chnsenticorp_htl_dev.csv \\
        --data sentiment_weibo_senti_24k_dev.csv \\
        --data sentiment_waimai_10k_dev.csv \\
        --out analysis/models/sentiment --cv

It prints the model's metadata as JSON. Same data and seed give
byte-identical model files.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from analysis.features import FeatureConfig, featurise
from analysis.modelfile import file_sha256, single_threaded, write_json, write_npz
from analysis.sentiment import META_FILE, WEIGHTS_FILE, SentimentEngine

VERSION_PREFIX = "sent-ngram-2026.11"

DEFAULT_FEATURES = FeatureConfig(ngram_min=1, ngram_max=3, hash_bits=20, max_chars=2000, fold=True,
                                 emoticons=True, binary=True, unit_length=True)
DEFAULT_PARAMS = {
    "classifier": "svm",  # "svm" (L2-loss linear SVM) or "logreg"
    "C": 0.3,
    "nb_alpha": 0.1,  # NB-SVM: scale features by naive-Bayes log-count ratios; None = off
    "corpus_weights": None,  # one sample weight per training file; None = all 1
    "calibration_folds": 3,
}


def read_csv(path: str | Path) -> tuple[list[str], np.ndarray]:
    """Texts and 0/1 labels of a CSV with ``text`` and ``label`` columns."""
    texts, labels = [], []
    with open(path, encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        if not reader.fieldnames or not {"text", "label"} <= set(reader.fieldnames):
            raise ValueError(f"{path}: expected a header with 'text' and 'label' columns")
        for line, row in enumerate(reader, 2):
            label = (row["label"] or "").strip()
            if label not in ("0", "1"):
                raise ValueError(f"{path}: line {line}: label must be 0 or 1, got {label!r}")
            texts.append(row["text"] or "")
            labels.append(int(label))
    return texts, np.array(labels, dtype=np.int64)


def _matrix(texts: Sequence[str], cfg: FeatureConfig):
    import scipy.sparse as sp

    batch = featurise(texts, cfg)
    return sp.csr_matrix((batch.val.astype(np.float64), (batch.doc, batch.col)),
                         shape=(len(texts), 1 << cfg.hash_bits))


def _nb_ratio(X, y: np.ndarray, alpha: float) -> np.ndarray:
    p = np.asarray(X[y == 1].sum(axis=0)).ravel() + alpha
    q = np.asarray(X[y == 0].sum(axis=0)).ravel() + alpha
    return np.log((p / p.sum()) / (q / q.sum()))


def _fit_linear(X, y, weights, params: dict, seed: int) -> tuple[np.ndarray, float]:
    """Fit one linear model; returns (weights over raw features, bias)."""
    import scipy.sparse as sp
    from sklearn.linear_model import LogisticRegression
    from sklearn.svm import LinearSVC

    r = None
    if params.get("nb_alpha") is not None:
        r = _nb_ratio(X, y, float(params["nb_alpha"]))
        X = X @ sp.diags(r)
    if params["classifier"] == "svm":
        model = LinearSVC(C=params["C"], random_state=seed, max_iter=5000)
    elif params["classifier"] == "logreg":
        model = LogisticRegression(C=params["C"], solver="liblinear", random_state=seed)
    else:
        raise ValueError(f"unknown classifier {params['classifier']!r}")
    model.fit(X, y, sample_weight=weights)
    w = model.coef_.ravel().astype(np.float64)
    if r is not None:
        w = w * r
    return w, float(model.intercept_[0])


def _scores(X, w: np.ndarray, b: float) -> np.ndarray:
    return np.asarray(X @ w).ravel() + b


def _folds(y: np.ndarray, group: np.ndarray, k: int, seed: int) -> np.ndarray:
    """Fold number per row, stratified by (group, label), fixed by seed."""
    rng = np.random.default_rng(seed)
    fold = np.empty(len(y), dtype=np.int64)
    for g in np.unique(group):
        for label in (0, 1):
            idx = np.flatnonzero((group == g) & (y == label))
            rng.shuffle(idx)
            fold[idx] = np.arange(len(idx)) % k
    return fold


def _platt(scores: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Fit p = sigmoid(a*s + c) by Newton's method on the log loss."""
    # Platt's smoothed targets avoid infinite slopes on separable scores.
    n_pos, n_neg = int(y.sum()), int(len(y) - y.sum())
    t = np.where(y == 1, (n_pos + 1.0) / (n_pos + 2.0), 1.0 / (n_neg + 2.0))
    a, c = 1.0, 0.0
    for _ in range(100):
        z = np.clip(a * scores + c, -40, 40)
        p = 1.0 / (1.0 + np.exp(-z))
        g = np.array([np.dot(p - t, scores), np.sum(p - t)])
        wgt = p * (1 - p) + 1e-12
        hess = np.array(
            [[np.dot(wgt, scores * scores), np.dot(wgt, scores)], [np.dot(wgt, scores), wgt.sum()]]
        ) + 1e-9 * np.eye(2)
        step = np.linalg.solve(hess, g)
        a, c = a - step[0], c - step[1]
        if np.abs(step).max() < 1e-10:
            break
    return float(a), float(c)


def _load_all(csv_paths: Sequence[str | Path]):
    texts: list[str] = []
    labels, groups = [], []
    for i, path in enumerate(csv_paths):
        t, y = read_csv(path)
        texts.extend(t)
        labels.append(y)
        groups.append(np.full(len(y), i, dtype=np.int64))
    return texts, np.concatenate(labels), np.concatenate(groups)


def _sample_weights(group: np.ndarray, params: dict) -> np.ndarray | None:
    cw = params.get("corpus_weights")
    if cw is None:
        return None
    return np.asarray(cw, dtype=np.float64)[group]


def _fit_calibrated(X, y, group, params: dict, seed: int):
    """Fit on all rows; calibrate on out-of-fold scores."""
    sw = _sample_weights(group, params)
    w, b = _fit_linear(X, y, sw, params, seed)
    k = int(params.get("calibration_folds") or 0)
    if k < 2:
        return w, b, (1.0, 0.0)
    fold = _folds(y, group, k, seed + 1)
    oof = np.empty(len(y))
    for f in range(k):
        tr, te = fold != f, fold == f
        wf, bf = _fit_linear(X[tr], y[tr], None if sw is None else sw[tr], params, seed)
        oof[te] = _scores(X[te], wf, bf)
    return w, b, _platt(oof, y)


@single_threaded
def train(
    csv_paths: list[str],
    *,
    seed: int = 13,
    out_dir: Path,
    features: FeatureConfig = DEFAULT_FEATURES,
    params: dict | None = None,
    cv: dict | None = None,
) -> dict:
    """Train on the CSV files, write the model into ``out_dir``, return its metadata."""
    params = {**DEFAULT_PARAMS, **(params or {})}
    texts, y, group = _load_all(csv_paths)
    X = _matrix(texts, features)
    w, b, (a, c) = _fit_calibrated(X, y, group, params, seed)
    weights = w.astype(np.float32)
    digest = hashlib.sha256(weights.tobytes() + np.float64(b).tobytes()).hexdigest()
    meta = {
        "version": f"{VERSION_PREFIX}-{digest[:8]}",
        "engine": "default",
        "model": "hashed char n-grams + emoticon tags, linear classifier, Platt-calibrated",
        "features": features.to_dict(),
        "params": params,
        "seed": seed,
        "training_data": [
            {"file": Path(p).name, "sha256": file_sha256(p), "rows": int((group == i).sum())}
            for i, p in enumerate(csv_paths)
        ],
        "n_train": len(y),
        "calibration": [a, c],
        "cv": cv,
    }
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    write_npz(
        out_dir / WEIGHTS_FILE,
        {
            "weights": weights,
            "bias": np.array([b], dtype=np.float64),
            "calibration": np.array([a, c], dtype=np.float64),
        },
    )
    write_json(out_dir / META_FILE, meta)
    return meta


@single_threaded
def cross_validate(
    csv_paths: list[str],
    folds: int = 5,
    seed: int = 13,
    *,
    features: FeatureConfig = DEFAULT_FEATURES,
    params: dict | None = None,
) -> dict:
    """k-fold CV accuracy per CSV file; each fold's model is trained on all files."""
    params = {**DEFAULT_PARAMS, **(params or {})}
    texts, y, group = _load_all(csv_paths)
    X = _matrix(texts, features)
    fold = _folds(y, group, folds, seed)
    sw = _sample_weights(group, params)
    correct = np.zeros(len(y), dtype=bool)
    for f in range(folds):
        tr, te = fold != f, fold == f
        w, b = _fit_linear(X[tr], y[tr], None if sw is None else sw[tr], params, seed)
        correct[te] = (_scores(X[te], w, b) > 0) == (y[te] == 1)
    per_file = {Path(p).name: round(float(correct[group == i].mean()), 4) for i, p in enumerate(csv_paths)}
    return {"folds": folds, "seed": seed, "accuracy": per_file}


def evaluate(engine: SentimentEngine, csv_path: str | Path, limit: int | None = None) -> dict:
    """Accuracy (threshold 0.5) and throughput of an engine on a labelled CSV."""
    texts, y = read_csv(csv_path)
    if limit is not None:
        texts, y = texts[:limit], y[:limit]
    start = time.perf_counter()
    p = np.asarray(engine.predict_proba(texts))
    elapsed = time.perf_counter() - start
    return {
        "engine": f"{engine.name} ({engine.version})",
        "accuracy": round(float(((p > 0.5) == (y == 1)).mean()), 4) if len(y) else None,
        "n": len(y),
        "texts_per_s": round(len(y) / elapsed, 1) if elapsed > 0 else None,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m analysis.sentiment_train",
        description="Train the default sentiment model on labelled CSVs (text,label).",
    )
    parser.add_argument("--data", action="append", required=True, help="CSV file; repeat")
    parser.add_argument("--out", type=Path, default=None, help="model folder to write")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--cv", action="store_true", help="also run 5-fold CV; store figures")
    args = parser.parse_args(argv)
    for path in args.data:
        if not Path(path).is_file():
            print(f"error: no such data file: {path}", file=sys.stderr)
            return 2
    cv = cross_validate(args.data, seed=args.seed) if args.cv else None
    if args.out is None:
        print(json.dumps({"cv": cv}, ensure_ascii=False, indent=2, sort_keys=True))
        return 0
    result = train(args.data, seed=args.seed, out_dir=args.out, cv=cv)
    print(json.dumps(result, ensure_ascii=False, indent=2, sort_keys=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
