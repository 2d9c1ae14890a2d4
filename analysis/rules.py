"""Lexicon-based judgements: topic and severity."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from functools import lru_cache

from analysis.lexicon import (
    EDUCATION_TERMS,
    GROUP_TERMS,
    RISK_TERMS,
    SETTLED_TERMS,
    SPAM_TERMS,
    STILL_OPEN_TERMS,
    SYMPTOM_TERMS,
    THANKS_TERMS,
    TOPICS,
)

SEVERITY_ORDER = {"一般": 0, "较大": 1, "重大": 2}


def _alternation(words) -> re.Pattern[str]:
    # Longest first, so "教师资格" wins over "教师" where both match.
    return re.compile("|".join(map(re.escape, sorted(set(words), key=len, reverse=True))))


_EDUCATION = _alternation(EDUCATION_TERMS)
_SPAM = _alternation(SPAM_TERMS)

Topics = Mapping[str, tuple[Sequence[str], Sequence[str]]]


class TopicMatcher:
    """One compiled alternation over every topic word of a taxonomy (name → (strong, weak)).

    A word listed under two topics belongs to the first: strong words before weak ones, then
    in the taxonomy's order. Build matchers with `topic_matcher`, which caches them.
    """

    def __init__(self, topics: Topics):
        self.order: tuple[str, ...] = tuple(topics)
        words = {w: (topic, True) for topic, (strong, _) in topics.items() for w in strong if w}
        words.update({w: (topic, False) for topic, (_, weak) in topics.items() for w in weak
                      if w and w not in words})
        self._words = words
        self._pattern = _alternation(words) if words else None
        content = json.dumps([[t, list(s), list(w)] for t, (s, w) in topics.items()],
                             ensure_ascii=False)
        self.digest = hashlib.sha256(content.encode()).hexdigest()[:8]

    def __call__(self, text: str) -> tuple[str | None, bool]:
        if self._pattern is None:
            return None, False
        educational = has_education_term(text)
        scores: dict[str, int] = {}
        strong_topics: set[str] = set()
        for match in self._pattern.finditer(text):
            topic, strong = self._words[match.group()]
            if strong or educational:
                scores[topic] = scores.get(topic, 0) + len(match.group())
                if strong:
                    strong_topics.add(topic)
        if not scores:
            return None, False
        # Ties go to the topic listed first.
        best = max(self.order, key=lambda t: scores.get(t, 0))
        return best, best in strong_topics


def _key(topics: Topics) -> tuple:
    return tuple((name, tuple(strong), tuple(weak)) for name, (strong, weak) in topics.items())


@lru_cache(maxsize=8)
def _cached_matcher(key: tuple) -> TopicMatcher:
    return TopicMatcher({name: (strong, weak) for name, strong, weak in key})


def topic_matcher(topics: Topics | None = None) -> TopicMatcher:
    """The matcher of a taxonomy (None: the lexicon's TOPICS), compiled once per content,
    so a worker that reloads the taxonomy for every batch recompiles only after an edit."""
    return _cached_matcher(_key(TOPICS if topics is None else topics))


def topic_of(text: str, matcher: TopicMatcher | None = None) -> tuple[str | None, bool]:
    """The topic whose keywords cover most characters of the text (None when none match),
    and whether a strong word was among them. Weak words count only beside an education term.
    `matcher` defaults to the lexicon's taxonomy.
    """
    return (matcher or topic_matcher())(text)


def is_spam(text: str) -> bool:
    return _SPAM.search(text) is not None


def _first(words, text: str) -> str | None:
    return next((w for w in words if w in text), None)


def _risk_words(text: str) -> list[str]:
    """The risk words of the text, a longer one hiding the words inside it (集体停课, not 停课)."""
    found = [w for w in sorted(RISK_TERMS, key=len, reverse=True) if w in text]
    return [w for w in found if not any(w != other and w in other for other in found)]


def severity_of(text: str, sentiment: float) -> tuple[str, list[str]]:
    """重大 / 较大 / 一般, with the reasons a person can check."""
    level, reasons = "一般", []
    for word in _risk_words(text):
        reasons.append(f"风险词：{word}")
        if SEVERITY_ORDER[RISK_TERMS[word]] > SEVERITY_ORDER[level]:
            level = RISK_TERMS[word]
    group, symptom = _first(GROUP_TERMS, text), _first(SYMPTOM_TERMS, text)
    if group and symptom:
        reasons.append(f"多人症状：{group}{symptom}")
        if level == "一般":
            level = "较大"
    if sentiment < 0.1 and level == "一般" and reasons:
        level = "较大"
        reasons.append("情绪强烈负面")
    thanks, settled = _first(THANKS_TERMS, text), _first(SETTLED_TERMS, text)
    if level == "较大" and thanks and settled and not _first(STILL_OPEN_TERMS, text):
        # Settled and thanked for: told as history, not an incident (a 重大 word never is).
        level = "一般"
        reasons.append(f"致谢，事已解决：{settled}、{thanks}")
    return level, reasons


def has_education_term(text: str) -> bool:
    return _EDUCATION.search(text) is not None


# Reposts within a day that make a concern more serious: a matter spreading fast is one.
HEAT_LEVELS = ((30, "重大"), (10, "较大"))


def escalate_for_heat(level: str, reasons: list[str], recent: int) -> tuple[str, list[str]]:
    """Raise the severity when `recent` comments joined the case within 24 hours."""
    for threshold, heat_level in HEAT_LEVELS:
        if recent >= threshold:
            if SEVERITY_ORDER[heat_level] > SEVERITY_ORDER[level]:
                return heat_level, [*reasons, f"热度：24小时内{recent}条相关留言"]
            break
    return level, reasons
