"""Measure near-duplicate folding on the bundled demo board's labelled reposts.

    python research/near_duplicates.py

A pair of posts is a true repost pair when both lead (through `repost_of`) to the same
original; prints precision, recall and how many pairs the MinHash bands make candidates.
"""

from __future__ import annotations

import itertools

from analysis.fingerprint import containment, is_near_duplicate, lsh_keys_many
from analysis.normalise import normalise
from crawler.demo import load_posts


def main() -> None:
    base, later = load_posts()
    posts = {p["id"]: p for p in [*base, *later]}

    def root(post: dict) -> int:
        while post.get("repost_of"):
            post = posts[post["repost_of"]]
        return post["id"]

    ids = list(posts)
    texts = {i: normalise(f"{posts[i]['title']} {posts[i]['body']}") for i in ids}
    keys = {i: set(k) for i, k in zip(ids, lsh_keys_many([texts[i] for i in ids]), strict=True)}
    tp = fp = fn = candidates = pairs = 0
    lowest_positive, highest_negative = 1.0, 0.0
    for a, b in itertools.combinations(ids, 2):
        pairs += 1
        same = root(posts[a]) == root(posts[b])
        score = containment(texts[a], texts[b])
        if same:
            lowest_positive = min(lowest_positive, score)
        else:
            highest_negative = max(highest_negative, score)
        candidate = bool(keys[a] & keys[b])
        candidates += candidate
        predicted = candidate and is_near_duplicate(texts[a], texts[b])
        tp += same and predicted
        fp += predicted and not same
        fn += same and not predicted
    print(f"{len(ids)} posts, {pairs} pairs, {tp + fn} repost pairs; candidates {candidates} "
          f"({candidates / pairs:.1%}); precision {tp / max(1, tp + fp):.3f} "
          f"recall {tp / max(1, tp + fn):.3f} (tp {tp}, fp {fp}, fn {fn}); bigram containment: "
          f"lowest of a repost pair {lowest_positive:.2f}, highest of other pairs "
          f"{highest_negative:.2f}")


if __name__ == "__main__":
    main()
