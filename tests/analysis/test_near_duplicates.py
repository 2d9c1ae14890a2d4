"""Near-duplicate folding measured on the demo board's labelled reposts."""

import itertools

from analysis.fingerprint import containment, is_near_duplicate, lsh_keys
from analysis.normalise import normalise
from crawler.demo import load_posts


def test_precision_and_recall_on_demo_repost_pairs():
    base, later = load_posts()
    posts = {p["id"]: p for p in [*base, *later]}

    def root(post):
        while post.get("repost_of"):
            post = posts[post["repost_of"]]
        return post["id"]

    text = {i: normalise(f"{p['title']} {p['body']}") for i, p in posts.items()}
    keys = {i: set(lsh_keys(t)) for i, t in text.items()}
    tp = fp = fn = 0
    for a, b in itertools.combinations(posts, 2):
        same = root(posts[a]) == root(posts[b])
        predicted = bool(keys[a] & keys[b]) and is_near_duplicate(text[a], text[b])
        tp += same and predicted
        fp += predicted and not same
        fn += same and not predicted
    assert tp >= 40  # the demo has over forty repost pairs
    assert tp / (tp + fp) >= 0.98 and tp / (tp + fn) >= 0.95, (tp, fp, fn)


def test_containment_edges():
    a = "城关第一小学三年级已经有三个班一半的孩子请假，都是发烧咳嗽"
    assert containment(a, "同问！" + a + "我们班也是") > 0.9
    assert containment(a, "青石镇中学食堂的饭菜价格又涨了，一份要十五元") < 0.2
    assert containment("短句", "短句") == 1.0 and containment("短句", "短语") == 0.0
    assert lsh_keys("太短") == []
    assert lsh_keys(a) == lsh_keys(a) and len(lsh_keys(a)) == 32


def test_batch_keys_equal_single_keys_across_chunks():
    import random

    from analysis.fingerprint import MAX_GRAMS_PER_CHUNK, lsh_keys_many

    rng = random.Random(7)
    texts = ["".join(chr(0x4E00 + rng.randrange(3000)) for _ in range(rng.randrange(0, 3000)))
             for _ in range(120)] + ["", "短", "😀" * 20]
    assert sum(len(t) for t in texts) > 2 * MAX_GRAMS_PER_CHUNK  # several chunks
    assert lsh_keys_many(texts) == [lsh_keys(t) for t in texts]
