"""Title normalisation shared by the scan (item identities), metadata (sort titles of what a
provider or NFO names) and the API (an edited title): one rule, so a film keeps its place in a
sorted list whichever of them last wrote its title. Outside ``scan`` and ``metadata`` so that
neither has to import the other for it."""

from __future__ import annotations

import re
import unicodedata

_ARTICLES = re.compile(r"^(the|a|an)\s+", re.IGNORECASE)
_NON_WORD = re.compile(r"[^\w]+")


def normalise(title: str) -> str:
    """Case, accents and punctuation do not make a different film: "Amélie!" == "amelie"."""
    text = title
    if not text.isascii():
        text = unicodedata.normalize("NFKD", text)
        text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return _NON_WORD.sub(" ", text.casefold()).strip()


def sort_title(title: str) -> str:
    """The title sorted on: normalised, without a leading article ("The Matrix" -> "matrix")."""
    return _ARTICLES.sub("", normalise(title))
