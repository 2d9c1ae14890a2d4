"""The analyse step as one batch function, used by the worker and `huiying analyze`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from functools import cache
from typing import TYPE_CHECKING

from analysis.fingerprint import exact_fingerprint, lsh_keys_many
from analysis.normalise import normalise
from analysis.routing import RouteDecision, Rule, route
from analysis.rules import Topics, is_spam, severity_of, topic_matcher, topic_of
from analysis.sentiment import get_engine, three_way

if TYPE_CHECKING:
    from analysis.relevance import RelevanceModel
    from analysis.router import RouterModel

RULES_VERSION = "rules-2"
# Below this the learned router only suggests: the press office decides (待研判).
ROUTER_CONFIDENCE = 0.6
# The relevance classifier was trained on long provincial messages and underrates short
# local ones ("食堂饭菜里吃出虫子"); an education topic found by the local lexicon rescues
# those above a floor (lower for a word that means education on its own, like 校车),
# unless they carry a spam word. Recall matters more than precision here: a dismissed
# case costs a click, a missed complaint costs trust (docs/analysis.md: measurements).
RESCUE_FLOOR_STRONG = 0.01
RESCUE_FLOOR_WEAK = 0.05


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


@cache
def relevance_model():
    from analysis.relevance import RelevanceModel

    return RelevanceModel.load()


def analyse_many(
    items: Sequence[tuple[str, str] | str],
    *,
    rules: Sequence[Rule] = (),
    engine: str = "default",
    router: RouterModel | None = None,
    topics: Topics | None = None,
    relevance: RelevanceModel | None = None,
) -> list[Analysis]:
    """Analyse (title, body) pairs or plain texts; a bad item gets `error`, never a crash.

    Routing: the table (`rules`) decides first; where it does not, a router trained on the
    installation's own history may, when it is confident; otherwise the case waits for
    triage with the router's suggestions.

    Topics: `topics` maps name → (strong words, weak words), e.g. the taxonomy an admin
    edited; None means the lexicon's. A taxonomy other than the lexicon's is recorded in
    `model_version` as `topics-<digest>`.

    Relevance: `relevance` is a model the installation trained (with its corrections);
    None means the shipped one.
    """
    sentiment_engine = get_engine(engine)
    relevance = relevance or relevance_model()
    matcher = topic_matcher(topics)
    versions = [RULES_VERSION, sentiment_engine.version, relevance.version]
    if router is not None:
        versions.append(router.version)
    if matcher.digest != topic_matcher().digest:
        versions.append(f"topics-{matcher.digest}")
    version = ";".join(versions)

    results: list[Analysis] = []
    for item in items:
        title, body = (item, "") if isinstance(item, str) else item
        try:
            text = normalise(f"{title} {body}" if title and body else (title or body))
            result = Analysis(text_norm=text, fingerprint=exact_fingerprint(text))
            if not text:
                result.error = "empty text"
        except Exception as exc:  # one hostile item must not fail the batch
            result = Analysis(error=f"normalise failed: {exc}")
        result.model_version = version
        results.append(result)

    good = [r for r in results if not r.error]
    texts = [r.text_norm for r in good]
    probabilities = sentiment_engine.predict_proba(texts)
    relevance_scores = relevance.score(texts, normalised=True)
    routed = router.predict(texts, normalised=True) if router is not None and texts else []
    for i, result in enumerate(good):
        text = result.text_norm
        result.sentiment = round(float(probabilities[i]), 4)
        result.label = three_way(result.sentiment)
        result.relevance = relevance_scores[i]
        result.topic, strong = topic_of(text, matcher)
        result.relevant = (result.relevance >= relevance.threshold and not is_spam(text)
                           or rescued(text, result.relevance, result.topic, strong))
        result.severity, result.severity_reasons = severity_of(text, result.sentiment)
        decision = decide_route(text, result.topic, rules, routed[i] if routed else None)
        result.department = decision.department
        result.route_confidence = decision.confidence
        result.suggestions = decision.suggestions
    relevant = [r for r in good if r.relevant]  # only cases are searched for near-duplicates
    for result, keys in zip(relevant, lsh_keys_many([r.text_norm for r in relevant]), strict=True):
        result.lsh_keys = keys
    return results


def decide_route(text: str, topic: str | None, rules: Sequence[Rule], routed=None) -> RouteDecision:
    """The table decides first; where it does not, the router's prediction `routed`
    ((label, confidence, ranked) of RouterModel.predict, None: no router) decides when it is
    confident, and otherwise gives the suggestions for triage."""
    decision = route(text, topic, rules)
    if routed is None or decision.department is not None:
        return decision
    label, confidence, ranked = routed
    return RouteDecision(label if confidence >= ROUTER_CONFIDENCE else None, confidence,
                         [name for name, _ in ranked])


def rescued(text: str, relevance: float, topic: str | None, strong: bool) -> bool:
    """Whether a local topic lifts a text the classifier scored low into relevance."""
    floor = RESCUE_FLOOR_STRONG if strong else RESCUE_FLOOR_WEAK
    return topic is not None and relevance >= floor and not is_spam(text)


def analyse(text: str, **kwargs) -> Analysis:
    return analyse_many([text], **kwargs)[0]
