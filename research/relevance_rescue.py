"""Measure the relevance rule of analysis/pipeline.py on out-of-fold classifier scores.

    python research/relevance_rescue.py [/path/to/shared/data]

Prints precision, recall and F1 of 教育文体 vs the rest on the labelled DEV government
messages, for the classifier alone and with the lexicon rescue (docs/analysis.md); then how
many posts of the bundled demo board each rule gets right (spam and off-topic = not relevant).
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import numpy as np

from analysis import linear
from analysis import relevance as rel
from analysis.pipeline import RESCUE_FLOOR_STRONG, RESCUE_FLOOR_WEAK
from analysis.rules import is_spam, topic_of

FOLDS, SEED = 5, 13


def out_of_fold_probabilities(texts: list[str], truth: np.ndarray) -> np.ndarray:
    model = rel.RelevanceModel.load()
    svm = linear.out_of_fold(texts, np.where(truth, 1.0, -1.0)[:, None], [str(t) for t in truth],
                             folds=FOLDS, seed=SEED, config=rel.DEFAULT_CONFIG, c=rel.DEFAULT_C)[:, 0]
    p = rel.combine(model.combination, model.platt, model.blend, svm, rel.lexicon_scores(texts),
                    rel.spam_counts(texts))
    return p, model.threshold


def demo_board() -> None:
    from analysis.pipeline import analyse_many, relevance_model
    from crawler.demo import load_posts

    base, later = load_posts()
    posts = [*base, *later]
    results = analyse_many([(p["title"], p["body"]) for p in posts])
    threshold = relevance_model().threshold
    wanted = [not p.get("spam") for p in posts]
    alone = sum((r.relevance >= threshold) == w for r, w in zip(results, wanted, strict=True))
    shipped = sum(r.relevant == w for r, w in zip(results, wanted, strict=True))
    print(f"demo board, {len(posts)} posts ({wanted.count(False)} spam or off-topic): classifier "
          f"alone right on {alone}, shipped rule right on {shipped}")


def main() -> None:
    data = Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/data")
    with open(data / "gov_messages_tipdm2020_labelled_dev.csv", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    texts = [rel.safe_normalise(r["text"]) for r in rows]
    truth = np.array([r["category"] == "教育文体" for r in rows])
    p, threshold = out_of_fold_probabilities(texts, truth)
    topics = [topic_of(t) for t in texts]
    spam = np.array([is_spam(t) for t in texts])
    rules = {
        "classifier alone": lambda x, topic, strong: x >= threshold,
        "rescue, one floor 0.05": lambda x, topic, strong: x >= threshold or (topic and x >= 0.05),
        "rescue, strong/weak floors (shipped)": lambda x, topic, strong: x >= threshold or (
            topic and x >= (RESCUE_FLOOR_STRONG if strong else RESCUE_FLOOR_WEAK)),
    }
    print(f"n={len(texts)} positives={int(truth.sum())} folds={FOLDS} seed={SEED}")
    for name, rule in rules.items():
        pred = ~spam & np.array([rule(x, t is not None, s) for x, (t, s) in zip(p, topics, strict=True)])
        tp, fp, fn = (pred & truth).sum(), (pred & ~truth).sum(), (~pred & truth).sum()
        print(f"{name}: precision {tp / (tp + fp):.3f} recall {tp / (tp + fn):.3f} "
              f"F1 {2 * tp / (2 * tp + fp + fn):.3f}")
    demo_board()


if __name__ == "__main__":
    main()
