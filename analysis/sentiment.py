"""Sentiment engines behind one interface (first cut: stock SnowNLP)."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from importlib.metadata import version
from typing import Protocol


class SentimentEngine(Protocol):
    name: str
    version: str

    def predict_proba(self, texts: Sequence[str]) -> list[float]: ...


class SnowNLPSentiment:
    """SnowNLP's stock model (trained on shopping reviews): the baseline DESIGN names."""

    name = "snownlp"

    def __init__(self) -> None:
        from snownlp import SnowNLP

        self._snownlp = SnowNLP
        self.version = "snownlp-" + version("snownlp")

    def predict_proba(self, texts: Sequence[str]) -> list[float]:
        return [float(self._snownlp(t).sentiments) if t.strip() else 0.5 for t in texts]


ENGINES = {"snownlp": SnowNLPSentiment}


@cache
def get_engine(name: str = "snownlp") -> SentimentEngine:
    if name not in ENGINES:
        raise ValueError(
            f"unknown sentiment engine {name!r}; choose one of: {', '.join(sorted(ENGINES))}"
        )
    return ENGINES[name]()


def three_way(p: float, low: float = 0.35, high: float = 0.65) -> str:
    if p < low:
        return "negative"
    if p > high:
        return "positive"
    return "neutral"
