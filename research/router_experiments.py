"""Model-family experiments for the router and relevance models (5-fold CV on DEV).

Needs scikit-learn and scipy (experiments only; the shipped models need numpy alone).
    OMP_NUM_THREADS=1 python research/router_experiments.py [names...]
"""

from __future__ import annotations

import csv
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
from scipy.sparse import csr_matrix, hstack
from sklearn.calibration import CalibratedClassifierCV
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.metrics import f1_score
from sklearn.model_selection import StratifiedKFold
from sklearn.naive_bayes import ComplementNB, MultinomialNB
from sklearn.svm import LinearSVC

from analysis.features import columns, featurise, string_hashes
from analysis.linear import TfidfConfig
from analysis.normalise import normalise

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
BITS = int(__import__('os').environ.get('BITS', 18))


def load(with_sample: bool):
    with open(DATA / "gov_messages_tipdm2020_labelled_dev.csv", encoding="utf-8") as f:
        rows = [(r["text"], r["category"]) for r in csv.DictReader(f)]
    if with_sample:
        with open(DATA / "gov_messages_tipdm2020_sample_dev.csv", encoding="utf-8") as f:
            rows += [(r["title"] + r["body"], r["category"]) for r in csv.DictReader(f)]
    seen, texts, labels = set(), [], []
    for text, label in rows:
        norm = normalise(text)
        key = "".join(norm.split())
        if key in seen:
            continue
        seen.add(key)
        texts.append(norm)
        labels.append(label)
    return texts, np.array(labels)


def counts(texts, n_min, n_max, head=0):
    config = replace(TfidfConfig(n_max=n_max, bits=BITS, head_chars=head).features(), ngram_min=n_min)
    b = featurise(texts, config)
    return csr_matrix((b.val, (b.doc, b.col)), shape=(len(texts), 1 << BITS))


def matrix(texts, n_max=3, words=False, n_min=1, head=0, head_w=1.0):
    X = counts(texts, n_min, n_max)
    if head:
        X = X + head_w * (counts(texts, n_min, n_max, head) - X)  # the head family alone
    if words:
        import jieba
        jieba.setLogLevel(60)
        tokens = [[w for w in jieba.lcut(t) if w.strip()] for t in texts]
        doc = [i for i, ts in enumerate(tokens) for _ in ts]
        col = columns(string_hashes([w for ts in tokens for w in ts]), BITS, family=101)
        W = csr_matrix((np.ones(len(doc)), (doc, col)), shape=(len(texts), 1 << BITS))  # sums repeats
        X = hstack([X, W]).tocsr()
    return X


def tfidf(Xtr, Xte, sublinear=True, idf=True):
    def tf(X):
        X = X.copy()
        if sublinear:
            X.data = 1 + np.log(X.data)
        return X
    Xtr, Xte = tf(Xtr), tf(Xte)
    if idf:
        df = np.asarray((Xtr > 0).sum(0)).ravel()
        w = np.log((1 + Xtr.shape[0]) / (1 + df)) + 1
        Xtr, Xte = Xtr.multiply(w).tocsr(), Xte.multiply(w).tocsr()
    for X in (Xtr, Xte):
        n = np.sqrt(np.asarray(X.multiply(X).sum(1)).ravel())
        n[n == 0] = 1
        X.data /= np.repeat(n, np.diff(X.indptr))
    return Xtr, Xte


def nbsvm_fit_predict(Xtr, ytr, Xte, C=10, alpha=1.0):
    classes = np.unique(ytr)
    Btr, Bte = Xtr.copy(), Xte.copy()
    Btr.data[:] = 1
    Bte.data[:] = 1
    scores = []
    for c in classes:
        pos = np.asarray(Btr[ytr == c].sum(0)).ravel() + alpha
        neg = np.asarray(Btr[ytr != c].sum(0)).ravel() + alpha
        r = np.log((pos / pos.sum()) / (neg / neg.sum()))
        m = LogisticRegression(C=C, max_iter=2000)
        m.fit(Btr.multiply(r).tocsr(), ytr == c)
        scores.append(m.decision_function(Bte.multiply(r).tocsr()))
    return classes[np.argmax(np.vstack(scores), 0)]


def model(name):
    kind, _, arg = name.partition(":")
    v = float(arg) if arg else None
    if kind == "lr":
        return LogisticRegression(C=v or 10, max_iter=3000), True
    if kind == "svm":
        return LinearSVC(C=v or 1), True
    if kind == "svmb":
        return LinearSVC(C=v or 1, class_weight="balanced"), True
    if kind == "svmraw":
        return LinearSVC(C=v or 1), "raw"
    if kind == "svmcal":
        return CalibratedClassifierCV(LinearSVC(C=v or 1), cv=3), True
    if kind == "sgd":
        return SGDClassifier(loss="modified_huber", alpha=v or 1e-5, max_iter=50, random_state=13), True
    if kind == "cnb":
        return ComplementNB(alpha=v or 0.3), False
    if kind == "cnbtf":
        return ComplementNB(alpha=v or 0.3), "tf"
    if kind == "mnb":
        return MultinomialNB(alpha=v or 0.1), False
    raise ValueError(name)


