"""What the server's fuzzy title search matches, computed in plain Python: the tests' oracle.

The server matches a title when the search text is ``<%`` it (pg_trgm's word similarity of at
least 0.6, ``pg_trgm.word_similarity_threshold``'s default) for the title or the original title,
or is a case-insensitive substring of the title (``ILIKE``). This module recomputes that from
pg_trgm's definition (PostgreSQL's contrib/pg_trgm, ``iterate_word_similarity`` in plain mode),
using none of the project's code, so a test comparing the SQL (or the player's replica) with it
checks them against Postgres' rules rather than against themselves.

pg_trgm's trigrams: the text is lowercased and cut into words (runs of letters and digits); each
word is padded with two spaces in front and one behind ("  word ") and every 3 characters of
that are a trigram. Word similarity: the greatest |shared| / |union| between the query's
trigram set and a stretch of the text's trigrams in order (a stretch starts and ends at a shared
trigram; pg_trgm finds the best start greedily as below).
"""

from __future__ import annotations

THRESHOLD = 0.6


def _words(text: str) -> list[str]:
    words, word = [], []
    for ch in text.lower():
        if ch.isalnum():
            word.append(ch)
        elif word:
            words.append("".join(word))
            word = []
    if word:
        words.append("".join(word))
    return words


def trigrams(text: str) -> list[str]:
    """The text's trigrams in order (repeats kept)."""
    out = []
    for word in _words(text):
        padded = f"  {word} "
        out += [padded[i:i + 3] for i in range(len(padded) - 2)]
    return out


def word_similarity(query: str, text: str) -> float:
    """pg_trgm's ``word_similarity(query, text)``."""
    wanted = set(trigrams(query))
    seq = trigrams(text)
    if not wanted or not seq:
        return 0.0
    n1 = len(wanted)
    last: dict[str, int] = {}
    lower, ulen2, count, best = -1, 0, 0, 0.0
    for i, gram in enumerate(seq):
        found = gram in wanted
        if lower >= 0 or found:
            if last.get(gram, -1) < 0:
                ulen2 += 1
                count += found
            last[gram] = i
        if not found:
            continue
        if lower == -1:
            lower, ulen2 = i, 1
        current = count / (n1 + ulen2 - count)
        tmp_count, tmp_ulen2, prev_lower = count, ulen2, lower
        for tmp_lower in range(lower, i + 1):
            candidate = tmp_count / (n1 + tmp_ulen2 - tmp_count)
            if candidate > current:
                current, ulen2, lower, count = candidate, tmp_ulen2, tmp_lower, tmp_count
            g = seq[tmp_lower]
            if last.get(g, -1) == tmp_lower:
                tmp_ulen2 -= 1
                tmp_count -= g in wanted
        best = max(best, current)
        for tmp_lower in range(prev_lower, lower):
            g = seq[tmp_lower]
            if last.get(g, -1) == tmp_lower:
                last[g] = -1
    return best


def title_matches(search: str, title: str, original_title: str | None) -> bool:
    """The server's search test for one item (see the module doc)."""
    text = search.strip()
    return (word_similarity(text, title) >= THRESHOLD
            or (original_title is not None and word_similarity(text, original_title) >= THRESHOLD)
            or text.lower() in title.lower())
