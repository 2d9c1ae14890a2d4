"""Second round of router / relevance experiments: other model families than one linear SVM.

    OMP_NUM_THREADS=1 python research/router_families.py [/path/to/shared/data] [names...]

names (default all): ensembles svd idf offsets knn-mlp relevance. Same 5 stratified folds
(seed 13) on the labelled + sample DEV government messages (deduplicated, 2,191 texts) as
docs/router-and-relevance.md. Needs scikit-learn and jieba (the train extra); experiments
only, nothing here ships. Every per-fold fit sees its training folds alone, except where a
line says it uses the unlabelled messages (never their labels: they have none).
"""

from __future__ import annotations

import csv
import itertools
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
from scipy.sparse import csr_matrix, hstack, vstack
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
from sklearn.feature_selection import SelectKBest, chi2
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score, precision_recall_curve
from sklearn.model_selection import StratifiedKFold
from sklearn.naive_bayes import ComplementNB
from sklearn.neural_network import MLPClassifier
from sklearn.svm import LinearSVC

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from analysis.normalise import normalise  # noqa: E402
from analysis.relevance import lexicon_scores  # noqa: E402

EDUCATION = "教育文体"


def _dedup(rows):
    seen, texts, labels = set(), [], []
    for text, label in rows:
        norm = normalise(text)
        key = "".join(norm.split())
        if key and key not in seen:
            seen.add(key)
            texts.append(norm)
            labels.append(label)
    return texts, labels, seen


def load(data: Path):
    with open(data / "gov_messages_tipdm2020_labelled_dev.csv", encoding="utf-8") as handle:
        rows = [(r["text"], r["category"]) for r in csv.DictReader(handle)]
    with open(data / "gov_messages_tipdm2020_sample_dev.csv", encoding="utf-8") as handle:
        rows += [(r["title"] + r["body"], r["category"]) for r in csv.DictReader(handle)]
    texts, labels, seen = _dedup(rows)
    unlabelled = []
    for name in ("gov_messages_tipdm2020_votes_dev.csv", "gov_replies_tipdm2020_dev.csv"):
        with open(data / name, encoding="utf-8") as handle:
            extra, _, seen_now = _dedup((r["title"] + r["body"], "") for r in csv.DictReader(handle))
        unlabelled += [t for t in extra if "".join(t.split()) not in seen]
        seen |= seen_now
    return texts, np.array(labels), unlabelled


class Bench:
    def __init__(self, texts, labels, unlabelled):
        self.texts, self.y, self.unlabelled = texts, labels, unlabelled
        self.classes = np.unique(labels)
        self.yi = np.searchsorted(self.classes, labels)
        self.folds = list(StratifiedKFold(5, shuffle=True, random_state=13).split(texts, labels))
        self._words = None

    @property
    def words(self):
        if self._words is None:
            import jieba
            jieba.setLogLevel(60)
            self._words = [" ".join(jieba.lcut(t)) for t in self.texts]
        return self._words

    def chars12_split(self, train, test):
        vec = chars12().fit([self.texts[i] for i in train])
        return vec.transform([self.texts[i] for i in train]), vec.transform([self.texts[i] for i in test])

    def report(self, name: str, scores: np.ndarray) -> np.ndarray:
        pred = scores.argmax(1)
        print(f"{name:44s} accuracy {np.mean(pred == self.yi):.4f}  macro-F1 "
              f"{f1_score(self.yi, pred, average='macro'):.4f}", flush=True)
        return scores

    def oof(self, make: Callable, vectorisers, idf_extra=()) -> np.ndarray:
        """Out-of-fold decision scores; vectorisers: (source, factory) pairs, stacked."""
        scores = np.zeros((len(self.texts), len(self.classes)))
        for train, test in self.folds:
            parts_train, parts_test = [], []
            for source, factory in vectorisers:
                docs = self.words if source == "words" else self.texts
                vec = factory().fit([docs[i] for i in train] + list(idf_extra))
                parts_train.append(vec.transform([docs[i] for i in train]))
                parts_test.append(vec.transform([docs[i] for i in test]))
            model = make().fit(hstack(parts_train).tocsr(), self.y[train])
            x_test = hstack(parts_test).tocsr()
            scores[test] = (model.decision_function(x_test) if hasattr(model, "decision_function")
                            else model.predict_log_proba(x_test))
        return scores


