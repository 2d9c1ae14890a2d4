"""Hot words of a period: terms many comments use now and few used before.

jieba with a user dictionary of local names and policy terms; an installation adds its
own words (schools, towns) with `extra_words`.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from functools import cache
from importlib.resources import files

from analysis.normalise import normalise


@cache
def stop_words() -> frozenset[str]:
    text = files("analysis").joinpath("data/stopwords.txt").read_text("utf-8")
    lines = (line.strip() for line in text.splitlines())
    return frozenset(line for line in lines if line and not line.startswith("#"))


@cache
def _tokenizer():
    import jieba

    jieba.setLogLevel(60)  # its start-up chatter is not our log
    tokenizer = jieba.Tokenizer()
    with files("analysis").joinpath("data/userdict.txt").open("rb") as handle:
        tokenizer.load_userdict(handle)
    tokenizer.initialize()
    return tokenizer


def warm_up(extra_words: Iterable[str] = ()) -> None:
    """Build the dictionary once per process (about a second), before the first request."""
    tokenizer = _tokenizer()
    for word in extra_words:
        tokenizer.add_word(word, freq=20)


def terms(text: str) -> list[str]:
    """Content words of one text (normalised first)."""
    return [w for w in _tokenizer().lcut(normalise(text))
            if len(w) >= 2 and w not in stop_words() and not w.isascii()]


def hot_words(texts: Sequence[str], background: Sequence[str] = (),
              top_k: int = 20) -> list[tuple[str, float]]:
    """Terms ranked by how many period texts use them, weighted by rarity in the background.

    Document frequency (not raw counts) so one long rant cannot make a hot word.
    """
    period = Counter(w for t in texts for w in set(terms(t)))
    before = Counter(w for t in background for w in set(terms(t)))
    return rank(period, before, len(background), top_k)


def rank(period: Mapping[str, int], before: Mapping[str, int], background_total: int,
         top_k: int = 20) -> list[tuple[str, float]]:
    """The scoring of `hot_words` on counts already made: `period` and `before` map a term to
    the number of texts using it in the period and in the background, `background_total` is
    the number of background texts. A term needs two period texts; its score is
    n * log((background_total + 2) / (before + 1)); ties go by the term."""
    scored = {w: score(n, before.get(w, 0), background_total) for w, n in period.items() if n >= 2}
    ranked = sorted(scored.items(), key=lambda item: (-item[1], item[0]))
    return [(w, round(s, 3)) for w, s in ranked[:top_k]]


def score(n: int, before: int, background_total: int) -> float:
    """A term used by `n` period texts and `before` of the `background_total` background texts.
    At most n * log(background_total + 2), for a term the background never used."""
    return n * math.log((background_total + 2) / (before + 1))
