"""The default sentiment engine: behaviour, model files, reproducibility, accuracy floors."""

from __future__ import annotations

import csv
import hashlib
import json
import re
import zipfile
from pathlib import Path

import numpy as np
import pytest

from analysis.sentiment import (
    MODEL_DIR,
    NgramSentiment,
    SentimentEngine,
    get_engine,
    read_npz,
    three_way,
)
from tests.analysis._data import shared_data

SENTIMENT_FILES = {
    "sentiment_chnsenticorp_htl_dev.csv": 0.93,
    "sentiment_weibo_senti_24k_dev.csv": 0.97,
    "sentiment_waimai_10k_dev.csv": 0.93,
}


@pytest.fixture(scope="module")
def data() -> Path:
    """The shared data folder with the sentiment DEV files (a skip without it; a failure on CI)."""
    return shared_data(*SENTIMENT_FILES)


@pytest.fixture(scope="module")
def engine() -> NgramSentiment:
    return get_engine("default")


def test_clear_positive_and_negative(engine):
    pos, neg = engine.predict_proba(
        ["感谢教育局及时回复，问题已经解决，非常满意！", "学校食堂饭菜发霉，孩子吃了拉肚子，太气人了！"]
    )
    assert pos > 0.65
    assert neg < 0.35
    assert three_way(pos) == "positive"
    assert three_way(neg) == "negative"


@pytest.mark.parametrize(
    "text, expected",
    [
        ("老师很负责，孩子进步很大，谢谢学校！", "positive"),
        ("校车超载严重，多次反映都没人管，太失望了", "negative"),
        ("补课乱收费，家长敢怒不敢言，希望教育局严查！", "negative"),
    ],
)
def test_education_comments(engine, text, expected):
    assert three_way(engine.predict_proba([text])[0]) == expected


def test_odd_input_never_raises(engine):
    odd = ["", "   ", "😀", "[哈哈]", "\ud800半个代理对\udfff", "好" * 200_000, "\x00\x00", "a\r\nb", "！？"]
    probs = engine.predict_proba(odd)
    assert len(probs) == len(odd)
    assert all(0.0 <= p <= 1.0 for p in probs)
    assert probs[0] == 0.5 and probs[1] == 0.5
    assert engine.predict_proba([]) == []
    assert engine.predict_proba(["", "  ", "\x00"]) == [0.5, 0.5, 0.5]  # a batch with no features at all
    assert engine.predict_proba("好评") == engine.predict_proba(["好评"])  # a bare string is one text
    # non-strings are tolerated too (None → empty)
    assert engine.predict_proba([None, 12])[0] == 0.5  # type: ignore[list-item]


def test_batch_equals_single(engine):
    texts = ["味道不错，送餐很快", "房间太小，隔音很差", "[泪]好难过"]
    batch = engine.predict_proba(texts)
    single = [engine.predict_proba([t])[0] for t in texts]
    assert batch == pytest.approx(single, abs=1e-9)


def test_version_is_stamped_and_matches_weights(engine):
    assert engine.name == "default"
    assert isinstance(engine, SentimentEngine)
    assert re.fullmatch(r"sent-ngram-2026\.11-[0-9a-f]{8}", engine.version)
    arrays = read_npz(MODEL_DIR / "weights.npz")
    digest = hashlib.sha256(arrays["weights"].tobytes() + arrays["bias"][0].tobytes()).hexdigest()
    assert engine.version.endswith(digest[:8])
    meta = json.loads((MODEL_DIR / "model.json").read_text(encoding="utf-8"))
    assert meta["version"] == engine.version
    assert all(len(d["sha256"]) == 64 for d in meta["training_data"])


def test_model_files_load_without_pickle():
    files = sorted(p.name for p in MODEL_DIR.iterdir())
    assert files == ["model.json", "weights.npz"]
    total = sum(p.stat().st_size for p in MODEL_DIR.iterdir())
    assert total < 20 * 1024 * 1024
    with zipfile.ZipFile(MODEL_DIR / "weights.npz") as zf:
        assert sorted(zf.namelist()) == ["bias.npy", "calibration.npy", "weights.npy"]
    arrays = read_npz(MODEL_DIR / "weights.npz")  # allow_pickle=False inside
    assert arrays["weights"].dtype == np.float32
    assert all(a.dtype != object for a in arrays.values())


def test_engine_registry():
    assert get_engine() is get_engine("default")
    with pytest.raises(ValueError, match="unknown sentiment engine 'x'; choose one of: default, snownlp"):
        get_engine("x")


def test_three_way_bounds():
    assert three_way(0.0) == "negative"
    assert three_way(0.35) == "neutral"
    assert three_way(0.5) == "neutral"
    assert three_way(0.65) == "neutral"
    assert three_way(0.651) == "positive"


def test_a_large_batch_scores_every_text_like_single_calls(engine):
    # Speed is measured by `huiying bench analysis` (make bench), never asserted in a test.
    texts = [f"第{i}条：孩子在学校挺好的，就是作业有点多" for i in range(5000)]
    batch = engine.predict_proba(texts)
    assert len(batch) == len(texts)
    assert [round(p, 9) for p in batch[:3]] == [round(engine.predict_proba([t])[0], 9) for t in texts[:3]]


def _sample_rows(path: Path, n: int, seed: int = 0) -> list[dict]:
    with open(path, encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    rng = np.random.default_rng(seed)
    return [rows[i] for i in sorted(rng.choice(len(rows), size=n, replace=False))]


def test_training_is_reproducible(data, tmp_path):
    from analysis.sentiment_train import train  # scikit-learn: in the test extras

    small = tmp_path / "small.csv"
    rows = _sample_rows(data / "sentiment_waimai_10k_dev.csv", 1200) + _sample_rows(
        data / "sentiment_chnsenticorp_htl_dev.csv", 800
    )
    with open(small, "w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=["text", "label"])
        writer.writeheader()
        writer.writerows(rows)

    metas = [train([str(small)], seed=7, out_dir=tmp_path / f"m{i}") for i in (1, 2)]
    for name in ("weights.npz", "model.json"):
        a, b = ((tmp_path / f"m{i}" / name).read_bytes() for i in (1, 2))
        assert hashlib.sha256(a).hexdigest() == hashlib.sha256(b).hexdigest(), name
    assert metas[0]["version"] == metas[1]["version"]
    small_engine = NgramSentiment.load(tmp_path / "m1")
    assert small_engine.version == metas[0]["version"]
    assert small_engine.predict_proba(["很好吃，下次还点"])[0] > 0.5


@pytest.mark.parametrize("name, floor", sorted(SENTIMENT_FILES.items()))
def test_accuracy_floor_on_dev_slice(engine, data, tmp_path, name, floor):
    """A regression guard, not an estimate: the shipped model was trained on these DEV rows.

    Held-out figures come from 5-fold CV (docs/sentiment.md).
    """
    from analysis.sentiment_train import evaluate

    sliced = tmp_path / name
    with open(sliced, "w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=["text", "label"])
        writer.writeheader()
        writer.writerows({"text": r["text"], "label": r["label"]} for r in _sample_rows(data / name, 1000))
    result = evaluate(engine, sliced)
    assert result["n"] == 1000
    assert result["accuracy"] >= floor, result
