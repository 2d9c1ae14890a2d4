"""Router: learns a department (or category) from past assignments.

    model = train_router(texts, labels)          # normalises, cross-validates, fits
    model.predict(["学校食堂饭菜发霉"])            # [(label, confidence, top-3 [(label, p)])]
    model.save(directory); RouterModel.load(directory)

The model: hashed character 1–2 grams of the whole text plus of its opening characters,
sublinear tf-idf, one-vs-rest linear SVMs (see analysis.linear); the SVM scores become
probabilities through a softmax whose temperature is fitted on out-of-fold scores.
Files: `weights.npz` (float32 weights of the columns training saw, no pickle) and
`meta.json` (labels, feature config, version, training data hash, CV figures).

    python -m analysis.router train --data F --text-col text --label-col category --out DIR
    python -m analysis.router eval --model DIR --data F --text-col text --label-col category
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from analysis import linear
from analysis.linear import FeatureConfig
from analysis.normalise import normalise

DEFAULT_DIR = Path(__file__).parent / "models" / "router"
DEFAULT_CONFIG = FeatureConfig(n_max=2, bits=18, head_chars=0, min_df=1)
DEFAULT_C = 3.0
FORMAT = 1


def safe_normalise(text) -> str:
    try:
        return normalise(text if isinstance(text, str) else "")
    except Exception:  # a hostile text scores like an empty one, never fails the batch
        return ""


def version_month() -> str:
    """yyyy.mm of the build: SOURCE_DATE_EPOCH when set (reproducible builds), else today."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    when = dt.datetime.fromtimestamp(int(epoch), dt.UTC) if epoch else dt.datetime.now(dt.UTC)
    return when.strftime("%Y.%m")


@dataclass
class RouterModel:
    labels: list[str]
    config: FeatureConfig
    cols: np.ndarray  # int32 hashed columns that have weights
    weights: np.ndarray  # float32 (n_cols, n_labels)
    bias: np.ndarray  # float32 (n_labels,)
    idf: np.ndarray  # float32 (n_cols,)
    temperature: float
    meta: dict = field(default_factory=dict)

    def __post_init__(self):
        size = 1 << self.config.bits
        self._dense_w = linear.dense_weights(self.cols, self.weights, self.config.bits)
        self._dense_idf = np.zeros(size, dtype=np.float64)
        self._dense_idf[self.cols] = self.idf

    @property
    def version(self) -> str:
        return self.meta.get("version", "router-unsaved")

    def decision_scores(self, texts: Sequence[str], *, normalised: bool = False) -> np.ndarray:
        texts = list(texts) if normalised else [safe_normalise(t) for t in texts]
        batch = linear.featurise(texts, self.config)
        values = linear.weight(batch, self._dense_idf)
        return linear.linear_scores(batch, values, self._dense_w, self.bias.astype(np.float64))

    def probabilities(self, texts: Sequence[str], *, normalised: bool = False) -> np.ndarray:
        return softmax(self.decision_scores(texts, normalised=normalised) * self.temperature)

    def predict(self, texts: Sequence[str], *, normalised: bool = False, top: int = 3,
                ) -> list[tuple[str, float, list[tuple[str, float]]]]:
        """(label, confidence, top suggestions with probabilities) for every text."""
        probs = self.probabilities(texts, normalised=normalised)
        out = []
        for row in probs:
            order = np.argsort(-row, kind="stable")[:top]
            ranked = [(self.labels[j], round(float(row[j]), 4)) for j in order]
            out.append((ranked[0][0], ranked[0][1], ranked))
        return out

    def save(self, directory: Path | str) -> None:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        arrays = {"cols": self.cols.astype(np.int32), "weights": self.weights.astype(np.float32),
                  "bias": self.bias.astype(np.float32), "idf": self.idf.astype(np.float32)}
        meta = dict(self.meta)
        meta.update(format=FORMAT, kind="router", labels=self.labels, features=self.config.as_dict(),
                    temperature=self.temperature)
        meta.pop("version", None)
        meta["version"] = f"router-{version_month()}-{linear.content_hash(arrays, meta)}"
        self.meta = meta
        linear.write_npz(directory / "weights.npz", arrays)
        linear.write_json(directory / "meta.json", meta)

    @classmethod
    def load(cls, directory: Path | str = DEFAULT_DIR) -> RouterModel:
        directory = Path(directory)
        meta = json.loads((directory / "meta.json").read_text(encoding="utf-8"))
        if meta.get("kind") != "router" or meta.get("format") != FORMAT:
            raise ValueError(f"{directory} does not hold a router model of format {FORMAT}")
        arrays = linear.read_npz(directory / "weights.npz")
        return cls(labels=list(meta["labels"]), config=FeatureConfig(**meta["features"]),
                   cols=arrays["cols"], weights=arrays["weights"], bias=arrays["bias"],
                   idf=arrays["idf"], temperature=float(meta["temperature"]), meta=meta)


