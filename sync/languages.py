"""Language tags → one convention: ISO 639-2/B three-letter codes (``eng``, ``ger``, ``fre``).

Why 639-2/B: Matroska stores track languages as 639-2/B, MP4 as 639-2/T (``deu``), file names
use 639-1 (``Movie.de.srt``), BCP 47 (``Movie.pt-BR.srt``) or English names
(``Movie.German.srt``); Jellyfin and Kodi normalise to 639-2/B too, so ids carried over from
those libraries keep matching. Every tag the appliance records goes through
:func:`normalize_language`; the player shows :func:`language_name`.

``und`` (undetermined, MP4's default) and empty tags normalise to ``None``: "unknown" has one
spelling. The ISO 639 tables (codes and English names) come from ``iso639-lang``, which follows
the registration authorities' releases; the ISO 639-2 languages are read into three dicts on
first use (about 0.1 s, once per process, in the scan), after which a lookup is a dict hit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

# Endonyms seen in file names (``Movie.Deutsch.srt``) and a few common aliases.
_ALIASES = {
    "deutsch": "ger",
    "français": "fre",
    "francais": "fre",
    "español": "spa",
    "espanol": "spa",
    "castellano": "spa",
    "latino": "spa",
    "italiano": "ita",
    "português": "por",
    "portugues": "por",
    "brazilian": "por",
    "nederlands": "dut",
    "vlaams": "dut",
    "svenska": "swe",
    "norsk": "nor",
    "dansk": "dan",
    "suomi": "fin",
    "polski": "pol",
    "čeština": "cze",
    "cesky": "cze",
    "magyar": "hun",
    "türkçe": "tur",
    "turkce": "tur",
    "русский": "rus",
    "russkiy": "rus",
    "ελληνικά": "gre",
    "greek": "gre",
    "日本語": "jpn",
    "中文": "chi",
    "mandarin": "chi",
    "cantonese": "chi",
    "한국어": "kor",
    "hrvatski": "hrv",
    "srpski": "srp",
    "română": "rum",
    "romana": "rum",
    "українська": "ukr",
    "עברית": "heb",
    "العربية": "ara",
    "farsi": "per",
    "bokmal": "nob",
    "bokmål": "nob",
    "nynorsk": "nno",
}
_UNKNOWN = frozenset({"und", "unknown", "undetermined", "undefined", "none", "n/a"})
_BCP47 = re.compile(r"^([a-z]{2,3})(?:[-_][a-z0-9]{1,8})+$")

_PARENS = re.compile(r"\s*\(.*?\)")


@dataclass(frozen=True)
class _Index:
    codes: dict[str, str]
    """639-2/B, 639-2/T and 639-1 code → 639-2/B. Only ISO 639-2 languages: 639-3's 7,900
    three-letter codes would turn words of file names into languages (``Movie.de.sdh.srt``)."""
    names: dict[str, str]
    """Lower-case English name, its short form or an alias → 639-2/B."""
    english: dict[str, str]
    """639-2/B → English name (without the parenthesised qualifier)."""


@cache
def _index() -> _Index:
    from iso639 import iter_langs  # its tables load on import (~0.1 s): only when first asked

    codes: dict[str, str] = {}
    names: dict[str, str] = {}
    english: dict[str, str] = {}
    shorts: list[tuple[bool, str, str]] = []  # (historic, short name, code)
    for lang in iter_langs():
        bib = lang.pt2b
        if not bib:
            continue
        for code in (bib, lang.pt2t, lang.pt1):
            if code:
                codes.setdefault(code, bib)
        english[bib] = _PARENS.sub("", lang.name).strip()
        for name in (lang.name, *lang.other_names()):
            lowered = name.lower()
            names.setdefault(lowered, bib)
            names.setdefault(_PARENS.sub("", lowered).strip(), bib)
            shorts.append((not lang.pt1, re.split(r"[,(]", lowered)[0].strip(), bib))
    # "greek, modern (1453-)" → "greek"; a language with a 639-1 code wins such a short name
    # over historic ones ("english" is eng, not "English, Old").
    for _, short, bib in sorted(shorts, key=lambda item: item[0]):
        names.setdefault(short, bib)
    names.pop("", None)
    names.update(_ALIASES)
    return _Index(codes, names, english)


def normalize_language(tag: str | None) -> str | None:
    """The 639-2/B code for a code, BCP 47 tag or language name; ``None`` when unknown.

    ``"en"``, ``"eng"``, ``"English"``, ``"en-US"`` → ``"eng"``; ``"deu"`` → ``"ger"``;
    ``"pt-BR"`` → ``"por"`` (the region is dropped here; callers that show it keep the raw tag).
    """
    if not tag:
        return None
    text = tag.strip().lower()
    if not text or text in _UNKNOWN:
        return None
    index = _index()
    if text in index.codes:
        return index.codes[text]
    match = _BCP47.match(text)
    if match and match.group(1) in index.codes:
        return index.codes[match.group(1)]
    return index.names.get(text)


def language_name(code: str | None) -> str | None:
    """English name for a code in any accepted form: ``"ger"`` → ``"German"``."""
    bib = normalize_language(code)
    return _index().english.get(bib) if bib else None
