"""Relevance: is a text about education or sports policy (教育文体)? A score in 0..1.

Two signals, blended by a logistic model fitted on out-of-fold scores:
- a linear SVM on hashed character n-grams (the router's features), trained on government
  messages, 教育文体 against every other category;
- the local lexicon (`analysis.lexicon.EDUCATION_TERMS`, which an installation may extend):
  the share of up to four distinct terms found.
A third, fixed rule: every distinct spam term (`SPAM_TERMS`: 贷款, 楼盘 …) halves the score;
the training data holds no spam, so this cannot be learned from it.

    model = RelevanceModel.load()
    model.score(["孩子转学需要什么手续"])   # [0.97]
    model.is_relevant(texts)               # score >= the threshold chosen by CV for best F1

    python -m analysis.relevance train --data F --text-col text --label-col category \
        [--data F2 --text-col title+body] --positive 教育文体 --out DIR
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from analysis import linear, modelfile
from analysis.lexicon import EDUCATION_TERMS, SPAM_TERMS
from analysis.linear import LinearModel, TfidfConfig
from analysis.router import command_line, print_evaluation, read_many, safe_normalise

DEFAULT_DIR = Path(__file__).parent / "models" / "relevance"
DEFAULT_CONFIG = TfidfConfig(n_max=2, bits=18, head_chars=0, min_df=1)
DEFAULT_C = 10.0
POSITIVE = "教育文体"
LEXICON_SATURATION = 4  # this many distinct terms make the lexicon signal 1.0
COMBINATIONS = ("classifier", "max", "blend")


def lexicon_scores(texts: Sequence[str], terms: Sequence[str] = EDUCATION_TERMS) -> np.ndarray:
    return np.array([min(1.0, sum(1 for w in terms if w in t) / LEXICON_SATURATION) for t in texts])


def spam_counts(texts: Sequence[str], terms: Sequence[str] = SPAM_TERMS) -> np.ndarray:
    return np.array([sum(1 for w in terms if w in t) for t in texts], dtype=np.float64)


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -40, 40)))


def fit_logistic(features: np.ndarray, truth: np.ndarray, l2: float = 1e-3) -> np.ndarray:
    """Coefficients (bias last) of a small logistic regression, by Newton's method."""
    x = np.hstack([features, np.ones((len(features), 1))])
    beta = np.zeros(x.shape[1])
    for _ in range(50):
        p = sigmoid(x @ beta)
        grad = x.T @ (p - truth) + l2 * beta
        hess = (x * (p * (1 - p))[:, None]).T @ x + l2 * np.eye(x.shape[1])
        step = np.linalg.solve(hess, grad)
        beta -= step
        if np.abs(step).max() < 1e-8:
            break
    return beta


