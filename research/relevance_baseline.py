"""A plain scikit-learn baseline for relevance (教育文体 vs the rest), for comparison.

    OMP_NUM_THREADS=1 python research/relevance_baseline.py [/path/to/shared/data]

Same 5 stratified folds (seed 13) on the labelled DEV government messages: a binary
char-n-gram TF-IDF LinearSVC, and a 7-class one whose prediction is read as binary.
Needs scikit-learn (the train extra).
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics import f1_score
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.pipeline import make_pipeline
from sklearn.svm import LinearSVC


def main() -> None:
    data = Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/data")
    with open(data / "gov_messages_tipdm2020_labelled_dev.csv", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    texts = [r["text"] for r in rows]
    categories = np.array([r["category"] for r in rows])
    truth = categories == "教育文体"
    folds = StratifiedKFold(5, shuffle=True, random_state=13)

    def model():
        return make_pipeline(TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True,
                                             min_df=2), LinearSVC(C=1))

    binary = cross_val_predict(model(), texts, truth, cv=folds)
    seven = cross_val_predict(model(), texts, categories, cv=folds)
    print(f"binary LinearSVC F1 {f1_score(truth, binary):.3f}; 7-class read as binary F1 "
          f"{f1_score(truth, seven == '教育文体'):.3f} (7-class macro-F1 "
          f"{f1_score(categories, seven, average='macro'):.3f})")


if __name__ == "__main__":
    main()