def softmax(scores: np.ndarray) -> np.ndarray:
    z = scores - scores.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def _fit(texts: list[str], labels: list[str], classes: list[str], config: FeatureConfig, c: float,
         seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    batch = linear.featurise(texts, config)
    df = linear.document_frequency(batch, config.bits)
    idf = linear.idf_from_df(df, len(texts), config.min_df)
    values = linear.weight(batch, idf)
    index = {label: j for j, label in enumerate(classes)}
    targets = -np.ones((len(texts), len(classes)))
    targets[np.arange(len(texts)), [index[y] for y in labels]] = 1.0
    cols, w, b = linear.train_svm(batch, values, targets, c=c, seed=seed)
    return cols, w, b, idf[cols].astype(np.float32)


def _fit_temperature(scores: np.ndarray, truth: np.ndarray) -> float:
    """The softmax temperature with the least out-of-fold log loss (grid, then refine)."""

    def nll(t: float) -> float:
        p = softmax(scores * t)[np.arange(len(truth)), truth]
        return float(-np.mean(np.log(np.maximum(p, 1e-12))))

    grid = np.exp(np.linspace(np.log(0.1), np.log(100.0), 61))
    best = min(grid, key=nll)
    fine = best * np.exp(np.linspace(-0.12, 0.12, 25))
    return round(float(min(fine, key=nll)), 4)


def _prepare(texts: Sequence[str], labels: Sequence[str]) -> tuple[list[str], list[str]]:
    if len(texts) != len(labels):
        raise ValueError("texts and labels differ in length")
    texts = [safe_normalise(t) for t in texts]
    labels = [str(y) for y in labels]
    if len(set(labels)) < 2:
        raise ValueError("a router needs at least two labels")
    return texts, labels


def _out_of_fold(texts: list[str], labels: list[str], classes: list[str], folds: int, seed: int,
                 config: FeatureConfig, c: float) -> np.ndarray:
    groups = ["".join(t.split()) for t in texts]
    fold = linear.stratified_folds(labels, groups, folds, seed)
    scores = np.zeros((len(texts), len(classes)))
    for k in range(folds):
        train = np.flatnonzero(fold != k)
        test = np.flatnonzero(fold == k)
        if not len(test):
            continue
        cols, w, b, idf = _fit([texts[i] for i in train], [labels[i] for i in train], classes,
                               config, c, seed)
        part = RouterModel(classes, config, cols, w, b, idf, 1.0)
        scores[test] = part.decision_scores([texts[i] for i in test], normalised=True)
    return scores


def cross_validate_router(texts: Sequence[str], labels: Sequence[str], folds: int = 5, seed: int = 13,
                          *, config: FeatureConfig = DEFAULT_CONFIG, c: float = DEFAULT_C) -> dict:
    """Stratified k-fold figures; identical texts stay in one fold."""
    texts, labels = _prepare(texts, labels)
    classes = sorted(set(labels))
    scores = _out_of_fold(texts, labels, classes, folds, seed, config, c)
    pred = [classes[j] for j in scores.argmax(axis=1)]
    accuracy, f1 = linear.macro_f1(labels, pred)
    return {"accuracy": round(accuracy, 4), "macro_f1": round(f1, 4), "n": len(texts), "folds": folds,
            "per_label_f1": per_label_f1(labels, pred)}


def per_label_f1(truth: list[str], pred: list[str]) -> dict[str, float]:
    out = {}
    for label in sorted(set(truth)):
        t = [x == label for x in truth]
        p = [x == label for x in pred]
        tp = sum(a and b for a, b in zip(t, p, strict=True))
        denom = sum(t) + sum(p)
        out[label] = round(2 * tp / denom, 4) if denom else 0.0
    return out


def train_router(texts: Sequence[str], labels: Sequence[str], *, seed: int = 13, folds: int = 5,
                 config: FeatureConfig = DEFAULT_CONFIG, c: float = DEFAULT_C,
                 data_file_sha256: str | None = None) -> RouterModel:
    """Cross-validate (for the figures and the probability calibration), then fit on all."""
    texts, labels = _prepare(texts, labels)
    classes = sorted(set(labels))
    truth = np.array([classes.index(y) for y in labels])
    scores = _out_of_fold(texts, labels, classes, folds, seed, config, c)
    pred = [classes[j] for j in scores.argmax(axis=1)]
    accuracy, f1 = linear.macro_f1(labels, pred)
    temperature = _fit_temperature(scores, truth)
    cols, w, b, idf = _fit(texts, labels, classes, config, c, seed)
    meta = {
        "trainer": {"model": "one-vs-rest squared-hinge linear SVM, softmax-calibrated", "c": c,
                    "seed": seed},
        "training_rows": len(texts),
        "training_rows_sha256": linear.data_sha256(texts, labels),
        "training_file_sha256": data_file_sha256,
        "cv": {"folds": folds, "accuracy": round(accuracy, 4), "macro_f1": round(f1, 4),
               "per_label_f1": per_label_f1(labels, pred)},
    }
    return RouterModel(classes, config, cols, w, b, idf, temperature, meta)


def evaluate_router(model: RouterModel, texts: Sequence[str], labels: Sequence[str]) -> dict:
    labels = [str(y) for y in labels]
    pred = [p[0] for p in model.predict(texts)]
    accuracy, f1 = linear.macro_f1(labels, pred)
    return {"accuracy": round(accuracy, 4), "macro_f1": round(f1, 4), "n": len(labels)}


# --- data files and the command line --------------------------------------------------------


def read_labelled_csv(path: Path | str, text_col: str, label_col: str) -> tuple[list[str], list[str]]:
    """Texts and labels of a UTF-8 CSV; `text_col` may join columns: `title+body`."""
    columns = text_col.split("+")
    texts, labels = [], []
    with open(path, encoding="utf-8-sig", newline="") as f:
        reader = csv.DictReader(f)
        missing = [c for c in [*columns, label_col] if c not in (reader.fieldnames or [])]
        if missing:
            raise SystemExit(f"{path}: no column {', '.join(missing)}; it has {reader.fieldnames}")
        for row in reader:
            label = (row[label_col] or "").strip()
            text = "".join(row[c] or "" for c in columns)
            if label and text.strip():
                texts.append(text)
                labels.append(label)
    return texts, labels


def deduplicate(texts: list[str], labels: list[str]) -> tuple[list[str], list[str]]:
    """Keep the first of each normalised text (whitespace ignored)."""
    seen: set[str] = set()
    out_t, out_l = [], []
    for text, label in zip(texts, labels, strict=True):
        key = "".join(safe_normalise(text).split())
        if key not in seen:
            seen.add(key)
            out_t.append(text)
            out_l.append(label)
    return out_t, out_l


def read_many(files: Sequence[str], text_cols: Sequence[str], label_col: str,
              ) -> tuple[list[str], list[str], str]:
    """Rows of one or more files (one --text-col each, or one for all), deduplicated; and the
    sha256 of the files (of the one file, or of their sha256 list)."""
    if len(text_cols) not in (1, len(files)):
        raise SystemExit("give one --text-col, or one per --data file")
    texts, labels, hashes = [], [], []
    for i, path in enumerate(files):
        t, y = read_labelled_csv(path, text_cols[i if len(text_cols) > 1 else 0], label_col)
        texts += t
        labels += y
        hashes.append(linear.file_sha256(Path(path)))
    digest = hashes[0] if len(hashes) == 1 else linear.hashlib.sha256(" ".join(hashes).encode()).hexdigest()
    texts, labels = deduplicate(texts, labels)
    return texts, labels, digest


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m analysis.router", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    train = sub.add_parser("train", help="train on labelled CSV file(s), save to --out")
    train.add_argument("--data", action="append", required=True, help="CSV file (repeatable)")
    train.add_argument("--text-col", action="append", required=True,
                       help="text column; `title+body` joins columns; one per --data or one for all")
    train.add_argument("--label-col", required=True)
    train.add_argument("--out", required=True)
    train.add_argument("--seed", type=int, default=13)
    train.add_argument("--folds", type=int, default=5)
    ev = sub.add_parser("eval", help="evaluate a saved model on a labelled CSV")
    ev.add_argument("--model", default=str(DEFAULT_DIR))
    ev.add_argument("--data", required=True)
    ev.add_argument("--text-col", required=True)
    ev.add_argument("--label-col", required=True)
    args = parser.parse_args(argv)

    if args.command == "train":
        texts, labels, digest = read_many(args.data, args.text_col, args.label_col)
        if len(texts) < 2 * args.folds:
            print(f"error: {len(texts)} labelled rows are too few to train and cross-validate",
                  file=sys.stderr)
            return 2
        start = time.perf_counter()
        model = train_router(texts, labels, seed=args.seed, folds=args.folds, data_file_sha256=digest)
        model.save(args.out)
        print(json.dumps({"version": model.version, "n": len(texts), "labels": model.labels,
                          "cv": model.meta["cv"], "seconds": round(time.perf_counter() - start, 1)},
                         ensure_ascii=False))
        return 0
    model = RouterModel.load(args.model)
    texts, labels = read_labelled_csv(args.data, args.text_col, args.label_col)
    start = time.perf_counter()
    result = evaluate_router(model, texts, labels)
    result["texts_per_s"] = round(len(texts) / max(time.perf_counter() - start, 1e-9))
    result["model_version"] = model.version
    print(json.dumps(result, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