def run(name, texts, y, n_max=3, words=False, n_min=1, binary=False, head=0):
    X = matrix(texts, n_max=n_max, words=words, n_min=n_min, head=head)
    if binary:
        X.data[:] = 1
    folds = StratifiedKFold(5, shuffle=True, random_state=13)
    pred = np.empty(len(y), dtype=object)
    t0 = time.time()
    for tr, te in folds.split(texts, y):
        if name.startswith("nbsvm"):
            arg = name.partition(":")[2]
            pred[te] = nbsvm_fit_predict(X[tr], y[tr], X[te], C=float(arg or 10))
            continue
        clf, weighted = model(name)
        Xtr, Xte = X[tr], X[te]
        if weighted is True:
            Xtr, Xte = tfidf(Xtr, Xte)
        elif weighted == "raw":
            Xtr, Xte = tfidf(Xtr, Xte, sublinear=False)
        elif weighted == "tf":
            Xtr, Xte = tfidf(Xtr, Xte, idf=False)
        clf.fit(Xtr, y[tr])
        pred[te] = clf.predict(Xte)
    acc = float(np.mean(pred == y))
    f1 = float(f1_score(y, pred.astype(str), average="macro"))
    return {"acc": round(acc, 4), "macro_f1": round(f1, 4), "s": round(time.time() - t0, 1)}


if __name__ == "__main__":
    specs = sys.argv[1:]
    cache = {}
    for spec in specs:
        # spec: model|n_max|words|sample  e.g. lr:10|3|0|0
        name, n_max, words, sample, *rest = spec.split("|")
        key = sample
        if key not in cache:
            cache[key] = load(sample == "1")
        texts, y = cache[key]
        n_min = int(rest[0]) if rest else 1
        binary = len(rest) > 1 and rest[1] == "b"
        head = int(rest[2]) if len(rest) > 2 else 0
        r = run(name, texts, y, n_max=int(n_max), words=words == "1", n_min=n_min, binary=binary, head=head)
        print(json.dumps({"spec": spec, "n": len(y), **r}), flush=True)


def load_unlabelled(exclude: set[str]):
    out, seen = [], set(exclude)
    for name in ("gov_messages_tipdm2020_votes_dev.csv", "gov_replies_tipdm2020_dev.csv"):
        with open(DATA / name, encoding="utf-8") as f:
            for r in csv.DictReader(f):
                norm = normalise(r["title"] + r["body"])
                key = "".join(norm.split())
                if key and key not in seen:
                    seen.add(key)
                    out.append(norm)
    return out


def self_training(texts, y, C=3.0, n_max=2, min_margin=0.0, weight=1.0, rounds=1, taxonomy=False):
    """Per fold: fit, pseudo-label the unlabelled messages the fold's model is sure of, refit."""
    keys = {"".join(t.split()) for t in texts}
    pool = load_unlabelled(keys)
    X = matrix(texts, n_max=n_max)
    U = matrix(pool, n_max=n_max)
    extra_X, extra_y = None, None
    if taxonomy:
        with open(DATA / "gov_category_taxonomy_tipdm2020.csv", encoding="utf-8") as f:
            tax = [(normalise(r["level2"] + r["level3"]), r["level1"]) for r in csv.DictReader(f)]
        tax = [(t, lab) for t, lab in tax if lab in set(y)]
        extra_X, extra_y = matrix([t for t, _ in tax], n_max=n_max), np.array([lab for _, lab in tax])
    folds = StratifiedKFold(5, shuffle=True, random_state=13)
    pred = np.empty(len(y), dtype=object)
    from scipy.sparse import vstack
    for tr, te in folds.split(texts, y):
        Xtr, ytr = X[tr], y[tr]
        if extra_X is not None:
            Xtr, ytr = vstack([Xtr, extra_X]).tocsr(), np.concatenate([ytr, extra_y])
        A, B = tfidf(Xtr, vstack([X[te], U]).tocsr())
        clf = LinearSVC(C=C).fit(A, ytr)
        Bte, Bu = B[: len(te)], B[len(te):]
        for _ in range(rounds):
            s = clf.decision_function(Bu)
            srt = np.sort(s, 1)
            margin = srt[:, -1] - srt[:, -2]
            keep = margin >= min_margin
            pl = clf.classes_[s.argmax(1)][keep]
            sw = np.concatenate([np.ones(A.shape[0]), np.full(keep.sum(), weight)])
            clf = LinearSVC(C=C).fit(vstack([A, Bu[keep]]).tocsr(), np.concatenate([ytr, pl]),
                                     sample_weight=sw)
        pred[te] = clf.predict(Bte)
    acc = float(np.mean(pred == y))
    f1 = float(f1_score(y, pred.astype(str), average="macro"))
    return {"acc": round(acc, 4), "macro_f1": round(f1, 4), "pool": len(pool)}
