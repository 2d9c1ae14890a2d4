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
import hashlib
import json
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from analysis import linear, modelfile
from analysis.linear import LinearModel, TfidfConfig
from analysis.normalise import normalise

DEFAULT_DIR = Path(__file__).parent / "models" / "router"
DEFAULT_CONFIG = TfidfConfig(n_max=2, bits=18, head_chars=0, min_df=1)
DEFAULT_C = 3.0


def safe_normalise(text) -> str:
    try:
        return normalise(text if isinstance(text, str) else "")
    except Exception:  # a hostile text scores like an empty one, never fails the batch
        return ""


@dataclass
class RouterModel:
    labels: list[str]
    svm: LinearModel  # one score column per label
    temperature: float
    meta: dict = field(default_factory=dict)

    @property
    def version(self) -> str:
        return self.meta.get("version", "router-unsaved")

    def decision_scores(self, texts: Sequence[str], *, normalised: bool = False) -> np.ndarray:
        return self.svm.scores(list(texts) if normalised else [safe_normalise(t) for t in texts])

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
        self.meta = linear.save(directory, "router", self.svm,
                                {**self.meta, "labels": self.labels, "temperature": self.temperature})

    @classmethod
    def load(cls, directory: Path | str = DEFAULT_DIR) -> RouterModel:
        svm, meta = linear.load(directory, "router")
        return cls(list(meta["labels"]), svm, float(meta["temperature"]), meta)


def softmax(scores: np.ndarray) -> np.ndarray:
    z = scores - scores.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def _targets(labels: list[str], classes: list[str]) -> np.ndarray:
    """+1 in the column of each row's label, -1 elsewhere."""
    index = {label: j for j, label in enumerate(classes)}
    targets = -np.ones((len(labels), len(classes)))
    targets[np.arange(len(labels)), [index[y] for y in labels]] = 1.0
    return targets


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


def cross_validate_router(texts: Sequence[str], labels: Sequence[str], folds: int = 5, seed: int = 13,
                          *, config: TfidfConfig = DEFAULT_CONFIG, c: float = DEFAULT_C) -> dict:
    """Stratified k-fold figures; identical texts stay in one fold."""
    texts, labels = _prepare(texts, labels)
    classes = sorted(set(labels))
    scores = linear.out_of_fold(texts, _targets(labels, classes), labels, folds=folds, seed=seed,
                                config=config, c=c)
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


@modelfile.single_threaded
def train_router(texts: Sequence[str], labels: Sequence[str], *, seed: int = 13, folds: int = 5,
                 config: TfidfConfig = DEFAULT_CONFIG, c: float = DEFAULT_C,
                 data_file_sha256: str | None = None) -> RouterModel:
    """Cross-validate (for the figures and the probability calibration), then fit on all."""
    texts, labels = _prepare(texts, labels)
    classes = sorted(set(labels))
    truth = np.array([classes.index(y) for y in labels])
    targets = _targets(labels, classes)
    scores = linear.out_of_fold(texts, targets, labels, folds=folds, seed=seed, config=config, c=c)
    pred = [classes[j] for j in scores.argmax(axis=1)]
    accuracy, f1 = linear.macro_f1(labels, pred)
    temperature = _fit_temperature(scores, truth)
    meta = {
        "trainer": {"model": "one-vs-rest squared-hinge linear SVM, softmax-calibrated", "c": c,
                    "seed": seed},
        "training_rows": len(texts),
        "training_rows_sha256": modelfile.rows_sha256(texts, labels),
        "training_file_sha256": data_file_sha256,
        "cv": {"folds": folds, "accuracy": round(accuracy, 4), "macro_f1": round(f1, 4),
               "per_label_f1": per_label_f1(labels, pred)},
    }
    return RouterModel(classes, LinearModel.fit(texts, targets, config, c, seed), temperature, meta)


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
        hashes.append(modelfile.file_sha256(path))
    digest = hashes[0] if len(hashes) == 1 else hashlib.sha256(" ".join(hashes).encode()).hexdigest()
    texts, labels = deduplicate(texts, labels)
    return texts, labels, digest


def command_line(prog: str, description: str, model_dir: Path,
                 ) -> tuple[argparse.ArgumentParser, argparse.ArgumentParser, argparse.ArgumentParser]:
    """The parser with the `train` and `eval` commands the router and relevance models share."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    sub = parser.add_subparsers(dest="command", required=True)
    train = sub.add_parser("train", help="train on labelled CSV file(s), save to --out")
    train.add_argument("--data", action="append", required=True, help="CSV file (repeatable)")
    train.add_argument("--text-col", action="append", required=True,
                       help="text column; `title+body` joins columns; one per --data or one for all")
    train.add_argument("--label-col", required=True)
    train.add_argument("--out", required=True)
    train.add_argument("--seed", type=int, default=13)
    ev = sub.add_parser("eval", help="evaluate a saved model on a labelled CSV")
    ev.add_argument("--model", default=str(model_dir))
    ev.add_argument("--data", required=True)
    ev.add_argument("--text-col", required=True)
    ev.add_argument("--label-col", required=True)
    return parser, train, ev


def print_evaluation(evaluate, n_texts: int, version: str) -> int:
    """Run `evaluate()`, print its figures with the texts per second and the model version."""
    start = time.perf_counter()
    result = evaluate()
    result["texts_per_s"] = round(n_texts / max(time.perf_counter() - start, 1e-9))
    result["model_version"] = version
    print(json.dumps(result, ensure_ascii=False))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser, train, _ = command_line("python -m analysis.router", __doc__.split("\n")[0], DEFAULT_DIR)
    train.add_argument("--folds", type=int, default=5)
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
    return print_evaluation(lambda: evaluate_router(model, texts, labels), len(texts), model.version)


if __name__ == "__main__":
    raise SystemExit(main())