def best_threshold(scores: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
    """The threshold with the best F1 (ties: the one nearest 0.5), and that F1."""
    best_t, best_f1 = 0.5, -1.0
    for t in np.round(np.arange(0.05, 0.951, 0.01), 2):
        pred = scores >= t
        tp = float(np.sum(pred & truth))
        f1 = 2 * tp / (pred.sum() + truth.sum()) if tp else 0.0
        if f1 > best_f1 + 1e-12 or (abs(f1 - best_f1) <= 1e-12 and abs(t - 0.5) < abs(best_t - 0.5)):
            best_t, best_f1 = float(t), f1
    return best_t, best_f1


def f1_at(scores: np.ndarray, truth: np.ndarray, threshold: float) -> dict:
    pred = scores >= threshold
    tp = int(np.sum(pred & truth))
    precision = tp / max(int(pred.sum()), 1)
    recall = tp / max(int(truth.sum()), 1)
    f1 = 2 * tp / max(int(pred.sum() + truth.sum()), 1)
    return {"f1": round(f1, 4), "precision": round(precision, 4), "recall": round(recall, 4),
            "accuracy": round(float(np.mean(pred == truth)), 4)}


def combine(combination: str, platt: Sequence[float], blend: Sequence[float], svm: np.ndarray,
            lexicon: np.ndarray, spam: np.ndarray) -> np.ndarray:
    """The score of a combination of the SVM score and the lexicon signal, halved per spam term."""
    p = sigmoid(platt[0] * svm + platt[1])
    if combination == "max":
        p = np.maximum(p, lexicon)
    elif combination == "blend":
        p = sigmoid(blend[0] * svm + blend[1] * lexicon + blend[2])
    return p * 0.5**spam


@dataclass
class RelevanceModel:
    svm: LinearModel  # one score column: positive against the rest
    combination: str  # "classifier" | "max" | "blend"
    platt: list[float]  # a, b: p = sigmoid(a * svm_score + b)
    blend: list[float]  # a, b, c: p = sigmoid(a * svm_score + b * lexicon + c)
    threshold: float
    meta: dict = field(default_factory=dict)
    terms: tuple[str, ...] = EDUCATION_TERMS
    spam_terms: tuple[str, ...] = SPAM_TERMS

    @property
    def version(self) -> str:
        return self.meta.get("version", "relevance-unsaved")

    def score(self, texts: Sequence[str], *, normalised: bool = False) -> list[float]:
        texts = list(texts) if normalised else [safe_normalise(t) for t in texts]
        p = combine(self.combination, self.platt, self.blend, self.svm.scores(texts)[:, 0],
                    lexicon_scores(texts, self.terms), spam_counts(texts, self.spam_terms))
        return [round(float(x), 4) for x in p]

    def is_relevant(self, texts: Sequence[str], *, normalised: bool = False) -> list[bool]:
        return [s >= self.threshold for s in self.score(texts, normalised=normalised)]

    def save(self, directory: Path | str) -> None:
        self.meta = linear.save(directory, "relevance", self.svm, {
            **self.meta, "combination": self.combination, "platt": self.platt, "blend": self.blend,
            "threshold": self.threshold, "lexicon_saturation": LEXICON_SATURATION,
            "spam_rule": "score × 0.5 per distinct spam term"})

    @classmethod
    def load(cls, directory: Path | str = DEFAULT_DIR) -> RelevanceModel:
        svm, meta = linear.load(directory, "relevance")
        return cls(svm, meta["combination"], list(meta["platt"]), list(meta["blend"]),
                   float(meta["threshold"]), meta)


def _targets(truth: np.ndarray) -> np.ndarray:
    return np.where(truth, 1.0, -1.0)[:, None]


def cross_validate_relevance(texts: Sequence[str], labels: Sequence[str], *, positive: str = POSITIVE,
                             folds: int = 5, seed: int = 13, config: TfidfConfig = DEFAULT_CONFIG,
                             c: float = DEFAULT_C) -> dict:
    """Out-of-fold SVM scores, then every combination with its calibration and best threshold.

    The calibration (2–3 numbers) and the threshold are fitted on the same out-of-fold
    scores they are measured on; with thousands of rows the optimism is small.
    """
    texts = [safe_normalise(t) for t in texts]
    truth = np.array([str(y) == positive for y in labels])
    svm = linear.out_of_fold(texts, _targets(truth), [str(t) for t in truth], folds=folds, seed=seed,
                             config=config, c=c)[:, 0]
    lexicon = lexicon_scores(texts)
    platt = [float(v) for v in fit_logistic(svm[:, None], truth.astype(float))]
    blend = [float(v) for v in fit_logistic(np.column_stack([svm, lexicon]), truth.astype(float))]
    results = {}
    spam = np.zeros(len(texts))
    lexicon_only = lexicon * 1.0
    for name in ("lexicon", *COMBINATIONS):
        p = lexicon_only if name == "lexicon" else combine(name, platt, blend, svm, lexicon, spam)
        threshold, _ = best_threshold(p, truth)
        results[name] = {"threshold": threshold, **f1_at(p, truth, threshold)}
    return {"n": len(texts), "positives": int(truth.sum()), "folds": folds, "platt": platt,
            "blend": blend, "by_combination": results}


@modelfile.single_threaded
def train_relevance(texts: Sequence[str], labels: Sequence[str], *, positive: str = POSITIVE,
                    seed: int = 13, folds: int = 5, config: TfidfConfig = DEFAULT_CONFIG,
                    c: float = DEFAULT_C, combination: str | None = None,
                    data_file_sha256: str | None = None) -> RelevanceModel:
    """Cross-validate, pick the combination with the best CV F1 (unless given), fit on all."""
    cv = cross_validate_relevance(texts, labels, positive=positive, folds=folds, seed=seed,
                                  config=config, c=c)
    ranked = sorted(COMBINATIONS, key=lambda n: (-cv["by_combination"][n]["f1"], COMBINATIONS.index(n)))
    chosen = combination or ranked[0]
    norm = [safe_normalise(t) for t in texts]
    truth = np.array([str(y) == positive for y in labels])
    meta = {
        "positive": positive,
        "trainer": {"model": "squared-hinge linear SVM + logistic calibration", "c": c, "seed": seed},
        "training_rows": len(norm),
        "training_rows_sha256": modelfile.rows_sha256(norm, [str(y) for y in labels]),
        "training_file_sha256": data_file_sha256,
        "cv": cv,
    }
    return RelevanceModel(LinearModel.fit(norm, _targets(truth), config, c, seed), chosen, cv["platt"],
                          cv["blend"], cv["by_combination"][chosen]["threshold"], meta)


def evaluate_relevance(model: RelevanceModel, texts: Sequence[str], labels: Sequence[str],
                       positive: str = POSITIVE) -> dict:
    truth = np.array([str(y) == positive for y in labels])
    scores = np.array(model.score(texts))
    return {**f1_at(scores, truth, model.threshold), "n": len(truth), "threshold": model.threshold}


def main(argv: Sequence[str] | None = None) -> int:
    parser, train, ev = command_line("python -m analysis.relevance", __doc__.split("\n")[0], DEFAULT_DIR)
    for command in (train, ev):
        command.add_argument("--positive", default=POSITIVE)
    args = parser.parse_args(argv)
    if args.command == "train":
        texts, labels, digest = read_many(args.data, args.text_col, args.label_col)
        if sum(1 for y in labels if y == args.positive) < 5:
            print(f"error: fewer than 5 rows labelled {args.positive!r}", file=sys.stderr)
            return 2
        start = time.perf_counter()
        model = train_relevance(texts, labels, positive=args.positive, seed=args.seed,
                                data_file_sha256=digest)
        model.save(args.out)
        print(json.dumps({"version": model.version, "n": len(texts), "combination": model.combination,
                          "threshold": model.threshold, "cv": model.meta["cv"]["by_combination"],
                          "seconds": round(time.perf_counter() - start, 1)}, ensure_ascii=False))
        return 0
    model = RelevanceModel.load(args.model)
    texts, labels, _ = read_many([args.data], [args.text_col], args.label_col)
    return print_evaluation(lambda: evaluate_relevance(model, texts, labels, args.positive), len(texts),
                            model.version)


if __name__ == "__main__":
    raise SystemExit(main())
