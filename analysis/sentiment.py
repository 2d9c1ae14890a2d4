"""Sentiment engines: the probability that a text is positive.

``get_engine()`` gives the default engine, a linear model over hashed character
n-grams (see ``docs/sentiment.md``), loaded once per process from
``analysis/models/sentiment/``. ``get_engine("snownlp")`` gives stock SnowNLP,
kept as a baseline.

Every engine takes a batch of texts and never raises on odd input: empty text
scores 0.5, non-strings are converted, very long texts are cut, lone
surrogates are tolerated.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from analysis.features import FeatureConfig, clean, featurise
from analysis.modelfile import read_json, read_npz

MODEL_DIR = Path(__file__).resolve().parent / "models" / "sentiment"
WEIGHTS_FILE = "weights.npz"
META_FILE = "model.json"

# Texts featurised together: at most BATCH texts and about BATCH_CHARS
# characters, which bounds the memory one call can take (~100 bytes a char).
BATCH = 4096
BATCH_CHARS = 400_000


@runtime_checkable
class SentimentEngine(Protocol):
    name: str
    version: str

    def predict_proba(self, texts: Sequence[str]) -> list[float]:
        """Probability that each text is positive, 0..1."""
        ...


def three_way(p: float, low: float = 0.35, high: float = 0.65) -> str:
    """Map a probability to "negative", "neutral" or "positive"."""
    if p < low:
        return "negative"
    if p > high:
        return "positive"
    return "neutral"


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -40.0, 40.0)))


class NgramSentiment:
    """Linear model over hashed char n-grams and emoticon tags (numpy only)."""

    name = "default"

    def __init__(
        self,
        weights: np.ndarray,
        bias: float,
        calibration: tuple[float, float],
        config: FeatureConfig,
        meta: dict,
    ):
        self.weights = np.ascontiguousarray(weights, dtype=np.float32)
        self.bias = float(bias)
        self.calibration = (float(calibration[0]), float(calibration[1]))
        self.config = config
        self.meta = meta
        self.version = str(meta.get("version", "sent-ngram-unknown"))
        if len(self.weights) != 1 << config.hash_bits:
            raise ValueError(
                f"sentiment model has {len(self.weights)} weights, "
                f"expected 2**{config.hash_bits}; rebuild it with analysis.sentiment_train"
            )

    @classmethod
    def load(cls, path: str | Path | None = None) -> NgramSentiment:
        """Load the model files in ``path`` (default: the shipped model)."""
        folder = Path(path) if path is not None else MODEL_DIR
        meta_path, weights_path = folder / META_FILE, folder / WEIGHTS_FILE
        if not meta_path.is_file() or not weights_path.is_file():
            raise FileNotFoundError(
                f"no sentiment model in {folder}: expected {META_FILE} and {WEIGHTS_FILE}; "
                "build one with `python -m analysis.sentiment_train`"
            )
        meta = read_json(meta_path)
        arrays = read_npz(weights_path)
        return cls(
            weights=arrays["weights"],
            bias=float(arrays["bias"][0]),
            calibration=tuple(arrays["calibration"].tolist()),
            config=FeatureConfig(**meta["features"]),
            meta=meta,
        )

    def decision_function(self, texts: Sequence[str]) -> np.ndarray:
        """Raw linear scores (before calibration) for a batch."""
        out = np.empty(len(texts), dtype=np.float64)
        for start, stop in self._chunks(texts):
            chunk = texts[start:stop]
            batch = featurise(chunk, self.config)
            out[start:stop] = np.bincount(batch.doc, weights=self.weights[batch.col] * batch.val,
                                          minlength=len(chunk))
        return out + self.bias

    def _chunks(self, texts: Sequence[str]):
        cap = self.config.max_chars
        start, chars = 0, 0
        for i, t in enumerate(texts):
            chars += min(len(t), cap) if isinstance(t, str) else 16
            if i + 1 - start >= BATCH or chars >= BATCH_CHARS:
                yield start, i + 1
                start, chars = i + 1, 0
        if start < len(texts):
            yield start, len(texts)

    def predict_proba(self, texts: Sequence[str]) -> list[float]:
        if isinstance(texts, str):
            texts = [texts]
        texts = list(texts)
        if not texts:
            return []
        a, c = self.calibration
        p = _sigmoid(a * self.decision_function(texts) + c)
        empty = np.array([not t for t in clean(texts, 64)], dtype=bool)
        p[empty] = 0.5
        return p.tolist()


class SnowNLPSentiment:
    """Stock SnowNLP (trained on shopping reviews): a baseline, about 240 texts/s."""

    name = "snownlp"

    def __init__(self) -> None:
        from importlib.metadata import version

        import snownlp  # noqa: F401  (fail here, not on first use, if missing)

        self.version = "snownlp-" + version("snownlp")

    def predict_proba(self, texts: Sequence[str]) -> list[float]:
        from snownlp import SnowNLP

        if isinstance(texts, str):
            texts = [texts]
        out = []
        for t in clean(list(texts), FeatureConfig.max_chars):
            if not t:
                out.append(0.5)
                continue
            try:
                out.append(float(SnowNLP(t).sentiments))
            except Exception:  # noqa: BLE001  (SnowNLP trips on odd input; never fail a batch)
                out.append(0.5)
        return out


ENGINES = {"default": NgramSentiment.load, "snownlp": SnowNLPSentiment}
_cache: dict[str, SentimentEngine] = {}
_lock = threading.Lock()


def get_engine(name: str = "default") -> SentimentEngine:
    """The named engine, built once per process."""
    if name not in ENGINES:
        raise ValueError(f"unknown sentiment engine {name!r}; choose one of: {', '.join(ENGINES)}")
    with _lock:
        if name not in _cache:
            _cache[name] = ENGINES[name]()
        return _cache[name]

