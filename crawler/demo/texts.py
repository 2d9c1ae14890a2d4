"""Many distinct request texts made of the demo board's sentences, for the benchmarks' posts."""

from __future__ import annotations

import random

REPOST_SHARE = 0.3  # of the texts, reposts of an earlier one: folded into its case
PLACES = ["城关", "青石", "河口", "柳树", "白沙", "龙门", "石桥", "新华", "东山", "西岭"]


def mixed_texts(count: int, seed: int = 7) -> list[tuple[str, str]]:
    """(title, body) pairs: each new request joins three sentences of different demo posts (so
    it is no near-duplicate of another), and REPOST_SHARE of them repeat an earlier one word for
    word (folded into its case)."""
    from crawler.demo import load_posts

    base, later = load_posts()
    posts = [(p["title"], p["body"]) for p in [*base, *later]]
    sentences = [s + "。" for _, body in posts for s in body.split("。") if len(s) > 6]
    rng = random.Random(seed)
    made: list[tuple[str, str]] = []
    for _ in range(count):
        if made and rng.random() < REPOST_SHARE:
            made.append(made[rng.randrange(len(made))])
            continue
        title = posts[rng.randrange(len(posts))][0]
        place = PLACES[rng.randrange(len(PLACES))]
        made.append((f"{place}{title}", place + "".join(rng.sample(sentences, 3))))
    return made