def chars12():
    return TfidfVectorizer(analyzer="char", ngram_range=(1, 2), sublinear_tf=True)


def chars13():
    return TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True, min_df=2)


def words1():
    return TfidfVectorizer(tokenizer=str.split, token_pattern=None, lowercase=False, sublinear_tf=True)


def svm(c: float):
    return lambda: LinearSVC(C=c, class_weight="balanced")


def standardised(scores: np.ndarray) -> np.ndarray:
    return (scores - scores.mean(1, keepdims=True)) / (scores.std(1, keepdims=True) + 1e-9)


def ensembles(b: Bench) -> None:
    members = {
        "svm chars 1-2": b.oof(svm(3), [("chars", chars12)]),
        "svm words": b.oof(svm(1), [("words", words1)]),
        "svm chars 1-2 + words": b.oof(svm(3), [("chars", chars12), ("words", words1)]),
        "logistic chars 1-2 C=30": b.oof(lambda: LogisticRegression(C=30, class_weight="balanced",
                                                                     max_iter=3000), [("chars", chars12)]),
        "complement NB chars 1-3": b.oof(lambda: ComplementNB(alpha=0.3), [("chars", lambda: CountVectorizer(
            analyzer="char", ngram_range=(1, 3)))]),
    }
    for name, scores in members.items():
        b.report(name, scores)
    best = max(((" + ".join(combo), sum(standardised(members[n]) for n in combo))
                for r in (2, 3) for combo in itertools.combinations(members, r)),
               key=lambda item: f1_score(b.yi, item[1].argmax(1), average="macro"))
    b.report(f"best ensemble of 2-3: {best[0]}", best[1])


def svd(b: Bench) -> None:
    """LSA dimensions learned from labelled + unlabelled messages, appended to tf-idf."""
    vec = chars12().fit(b.texts + b.unlabelled)
    x = vec.transform(b.texts)
    for k, weight in ((100, 0.5), (300, 0.5), (300, 1.0)):
        z = TruncatedSVD(k, random_state=13).fit(vstack([x, vec.transform(b.unlabelled)])).transform(x)
        z /= np.linalg.norm(z, axis=1, keepdims=True) + 1e-9
        both = hstack([x, csr_matrix(z * weight)]).tocsr()
        scores = np.zeros((len(b.texts), len(b.classes)))
        for train, test in b.folds:
            scores[test] = svm(3)().fit(both[train], b.y[train]).decision_function(both[test])
        b.report(f"svm + {k} LSA dims x{weight}", scores)


def idf(b: Bench) -> None:
    for c in (1, 3, 10):
        b.report(f"svm C={c}, idf from the training folds", b.oof(svm(c), [("chars", chars12)]))
        b.report(f"svm C={c}, idf + unlabelled messages", b.oof(svm(c), [("chars", chars12)], b.unlabelled))
    b.report("svm C=3 chars 1-3, idf + unlabelled", b.oof(svm(3), [("chars", chars13)], b.unlabelled))


def offsets(b: Bench) -> None:
    """Per-class score offsets that maximise macro-F1, fitted on 4 folds, applied to the 5th."""
    scores = b.oof(svm(3), [("chars", chars12)])

    def macro(s, idx, off):
        return f1_score(b.yi[idx], (s[idx] + off).argmax(1), average="macro")

    pred = np.empty(len(b.texts), dtype=int)
    for train, test in b.folds:
        off = np.zeros(len(b.classes))
        for _ in range(3):
            for c in range(len(b.classes)):
                trials = []
                for d in np.linspace(-0.5, 0.5, 21):
                    candidate = off.copy()
                    candidate[c] = d
                    trials.append((macro(scores, train, candidate), -abs(d), d))
                off[c] = max(trials)[2]
        pred[test] = (scores[test] + off).argmax(1)
    b.report("svm C=3 + per-class offsets (nested)", np.eye(len(b.classes))[pred])


