"""Lexicon-based judgements: topic and severity."""

from __future__ import annotations

import re

from analysis.lexicon import EDUCATION_TERMS, RISK_TERMS, SPAM_TERMS, TOPICS

SEVERITY_ORDER = {"一般": 0, "较大": 1, "重大": 2}


def _alternation(words) -> re.Pattern[str]:
    # Longest first, so "教师资格" wins over "教师" where both match.
    return re.compile("|".join(map(re.escape, sorted(set(words), key=len, reverse=True))))


_TOPIC_WORD = {w: (topic, True) for topic, (strong, _) in TOPICS.items() for w in strong}
_TOPIC_WORD.update({w: (topic, False) for topic, (_, weak) in TOPICS.items() for w in weak
                    if w not in _TOPIC_WORD})
_TOPIC_WORDS = _alternation(_TOPIC_WORD)
_EDUCATION = _alternation(EDUCATION_TERMS)
_SPAM = _alternation(SPAM_TERMS)


def topic_of(text: str) -> tuple[str | None, bool]:
    """The topic whose keywords cover most characters of the text (None when none match),
    and whether a strong word was among them. Weak words count only beside an education term.
    """
    educational = has_education_term(text)
    scores: dict[str, int] = {}
    strong_topics: set[str] = set()
    for match in _TOPIC_WORDS.finditer(text):
        topic, strong = _TOPIC_WORD[match.group()]
        if strong or educational:
            scores[topic] = scores.get(topic, 0) + len(match.group())
            if strong:
                strong_topics.add(topic)
    if not scores:
        return None, False
    # Ties go to the topic listed first in the lexicon.
    best = max(TOPICS, key=lambda t: scores.get(t, 0))
    return best, best in strong_topics


def is_spam(text: str) -> bool:
    return _SPAM.search(text) is not None


def severity_of(text: str, sentiment: float) -> tuple[str, list[str]]:
    """重大 / 较大 / 一般, with the reasons a person can check."""
    level, reasons = "一般", []
    for word, word_level in RISK_TERMS.items():
        if word in text:
            reasons.append(f"风险词：{word}")
            if SEVERITY_ORDER[word_level] > SEVERITY_ORDER[level]:
                level = word_level
    if sentiment < 0.1 and level == "一般" and reasons:
        level = "较大"
        reasons.append("情绪强烈负面")
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
