"""The analyse step as one batch function, used by the worker and `huiying analyze`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

from analysis.fingerprint import exact_fingerprint, lsh_keys
from analysis.normalise import normalise
from analysis.routing import Rule, route
from analysis.rules import relevance_of, severity_of, topic_of
from analysis.sentiment import get_engine, three_way

RULES_VERSION = "rules-1"
RELEVANCE_THRESHOLD = 0.5


@dataclass
class Analysis:
    text_norm: str = ""
    sentiment: float = 0.5
    label: str = "neutral"
    relevance: float = 0.0
    relevant: bool = False
    topic: str | None = None
    department: str | None = None
    route_confidence: float = 0.0
    suggestions: list[str] = field(default_factory=list)
    severity: str = "一般"
    severity_reasons: list[str] = field(default_factory=list)
    fingerprint: str = ""
    lsh_keys: list[int] = field(default_factory=list)
    model_version: str = ""
    error: str | None = None

    def as_dict(self) -> dict:
        return asdict(self)


def analyse_many(
    items: Sequence[tuple[str, str] | str],
    *,
    rules: Sequence[Rule] = (),
    engine: str = "default",
) -> list[Analysis]:
    """Analyse (title, body) pairs or plain texts; a bad item gets `error`, never a crash."""
    sentiment_engine = get_engine(engine)
    version = f"{RULES_VERSION};{sentiment_engine.version}"
    pairs = [(item, "") if isinstance(item, str) else item for item in items]
    results: list[Analysis] = []
    texts: list[str] = []
    for title, body in pairs:
        try:
            text = normalise(f"{title} {body}" if title and body else (title or body))
            result = Analysis(text_norm=text, fingerprint=exact_fingerprint(text))
            if not text:
                result.error = "empty text"
        except Exception as exc:  # one hostile item must not fail the batch
            result, text = Analysis(error=f"normalise failed: {exc}"), ""
        result.model_version = version
        results.append(result)
        texts.append(text)

    probabilities = sentiment_engine.predict_proba(texts)
    for result, text, p in zip(results, texts, probabilities, strict=True):
        if result.error:
            continue
        result.sentiment = round(float(p), 4)
        result.label = three_way(result.sentiment)
        result.topic = topic_of(text)
        result.relevance = relevance_of(text, result.topic)
        result.relevant = result.relevance >= RELEVANCE_THRESHOLD
        result.severity, result.severity_reasons = severity_of(text, result.sentiment)
        decision = route(text, result.topic, rules)
        result.department = decision.department
        result.route_confidence = decision.confidence
        result.suggestions = decision.suggestions
        if result.relevant:  # only cases are searched for near-duplicates
            result.lsh_keys = lsh_keys(text)
    return results


def analyse(text: str, **kwargs) -> Analysis:
    return analyse_many([text], **kwargs)[0]
