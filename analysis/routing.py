"""Routing: which department must answer. The table is data; this is the pure matcher."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Rule:
    department: str
    topic: str | None = None
    keyword: str | None = None
    priority: int = 0


@dataclass(frozen=True)
class RouteDecision:
    department: str | None  # None: the press office must triage (待研判)
    confidence: float
    suggestions: list[str] = field(default_factory=list)


def matching(text: str, topic: str | None, rules: Sequence[Rule]) -> list[tuple[Rule, float]]:
    """The rules that apply to a text, each with its score, in the order given.

    A keyword rule applies when its keyword is in the text (2 + priority); a topic rule
    (one without a keyword) when the text's topic is its topic (1 + priority).
    """
    found: list[tuple[Rule, float]] = []
    for rule in rules:
        if rule.keyword and rule.keyword in text:
            found.append((rule, 2.0 + rule.priority))
        elif rule.topic and rule.keyword is None and rule.topic == topic:
            found.append((rule, 1.0 + rule.priority))
    return found


def route(text: str, topic: str | None, rules: Sequence[Rule]) -> RouteDecision:
    """Keyword rules beat topic rules; ties go to priority. Unsure → triage."""
    scored: dict[str, float] = {}
    for rule, score in matching(text, topic, rules):
        scored[rule.department] = max(scored.get(rule.department, 0.0), score)
    if not scored:
        return RouteDecision(None, 0.0, [])
    ranked = sorted(scored, key=lambda d: (-scored[d], d))
    best = scored[ranked[0]]
    runner_up = scored[ranked[1]] if len(ranked) > 1 else 0.0
    confidence = round(best / (best + runner_up), 3)
    # Two departments equally likely: a person decides.
    department = ranked[0] if confidence > 0.5 else None
    return RouteDecision(department, confidence, ranked[:3])
