"""Scoring speed of the shipped router and relevance models on one core (normalise excluded).

    OMP_NUM_THREADS=1 python research/router_speed.py
"""

from __future__ import annotations

import csv
import json
import time
from pathlib import Path

from analysis.normalise import normalise
from analysis.relevance import RelevanceModel
from analysis.router import RouterModel

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def rate(fn, texts, repeat=3) -> int:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn(texts)
        best = min(best, time.perf_counter() - start)
    return round(len(texts) / best)


def main() -> None:
    with open(DATA / "gov_messages_tipdm2020_votes_dev.csv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    titles = [normalise(r["title"]) for r in rows]
    messages = [normalise(r["title"] + r["body"]) for r in rows]
    short = (titles * (20_000 // len(titles) + 1))[:20_000]
    router, relevance = RouterModel.load(), RelevanceModel.load()
    out = {"short_chars_mean": round(sum(map(len, short)) / len(short), 1),
           "long_chars_mean": round(sum(map(len, messages)) / len(messages), 1)}
    for name, fn in (("router", lambda t: router.predict(t, normalised=True)),
                     ("relevance", lambda t: relevance.score(t, normalised=True))):
        out[f"{name}_short_texts_per_s"] = rate(fn, short)
        out[f"{name}_long_texts_per_s"] = rate(fn, messages)
    start = time.perf_counter()
    RouterModel.load()
    RelevanceModel.load()
    out["load_both_s"] = round(time.perf_counter() - start, 3)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
