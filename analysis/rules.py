"""Lexicon-based judgements of the first cut: topic, relevance, severity."""

from __future__ import annotations

from analysis.lexicon import EDUCATION_TERMS, RISK_TERMS, SPAM_TERMS, TOPICS

SEVERITY_ORDER = {"一般": 0, "较大": 1, "重大": 2}


def topic_of(text: str) -> str | None:
    """The topic whose keywords cover most characters of the text; None when none match."""
    best, best_score = None, 0
    for topic, words in TOPICS.items():
        score = sum(len(w) * text.count(w) for w in words)
        if score > best_score:
            best, best_score = topic, score
    return best


def relevance_of(text: str, topic: str | None) -> float:
    """0..1: how clearly the text is about education or sports policy."""
    hits = sum(1 for w in EDUCATION_TERMS if w in text) + (2 if topic else 0)
    spam = sum(1 for w in SPAM_TERMS if w in text)
    score = min(1.0, hits / 4) - 0.5 * spam
    return round(max(0.0, score), 3)


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
