"""Sidecar subtitle files next to a media file: ``Movie.en.srt``, ``Movie.pt-BR.forced.srt``.

A sidecar belongs to a media file when its name is the media file's stem (compared without
case, as Jellyfin and Kodi do: users copy names from other machines) followed by optional
dot-separated tokens and a subtitle extension. Tokens carry the language (ISO 639-1/639-2 code,
BCP 47 tag or language name, normalised by ``sync.languages``) and flags: ``forced``/``foreign``,
``sdh``/``cc``/``hi`` (hearing impaired), ``default``. Tokens that are none of these become the
title (``Movie.en.Commentary.srt`` → title ``Commentary``).

``hi`` is ambiguous (Hindi or hearing impaired): it is Hindi when it is the first language-like
token and the hearing-impaired flag when a language came before it (``Movie.en.hi.srt``).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from sync.languages import normalize_language
from sync.media_info import SubtitleTrack

SUBTITLE_CODECS = {".srt": "subrip", ".ass": "ass", ".ssa": "ass", ".vtt": "webvtt"}
"""Extension → the codec name ffprobe gives the same format embedded (``.ssa`` is read by the
``ass`` decoder too)."""

_FORCED = frozenset({"forced", "foreign"})
_HEARING_IMPAIRED = frozenset({"sdh", "cc", "hi"})
_DEFAULT = frozenset({"default"})


def parse_sidecar_tokens(tokens: Iterable[str]) -> SubtitleTrack:
    """Language, flags and title from the tokens between the stem and the extension."""
    track = SubtitleTrack(external=True, forced=False, hearing_impaired=False, default=False)
    title: list[str] = []
    for token in tokens:
        lower = token.lower()
        if not lower:
            continue
        if lower in _FORCED:
            track.forced = True
        elif lower in _DEFAULT:
            track.default = True
        elif lower in _HEARING_IMPAIRED and (lower != "hi" or track.language is not None):
            track.hearing_impaired = True
        elif track.language is None and (code := normalize_language(token)) is not None:
            track.language = code
            track.language_tag = token
        else:
            title.append(token)
    track.title = " ".join(title) or None
    return track


def find_sidecar_subtitles(
    media_path: Path, siblings: Iterable[str] | None = None
) -> list[SubtitleTrack]:
    """Sidecar subtitles of ``media_path``, sorted by file name.

    ``siblings`` are the names in the media file's folder when the caller has listed it already
    (the folder scan has); otherwise the folder is listed here. Blocking: call from a thread.
    An unreadable folder yields no sidecars rather than an error: the media file itself is what
    the analysis is about.
    """
    if siblings is None:
        try:
            siblings = os.listdir(media_path.parent)
        except OSError:
            return []
    stem = media_path.stem.lower()
    found: list[SubtitleTrack] = []
    for name in sorted(siblings):
        base, ext = os.path.splitext(name)
        codec = SUBTITLE_CODECS.get(ext.lower())
        if codec is None or name.startswith("."):
            continue
        lower = base.lower()
        if lower == stem:
            tokens: list[str] = []
        elif lower.startswith(stem + "."):
            tokens = base[len(stem) + 1 :].split(".")
        else:
            continue
        track = parse_sidecar_tokens(tokens)
        track.path = str(media_path.parent / name)
        track.codec = codec
        found.append(track)
    return found