def knn_mlp(b: Bench) -> None:
    n = len(b.texts)
    svm_s, knn_s, mlp_s = (np.zeros((n, len(b.classes))) for _ in range(3))
    for train, test in b.folds:
        x_train, x_test = b.chars12_split(train, test)
        svm_s[test] = svm(3)().fit(x_train, b.y[train]).decision_function(x_test)
        similarity = (x_test @ x_train.T).toarray()
        nearest = np.argsort(-similarity, 1)[:, :15]
        near_sim = np.take_along_axis(similarity, nearest, 1)
        for j in range(len(b.classes)):
            knn_s[test, j] = (near_sim * (b.yi[train][nearest] == j)).sum(1)
        keep = SelectKBest(chi2, k=20000).fit(x_train, b.y[train])
        mlp = MLPClassifier(hidden_layer_sizes=(128,), alpha=1e-4, max_iter=30, random_state=13)
        mlp.fit(keep.transform(x_train), b.y[train])
        mlp_s[test] = np.log(mlp.predict_proba(keep.transform(x_test)) + 1e-9)
    b.report("svm C=3", svm_s)
    b.report("kNN, 15 nearest, cosine-weighted", knn_s)
    b.report("MLP 128 hidden on 20k chi2 features", mlp_s)
    for w in (0.3, 0.5):
        b.report(f"svm + {w} kNN", standardised(svm_s) + w * standardised(knn_s))
        b.report(f"svm + {w} MLP", standardised(svm_s) + w * standardised(mlp_s))


def relevance(b: Bench) -> None:
    """教育文体 vs rest from a binary SVM, from the 7-class SVM's margin, and blends."""
    truth = b.y == EDUCATION
    edu = list(b.classes).index(EDUCATION)
    binary = np.zeros(len(b.texts))
    seven = np.zeros((len(b.texts), len(b.classes)))
    for train, test in b.folds:
        x_train, x_test = b.chars12_split(train, test)
        binary[test] = LinearSVC(C=10).fit(x_train, truth[train]).decision_function(x_test)
        seven[test] = svm(3)().fit(x_train, b.y[train]).decision_function(x_test)
    margin = seven[:, edu] - np.delete(seven, edu, 1).max(1)
    lexicon = lexicon_scores(b.texts)

    def nested(features: np.ndarray) -> float:
        """Logistic blend and threshold fitted on 4 folds' out-of-fold features, applied to the 5th."""
        pred = np.zeros(len(b.texts), bool)
        for train, test in b.folds:
            blend = LogisticRegression(C=10).fit(features[train], truth[train])
            s = blend.decision_function(features)
            p, r, t = precision_recall_curve(truth[train], s[train])
            f = 2 * p * r / (p + r + 1e-12)
            pred[test] = s[test] >= t[np.argmax(f[:-1])]
        return f1_score(truth, pred)

    print(f"relevance F1, 7-class argmax read as binary   {f1_score(truth, seven.argmax(1) == edu):.4f}")
    for name, features in (("binary SVM", binary[:, None]), ("7-class margin", margin[:, None]),
                           ("binary + lexicon", np.c_[binary, lexicon]),
                           ("7-class margin + lexicon", np.c_[margin, lexicon]),
                           ("binary + 7-class margin + lexicon", np.c_[binary, margin, lexicon])):
        print(f"relevance F1, {name:32s} (nested) {nested(features):.4f}", flush=True)


EXPERIMENTS = {"ensembles": ensembles, "svd": svd, "idf": idf, "offsets": offsets, "knn-mlp": knn_mlp,
               "relevance": relevance}


def main() -> None:
    args = sys.argv[1:]
    data = Path(args.pop(0)) if args and Path(args[0]).is_dir() else Path("../shared/data")
    bench = Bench(*load(data))
    print(f"{len(bench.texts)} labelled texts, {len(bench.unlabelled)} unlabelled messages")
    for name in args or EXPERIMENTS:
        print(f"== {name}")
        EXPERIMENTS[name](bench)


if __name__ == "__main__":
    main()
