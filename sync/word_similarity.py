"""pg_trgm's word similarity in Python, so the replica's fuzzy search matches what the server's
``<%`` matches (the server is the reference: the same search must find the same titles offline).

A share of the query's trigrams found anywhere in the title is not the same thing: "gravty"
shares 5 of its 7 trigrams with "gravity" (71 %), but pg_trgm measures shared / union over the
best stretch of the title's trigrams, 57 % here, under the 0.6 threshold. The replica uses the
share as a cheap necessary condition (a title below it can never reach 0.6) and this module to
decide the rows that pass it.

The algorithm is PostgreSQL's (contrib/pg_trgm ``iterate_word_similarity``, plain mode): the
text's trigrams in order; a stretch ends at each trigram the query has, and its start is moved
greedily to where shared / union is largest. Texts come in already lowercased (the replica's
folded form); words are runs of letters and digits padded like pg_trgm pads them ("  word ").
"""

from __future__ import annotations

import re

THRESHOLD = 0.6
"""``pg_trgm.word_similarity_threshold``'s default, what ``<%`` compares with."""

_WORD = re.compile(r"[^\W_]+")


def trigram_list(text: str) -> list[str]:
    """The trigrams of ``text`` (lowercased already) in order, repeats kept."""
    out: list[str] = []
    for word in _WORD.findall(text):
        padded = f"  {word} "
        out.extend(padded[i : i + 3] for i in range(len(padded) - 2))
    return out


def word_similarity(query: str, text: str) -> float:
    """pg_trgm's ``word_similarity(query, text)`` of two lowercased texts."""
    wanted = set(trigram_list(query))
    seq = trigram_list(text)
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
        tmp_count, tmp_ulen2, first = count, ulen2, lower
        for start in range(lower, i + 1):
            candidate = tmp_count / (n1 + tmp_ulen2 - tmp_count)
            if candidate > current:
                current, ulen2, lower, count = candidate, tmp_ulen2, start, tmp_count
            dropped = seq[start]
            if last.get(dropped, -1) == start:
                tmp_ulen2 -= 1
                tmp_count -= dropped in wanted
        best = max(best, current)
        for start in range(first, lower):
            dropped = seq[start]
            if last.get(dropped, -1) == start:
                last[dropped] = -1
    return best


def title_matches(needle: str, title: str, original_title: str) -> bool:
    """The server's search test (``store/media_browse.py``): ``needle <% title`` or ``<%`` the
    original title, or ``needle`` a substring of the title (ILIKE). All lowercased."""
    return (
        needle in title
        or word_similarity(needle, title) >= THRESHOLD
        or (bool(original_title) and word_similarity(needle, original_title) >= THRESHOLD)
    )
