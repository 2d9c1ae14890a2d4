"""Chinese search on an index: a case's title and summary as character bigrams.

PostgreSQL's full-text parser reads a run of Chinese characters as one word, and pg_trgm
cannot use its index for the two-character words people search for (校车, 食堂). So each
case stores its text as tokens — every Chinese character and every pair of neighbours, and
each run of Latin letters or digits — in `case.search_text`; on PostgreSQL a GIN index over
`to_tsvector('simple', search_text)` finds the cases holding all of a keyword's tokens, and
a LIKE on the few found confirms the exact substring. SQLite (the embedded default, a
county's volume) searches with LIKE alone.
"""

from __future__ import annotations

import re

_RUNS = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]+|[0-9a-z]+")
MAX_TOKENS = 2_000  # a summary is 500 characters at most: this bounds a hostile title too


def _tokens(text: str) -> list[str]:
    tokens: list[str] = []
    for run in _RUNS.findall(text.lower()):
        if run.isascii():
            tokens.append(run)
            continue
        tokens.extend(run)
        tokens.extend(run[i:i + 2] for i in range(len(run) - 1))
    return tokens


def search_text(*parts: str | None) -> str:
    """The distinct tokens of `parts`, space-separated, for case.search_text."""
    seen = dict.fromkeys(token for part in parts if part for token in _tokens(part))
    return " ".join(list(seen)[:MAX_TOKENS])


def query_tokens(keyword: str) -> list[str]:
    """What a case must hold to contain `keyword`: its bigrams (a single character alone),
    its Latin or digit words. Empty when the keyword has none (punctuation only)."""
    tokens: list[str] = []
    for run in _RUNS.findall(keyword.lower()):
        if run.isascii() or len(run) == 1:
            tokens.append(run)
        else:
            tokens.extend(run[i:i + 2] for i in range(len(run) - 1))
    return list(dict.fromkeys(tokens))


def tsquery(keyword: str) -> str | None:
    """The to_tsquery('simple', …) text of `keyword`; Latin and digit words match as prefixes
    (the keyword may end inside a word)."""
    tokens = query_tokens(keyword)
    if not tokens:
        return None
    return " & ".join(f"'{t}':*" if t.isascii() else f"'{t}'" for t in tokens)


def exact_by_tokens(keyword: str) -> bool:
    """True when holding the keyword's token is the same as containing the keyword: one
    Chinese character or two, nothing else."""
    stripped = keyword.strip()
    return 1 <= len(stripped) <= 2 and all("\u3400" <= c <= "\u9fff" for c in stripped)
