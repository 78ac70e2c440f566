"""File-name parser: what a path in a library means (movie, episode, extra, or nothing).

Users name their files the way Jellyfin, Kodi and Plex taught them, and a scan must agree with
those conventions or the library looks wrong. This module turns one path into a
:class:`ParsedName` without touching the disk, so the folder walker can call it for tens of
thousands of files per second and tests can feed it plain strings. The one check that needs the
disk (a ``.ignore`` file in a folder) lives in :func:`is_ignored_dir`, which the walker calls once
per folder, not per file.

Folder names are context, never items: ``Movie (2010)/Movie (2010) - 1080p.mkv`` is one version of
a movie, ``Show/Season 01/x.mkv`` an episode of season 1 of Show, ``Movie/Trailers/x.mkv`` a trailer
belonging to Movie. An extra's ``title``/``year``/``season`` are those of the item it belongs to, so
the indexer can attach it without parsing again.

Undecodable bytes (a Latin-1 name on a UTF-8 system) arrive as surrogate escapes; ``path`` keeps
them, so ``os.fsencode(result.path)`` is the real file, while ``title`` reads the bytes that are not
UTF-8 as Windows-1252/Latin-1 (``Caf\xe9`` shows as "Café", the legacy encoding such names were
written in) and is always safe to store and to print.
"""

from __future__ import annotations

import codecs
import datetime as _dt
import functools
import os
import re
import unicodedata
from typing import Final, Literal

import msgspec

__all__ = [
    "VIDEO_EXTENSIONS",
    "ItemKind",
    "LibraryKind",
    "ParsedName",
    "extra_dir_kind",
    "guess_library_kind",
    "is_ignored_dir",
    "is_ignored_dir_name",
    "parse_name",
    "readable",
    "season_of_dir",
]

LibraryKind = Literal["movies", "series"]
ItemKind = Literal["movie", "episode", "extra", "ignored"]
Ids = dict[str, int | str]

#: Containers we index. Anything else in a library (NFO, images, subtitles) is someone else's job.
VIDEO_EXTENSIONS: Final = frozenset(
    {
        ".3g2",
        ".3gp",
        ".asf",
        ".avi",
        ".divx",
        ".dvr-ms",
        ".f4v",
        ".flv",
        ".img",
        ".iso",
        ".m2t",
        ".m2ts",
        ".m2v",
        ".m4v",
        ".mk3d",
        ".mkv",
        ".mov",
        ".mp4",
        ".mpe",
        ".mpeg",
        ".mpg",
        ".mts",
        ".ogm",
        ".ogv",
        ".rm",
        ".rmvb",
        ".strm",
        ".ts",
        ".vob",
        ".webm",
        ".wmv",
        ".wtv",
        ".xvid",
    }
)


class ParsedName(msgspec.Struct, kw_only=True):
    """What a path means. Field order is the JSON key order of ``parse-name``; None = unknown."""

    path: str
    kind: ItemKind
    title: str | None = None
    year: int | None = None
    season: int | None = None
    episodes: list[int] | None = None
    air_date: str | None = None
    edition: str | None = None
    version: str | None = None
    part: int | None = None
    extra: str | None = None
    ids: Ids | None = None

    def to_dict(self) -> dict[str, object]:
        """JSON-ready mapping in field order; ``path`` made printable (U+FFFD for bad bytes)."""
        out: dict[str, object] = {name: getattr(self, name) for name in self.__struct_fields__}
        out["path"] = readable(self.path)
        return out


# --------------------------------------------------------------------------------------------
# vocabulary

_YEAR_MIN: Final = 1880
#: A year further ahead than this is a title ("Blade Runner 2049"), not a release year.
_YEAR_MAX: Final = _dt.date.today().year + 2

_EXTRA_DIRS: Final[dict[str, str]] = {
    "trailers": "trailer",
    "trailer": "trailer",
    "featurettes": "featurette",
    "featurette": "featurette",
    "behind the scenes": "behindthescenes",
    "behindthescenes": "behindthescenes",
    "deleted scenes": "deletedscene",
    "deletedscenes": "deletedscene",
    "interviews": "interview",
    "interview": "interview",
    "shorts": "short",
    "short": "short",
    "scenes": "scene",
    "scene": "scene",
    "samples": "sample",
    "sample": "sample",
    "extras": "other",
    "extra": "other",
    "other": "other",
    "others": "other",
    "clips": "clip",
    "clip": "clip",
    "backdrops": "themevideo",
    "theme-videos": "themevideo",
    "theme videos": "themevideo",
}

#: ``Movie-trailer.mkv`` and friends (Jellyfin's list). Only trailer/sample also accept ``.``,
#: ``_`` or a space, as in Jellyfin: ``-`` is deliberate, the others show up in release names.
_EXTRA_SUFFIX_RE: Final = re.compile(
    r"(?:-(trailer|featurette|behindthescenes|deletedscene|deleted|interview|short|scene|clip"
    r"|other|extra|sample)|[._ ](trailer|sample)|[._ ](featurette|behindthescenes|deletedscene"
    r"|deleted|interview|short|scene|clip|other|extra))(?:[-._ ]?[0-9]{1,2})?$",
    re.I,
)
_EXTRA_SUFFIXES: Final[dict[str, str]] = {
    "trailer": "trailer",
    "featurette": "featurette",
    "behindthescenes": "behindthescenes",
    "deletedscene": "deletedscene",
    "deleted": "deletedscene",
    "interview": "interview",
    "short": "short",
    "scene": "scene",
    "clip": "clip",
    "other": "other",
    "extra": "other",
    "sample": "sample",
}
#: ``sample-x.mkv`` in any case; ``sample.x``/``SAMPLE x`` only as tools write it, so a film
#: called ``Sample People`` is not dropped.
_YEAR_END_RE: Final = re.compile(r"[(\[][0-9]{4}[)\]][\s._-]*$")
_SAMPLE_PREFIX_RE: Final = re.compile(r"^(?:sample|SAMPLE)[._ ]|^(?i:sample)[-_]")
#: ... but such a name that goes on to a year is a film's (``sample people (2000).mkv``,
#: ``Sample_People_(2000).mkv``, ``sample.people.2000.720p.x264-grp.mkv``): samples of releases
#: are ``sample-x``/``x-sample``/``SAMPLE.x``.
_SAMPLE_TITLE_RE: Final = re.compile(
    r"^[sS]ample[._ ][^-]*?[._ (\[](?:19|20)[0-9]{2}(?:[)\]._ ]|$)"
)
#: An episode number with an episode title after it, for guessing the library kind only: a
#: zero-padded number opening the name (``01 - Pilot``, ``003. Show - Title``,
#: ``03-Criminal.Minds``) or a short number between dashes (``Show - 01 - Pilot``); a year there
#: (``Film - 2010 - 1080p``) or a bare ``Apollo - 13`` is no episode.
_NUMBERED_TITLE_RE: Final = re.compile(
    r"^0[0-9]{1,3}(?:-0[0-9]{1,3})?(?:\. | - |-)[^\W\d]|\S - (?:0[0-9]{1,3}|[1-9][0-9]?)(?:v[0-9])?"
    r" - [^\W\d]"
)
#: ``Title - 07``, ``Title.07``, ``Title - 366 [720p]``: an episode number when zero-padded after a
#: dash or dot, or when the folder is named as the title (``Bleach/Bleach 366.mkv``; one digit,
#: ``Rocky - 2``, stays a film's version); kind guessing only.
_DASH_NUMBER_END_RE: Final = re.compile(
    r"^(.+?)(\s-\s|[ ._])([0-9]{2,4})(?:v[0-9])?(?:\s*[\[(][^\])]*[\])])*$", re.A
)
#: ``1995 - Heat``: a year first, then the title (some sort their films so).
_YEAR_FIRST_RE: Final = re.compile(r"^[(\[]?([0-9]{4})[)\]]?\s+-\s+(?=[^\W\d])", re.A)
#: A disc's folder structure: the film is the folder above it, the file one of the disc's streams
#: (``Film (2010)/VIDEO_TS/VTS_01_1.VOB``, ``Film (2010)/BDMV/STREAM/00000.m2ts``).
_DISC_DIR_RE: Final = re.compile(r"(?:^|/)(?:VIDEO_TS|BDMV)/", re.I)

#: NAS housekeeping folders that are never media (Synology, QNAP, Windows, fsck).
_IGNORED_DIRS: Final = frozenset(
    {
        "@eadir",
        "#recycle",
        "#snapshot",
        "@recycle",
        "lost+found",
        "$recycle.bin",
        "system volume information",
        "extrafanart",
        "extrathumbs",
    }
)
IGNORED_DIR_NAMES: Final = _IGNORED_DIRS
"""Lower-case folder names skipped by name alone (the walker's fast path)."""

_EDITIONS: Final[dict[str, str]] = {
    "directorscut": "Director's Cut",
    "directorcut": "Director's Cut",
    "directorsedition": "Director's Edition",
    "extended": "Extended",
    "extendededition": "Extended Edition",
    "extendedcut": "Extended Cut",
    "extendedversion": "Extended Version",
    "unrated": "Unrated",
    "unratededition": "Unrated Edition",
    "unratedcut": "Unrated Cut",
    "uncut": "Uncut",
    "uncensored": "Uncensored",
    "theatrical": "Theatrical",
    "theatricalcut": "Theatrical Cut",
    "theatricaledition": "Theatrical Edition",
    "theatricalversion": "Theatrical Version",
    "finalcut": "Final Cut",
    "thefinalcut": "The Final Cut",
    "ultimatecut": "Ultimate Cut",
    "ultimateedition": "Ultimate Edition",
    "specialedition": "Special Edition",
    "collectorsedition": "Collector's Edition",
    "anniversaryedition": "Anniversary Edition",
    "criterion": "Criterion",
    "criterionedition": "Criterion Edition",
    "criterioncollection": "Criterion Collection",
    "remastered": "Remastered",
    "imax": "IMAX",
    "imaxedition": "IMAX Edition",
    "redux": "Redux",
    "openmatte": "Open Matte",
    "roguecut": "Rogue Cut",
    "despecialized": "Despecialized",
    "alternatecut": "Alternate Cut",
    "alternativecut": "Alternate Cut",
    "internationalcut": "International Cut",
    "producerscut": "Producer's Cut",
    "televisioncut": "Television Cut",
    "directorsdefinitivecut": "Director's Definitive Cut",
    "limited": "Limited",
    "limitededition": "Limited Edition",
    "festival": "Festival",
    "restored": "Restored",
    "fanedit": "Fan Edit",
    "ultimatecollectorsedition": "Ultimate Collector's Edition",
    "deluxeedition": "Deluxe Edition",
}
_EDITION_WORDS_RE: Final = re.compile(r"\b(edition|cut)$", re.I)
#: Editions of two words or more that no film title ends with, so a typed name loses them too
#: (``Brazil Criterion Edition (1985)``); ``Final Cut``, ``Redux`` or ``Extended`` may be title.
_TYPED_EDITIONS: Final = frozenset(
    key for key in _EDITIONS if key.endswith("edition") and key != "fanedit"
) | {
    "directorscut",
    "directorcut",
    "extendedcut",
    "theatricalcut",
    "producerscut",
    "directorsdefinitivecut",
    "criterioncollection",
}
#: Only in capitals after a release-name title: ``Alien DC``, ``Aliens SE``.
_EDITION_ABBREVIATIONS: Final = {"dc": "Director's Cut", "se": "Special Edition"}
_TITLE_EDITION_RE: Final = re.compile(r"(?:\s+-\s+([^-]+)|\s*[(\[]([^()\[\]]+)[)\]])$")

#: Release tags that end a title for sure.
_STRONG_TAGS: Final = frozenset(
    {
        "2160p",
        "1080p",
        "1080i",
        "720p",
        "576p",
        "576i",
        "480p",
        "480i",
        "360p",
        "4k",
        "8k",
        "uhd",
        "bluray",
        "blu-ray",
        "bdrip",
        "brrip",
        "bdremux",
        "bd25",
        "bd50",
        "remux",
        "webrip",
        "web-dl",
        "webdl",
        "web-rip",
        "hdtv",
        "pdtv",
        "sdtv",
        "dsr",
        "dvdrip",
        "dvdscr",
        "dvd5",
        "dvd9",
        "dvdr",
        "hdrip",
        "hdcam",
        "hdts",
        "telesync",
        "telecine",
        "r5",
        "x264",
        "x265",
        "h264",
        "h265",
        "h.264",
        "h.265",
        "hevc",
        "avc",
        "xvid",
        "divx",
        "av1",
        "vp9",
        "10bit",
        "8bit",
        "hdr10",
        "hdr10+",
        "dovi",
        "aac",
        "aac2",
        "ac3",
        "eac3",
        "dd5",
        "ddp5",
        "dd2",
        "ddp2",
        "ddp",
        "dd+",
        "dts",
        "dts-hd",
        "dtshd",
        "truehd",
        "atmos",
        "flac",
        "mp3",
        "lpcm",
        "amzn",
        "dsnp",
        "hmax",
        "atvp",
        "pmtp",
        "nf",
        "hulu",
        # picture words that scene names put before the resolution ("Movie.UltraHD.HDR.2160p")
        "ultrahd",
        "fullhd",
        "uhdbd",
        "uhdrip",
        "hdr10plus",
        "dolbyvision",
        "hlg",
        "12bit",
        "10-bit",
        "8-bit",
        "hddvd",
        "hd-dvd",
        "hdlight",
        "mhd",
        "bdmux",
        "brmux",
        "bdripmux",
        "brripmux",
        "web-dlrip",
        "webdlrip",
        "tvrip",
        "vhsrip",
        "satrip",
        "dvbrip",
        "ppvrip",
        "dvdmux",
        "dvd-r",
        "hfr",
        "48fps",
        "ac3d",
        "60fps",
        "mpeg2",
        "mpg2",
        "vc1",
        "vc-1",
    }
)
#: Words that are also title words ("Charlotte's Web"): a tag only when another tag follows.
_WEAK_TAGS: Final = frozenset(
    {
        "web",
        "cam",
        "ts",
        "tc",
        "dv",
        "hdr",
        "sdr",
        "proper",
        "repack",
        "rerip",
        "internal",
        "limited",
        "multi",
        "dual",
        "dubbed",
        "subbed",
        "hc",
        "dd",
        "complete",
        "dvd",
        "hd",
        "sd",
        "ws",
        "fs",
        "readnfo",
        "nfofix",
        "hybrid",
        "3d",
        "hsbs",
        "hou",
        "sbs",
        "dl",
        "ml",
        # languages, as release names put them between title and tags
        "german",
        "french",
        "truefrench",
        "vostfr",
        "vff",
        "vf",
        "ita",
        "italian",
        "spanish",
        "castellano",
        "latino",
        "eng",
        "english",
        "korean",
        "japanese",
        "hindi",
        "russian",
        "rus",
        "nordic",
        "swedish",
        "danish",
        "dutch",
        "polish",
        "pl",
        "hun",
        "cze",
        "vo",
        "vfq",
        "multi-subs",
        "subs",
        "doku",
        "docu",
        "convert",
        "hq",
        "stv",
        "qc",
        "ntsc",
        "pal",
        "swissgerman",
        "opus",
        "bd",
        "series",
        "miniseries",
        "integrale",
        "intégrale",
        "lintegrale",
        "l'integrale",
        "coffret",
    }
)
#: Weak tags that end a title also as its last word: nobody names a film "... HDR".
_TAIL_TAGS: Final = frozenset(
    {
        "hdr",
        "sdr",
        "dv",
        "3d",
        "hsbs",
        "hou",
        "sbs",
        "readnfo",
        "nfofix",
        "rerip",
        "repack",
        "proper",
        "internal",
        "dubbed",
        "subbed",
        "vostfr",
        "multi",
        "hc",
        "integrale",
        "intégrale",
        "lintegrale",
        "l'integrale",
    }
)
_RESOLUTION_RE: Final = re.compile(r"^[0-9]{3,4}[pi]$|^[0-9]{3,4}x[0-9]{3,4}$", re.I | re.A)
_TAG_TOKEN_STRIP: Final = "()[]{}"

_GENERIC_STEMS: Final = frozenset({"movie", "video", "film", "feature", "main", "main feature"})

# --------------------------------------------------------------------------------------------
# regular expressions (compiled once: the walker calls us per file)

_ID_RE: Final = re.compile(
    r"[\[{(]\s*(tmdb|imdb|tvdb|anidb|tvmaze)(?:id)?\s*[-=: ]\s*([a-z]{0,2}[0-9]+)\s*[\]})]",
    re.I | re.A,
)
_BARE_IMDB_RE: Final = re.compile(r"(?<![a-z0-9])(tt[0-9]{7,8})(?![a-z0-9])", re.I | re.A)
_EDITION_TAG_RE: Final = re.compile(r"\{\s*edition\s*[-=:]\s*([^}]*)\}", re.I)
_PAREN_YEAR_RE: Final = re.compile(r"[(\[]\s*([0-9]{4})\s*[)\]]", re.A)
_YEAR_TOKEN_RE: Final = re.compile(r"^[(\[]?([0-9]{4})[)\]]?$", re.A)
#: ``- part1``, `` part2`` (no space before the number), ``.Part.2``, ``cd2``, ``CD1of2``, ``-cdb``.
#: ``Film Part 2`` (a space before the number, no dash) stays in the title, as TMDB names it.
_PART_RE: Final = re.compile(
    r"(?:(?:[ ._]*-[ ._-]*|[._]+|(?<=[\])}])\s*|\s+(?=part[0-9]))part"
    r"|(?:[ ._-]+|(?<=[\])}])\s*)(?:cd|dvd|pt|dis[ck]))"
    r"[ ._-]*([0-9]{1,2}|[a-d])(?:of[0-9]{1,2})?$",
    re.I | re.A,
)
_PART_MID_RE: Final = re.compile(
    r"(?:[._]+|\s+-\s+|\s+(?=(?:part|cd|dis[ck])[0-9]))(?:part|cd|dis[ck])[ ._]?([0-9]{1,2})"
    r"(?:of[0-9]{1,2})?(?=[ ._-])",
    re.I | re.A,
)
_CRC_RE: Final = re.compile(r"[\[(][0-9a-f]{8}[\])]", re.I | re.A)
_BRACKET_RE: Final = re.compile(r"[\[(]([^\[\]()]*)[\])]")
_LEADING_GROUP_RE: Final = re.compile(r"^\s*\[[^\]]*\][\s._-]*")
_SPACES_RE: Final = re.compile(r"\s+")
_UNCLOSED_RE: Final = re.compile(r"\s*[\[(][^\])]*$")
_DOT_UNDERSCORE_RE: Final = re.compile(r"[._]")
_DOTTED_SPLIT_RE: Final = re.compile(r"[._ ]+")
_CODEC_DOT_RE: Final = re.compile(r"(?<![a-z0-9])([hx])\.(26[45])(?![0-9])", re.I)
_SPACE_SPLIT_RE: Final = re.compile(r"[ _]+")
_WORD_SPLIT_RE: Final = re.compile(r"[\s._]+")
_LABEL_SPLIT_RE: Final = re.compile(r"\s+-\s+|^\s*-\s*")
#: ``www.Site.party - Title (2021)``/``[www.site.com] Title``: the download site, not the title.
_SITE_RE: Final = re.compile(r"^(?:[\[(]\s*www\.[^\])]+[\])][\s._-]*|www\.\S+\s+(?:-\s+)?)", re.I)
_WORD_RE: Final = re.compile(
    r"(?:[^\W\d_]\.){2,}(?![^\W_])|[hx]\.26[45]|[^\s._]+\.(?=\s|$)|[^\s._]+", re.I
)

#: ``S01E02``, ``S01 E02``, ``S16 - E29``, ``S01xE05``, ``S01x05``, ``S2011E05`` (a year as season).
_SXXEXX_RE: Final = re.compile(
    r"(?<![a-z0-9])[st]([0-9]{1,4})(?:(?:[ ._-]?|\s-\s)x?ep?|-?x)[ ._]?([0-9]{1,4})(?![0-9])",
    re.I | re.A,
)
#: ``E03``, ``-E03``, ``-03``, ``+03``, `` & S01E03``, ``.and.S01E03`` after the first episode.
_SXXEXX_MORE_RE: Final = re.compile(
    r"(?:[ ._]?(-)[ ._]?|[ ._]?(?:[+&]|and)[ ._]?|[ ._]?)(?:s[0-9]{1,4})?e([0-9]{1,4})(?![0-9])"
    r"|(-)([0-9]{1,3})(?![0-9a-z])|\+([0-9]{1,3})(?![0-9a-z])",
    re.I | re.A,
)
_WORDS_RE: Final = re.compile(
    r"(?<![a-z0-9])season[ ._-]*([0-9]{1,4})[ ._-]*(?:episode|ep)[ ._-]*([0-9]{1,4})(?![0-9])",
    re.I | re.A,
)
#: ``[Group] Show S2 - 05``, ``Show Season 2 - 05``: fansub releases of a later season.
_ANIME_SEASON_RE: Final = re.compile(
    r"(?<![a-z0-9])(?:s|season\s?)([0-9]{1,2})\s+-\s+([0-9]{1,4})(?:v[0-9])?(?![0-9])", re.I | re.A
)
#: ``1x02``, ``5x9``, ``2011x05`` (a season numbered by its year).
_NXNN_RE: Final = re.compile(
    r"(?<![0-9a-z])([0-9]{1,2}|(?:19|20)[0-9]{2})[x\u00d7]([0-9]{1,3})(?![0-9a-wyz])", re.I
)
#: What may follow: ``x03``, ``-03``, ``-1x03``, `` - x03``, `` - 1x03``.
_NXNN_MORE_RE: Final = re.compile(
    r"(?:x|(-)(?:[0-9]{1,4}x)?|\s*(-)\s*(?:[0-9]{1,4})?x|[._][0-9]{1,4}x)([0-9]{2,3})"
    r"(?![0-9a-wyz])",
    re.I | re.A,
)
#: ``3-07 - Title``: season 3, episode 7, at the start of a name or after `` - ``.
_DASH_SE_RE: Final = re.compile(
    r"(?:(?:^|\s-\s)([1-9][0-9]?)|\s([1-9]))-([0-9]{2,3})(?![0-9a-z-])", re.I | re.A
)
_SPANISH_SEASON_RE: Final = re.compile(r"[ ._-]+(?:temporada|temp|tem)[ ._]?[0-9]", re.I)
_DASH_SE_START_RE: Final = re.compile(r"[1-9][0-9]?-[0-9]{2,3}\s+-\s", re.A)  # 3-07 - Title
#: ``[Cap.102]``/``[Cap.102_104]`` (Spanish releases): season 1, episodes 2-4.
_CAP_RE: Final = re.compile(
    r"(?<![a-z])cap[ ._]?([0-9]{1,2})([0-9]{2})(?:_[0-9]{1,2}([0-9]{2}))?(?![0-9])", re.I | re.A
)
#: A season alone (``Show.S01.1080p``, ``Show Saison 2``): a season pack or an episode to come.
_SEASON_ONLY_RE: Final = re.compile(
    r"(?<![a-z0-9])(?:s([0-9]{1,2})|(?:season|saison|temporada|stagione|staffel|seizoen)s?"
    r"[ ._-]?([0-9]{1,4}))(?![0-9a-z])",
    re.I | re.A,
)
#: ``Show.117.HDTV``: three digits in a scene name are season and episode (Kodi's rule).
_SNN_RE: Final = re.compile(r"(?<=\.)([1-9])([0-9]{2})(?=\.)", re.A)
#: Whole-series packs: ``The.Wire.COMPLETE.SERIES``, ``Friends.INTEGRALE``.
_PACK_RE: Final = re.compile(
    r"(?<![a-z])(?:complete[ ._-](?:mini)?series|int[eé]grale|miniseries)(?![a-z])", re.I
)
#: Folders that hold many shows' files: never a series name.
_CONTAINER_DIRS: Final = frozenset(
    {
        "series",
        "tv",
        "tv shows",
        "tvshows",
        "tv series",
        "shows",
        "anime",
        "serien",
        "séries",
        "series tv",
        "serier",
        "serie",
        "downloads",
        "download",
        "complete",
        "completed",
        "incoming",
        "media",
        "videos",
        "video",
        "torrents",
        "new",
        "unsorted",
    }
)
#: Library folders that say "TV" when a path is parsed without its library's kind.
_SERIES_ROOTS: Final = frozenset(
    {
        "series",
        "tv",
        "tv shows",
        "tvshows",
        "tv series",
        "shows",
        "anime",
        "serien",
        "séries",
        "series tv",
        "serier",
        "serie",
    }
)
_DATE_RE: Final = re.compile(
    r"(?<![0-9])((?:19|20)[0-9]{2})([-._ ])([0-9]{1,2})\2([0-9]{1,2})(?![0-9])", re.A
)
#: ``Panorama.15-05-2018`` (day first, as most of the world writes it; ``03-29-2012`` is read
#: month first since 29 is no month) and ``20021107``.
_DATE_DMY_RE: Final = re.compile(
    r"(?<![0-9])([0-9]{1,2})([-.])([0-9]{1,2})\2((?:19|20)[0-9]{2})(?![0-9])", re.A
)
_DATE_COMPACT_RE: Final = re.compile(
    r"(?<![0-9])((?:19|20)[0-9]{2})(0[1-9]|1[0-2])(0[1-9]|[12][0-9]|3[01])(?![0-9])", re.A
)
_EONLY_RE: Final = re.compile(
    r"(?<![a-z0-9])(?:episodes?|episodio|episódio|episodul|[ck]ap[ií]tulo|folge|aflevering|odcinek"
    r"|ep|e)\.?[ ._-]?([0-9]{1,4})(?![0-9])",
    re.I,
)
_EONLY_MORE_RE: Final = re.compile(
    r"(?:[ ._]?(-)[ ._]?|[ ._]?)e([0-9]{1,4})(?![0-9])|(-)([0-9]{1,3})(?![0-9a-z])", re.I | re.A
)
_ABS_DASH_RE: Final = re.compile(
    r"\s-\s#?([0-9]{1,4})(?:v[0-9])?(?:-([0-9]{1,4})(?:v[0-9])?)?(?=$|\s)", re.I | re.A
)
_ABS_START_RE: Final = re.compile(
    r"^#?([0-9]{1,4})(?:v[0-9])?(?:-([0-9]{1,4})(?:v[0-9])?)?(?=$|[\s._-])", re.I | re.A
)
_ABS_ANY_RE: Final = re.compile(
    r"(?<![\w])(?<![0-9]\.)#?([0-9]{1,4})(?:v[0-9])?(?:-([0-9]{1,4})(?:v[0-9])?)?(?![\w-])", re.I
)

#: ``[Group] Show - 05``: a fansub release, numbered absolutely; enough to guess "series".
#: Also ``[Group] Title 12 [720p]`` and ``[Group][Title][05][BDRIP]``.
_FANSUB_RE: Final = re.compile(
    r"^\[[^\]]+\](?:[ ._]*.+?[\s_]-[\s_][0-9]{1,4}(?:v[0-9])?(?![0-9])"
    r"|\s*\[[^\]]+\]\s*\[[0-9]{1,3}(?:v[0-9])?\]"
    r"|[ ._]*[^\[\]()]+?[ ._][0-9]{1,3}(?:v[0-9])?[ ._]*(?:[\[(]|$))",
    re.A,
)
_BRACKET_NUMBER_RE: Final = re.compile(r"[\[(]\s*#?([0-9]{1,3})(?:v[0-9])?\s*[\])]", re.I | re.A)
_LEADING_BRACKET_RE: Final = re.compile(r"^\s*\[([^\]]*[^\]0-9 ][^\]]*)\]")
_SEASON_DIR_RE: Final = re.compile(
    r"^(?:season|series|saison|staffel|temporada|stagione|seizoen|sezon|kausi)[ ._-]*([0-9]{1,4})"
    r"(?![0-9])|(?:^|[ ._-])s([0-9]{1,4})$|(?:^|[ ._-])season[ ._-]*([0-9]{1,4})(?![0-9])",
    re.I | re.A,
)
_SPECIALS_DIR_RE: Final = re.compile(r"^specials?$", re.I)
#: ``Star Trek DS9 Ep 2x03``, ``Show - 313-315 - s16e03-05``: the word or the absolute numbers
#: before the episode marker are not the series' name.
_PREFIX_TAIL_RE: Final = re.compile(r"[ ._-]+(?:ep|episode|[0-9]{2,4}-[0-9]{2,4})[ ._-]*$", re.I)
_SEASON_TAIL_RE: Final = re.compile(r"[ ._-]+s[0-9]{1,2}$", re.I | re.A)


# --------------------------------------------------------------------------------------------
# public helpers


def _legacy_bytes(exc: UnicodeError) -> tuple[str, int]:
    """Decode error handler: bytes that are not UTF-8 read as Windows-1252, else Latin-1.

    A name that is not UTF-8 was almost always written on Windows or an old Linux in a Western
    code page; cp1252 is Latin-1 plus the printable 0x80-0x9F range (``€``, curly quotes). The
    five bytes cp1252 leaves undefined (C1 controls in Latin-1) become U+FFFD.
    """
    if not isinstance(exc, UnicodeDecodeError):
        raise exc
    chunk = exc.object[exc.start : exc.end]
    return bytes(chunk).decode("cp1252", "replace"), exc.end


codecs.register_error("ferrex-legacy", _legacy_bytes)


def readable(text: str) -> str:
    """``text`` made printable and NFC-normalised: bytes that are not UTF-8 (surrogate escapes)
    are read as cp1252/Latin-1 (``Caf\xe9`` → ``Café``), never left as lone surrogates.

    Titles end up in Postgres and JSON, neither of which accepts lone surrogates; macOS-made
    names arrive decomposed (NFD) and must compare equal to the same name typed on Linux.
    """
    if text.isascii():
        return text  # most paths: nothing to decode or normalise
    try:
        data = text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a lone surrogate that is not an escaped byte
        data = text.encode("utf-8", "surrogatepass")
        return unicodedata.normalize("NFC", data.decode("utf-8", "replace"))
    return unicodedata.normalize("NFC", data.decode("utf-8", "ferrex-legacy"))


@functools.lru_cache(maxsize=4096)
def extra_dir_kind(name: str) -> str | None:
    """The extra type of a folder such as ``Behind The Scenes`` (None: not an extras folder)."""
    key = _SPACES_RE.sub(" ", _DOT_UNDERSCORE_RE.sub(" ", name)).strip().lower()
    return _EXTRA_DIRS.get(key)


def season_of_dir(name: str) -> int | None:
    """Season number of a folder name (``Season 01``, ``S2``, ``Specials`` = 0), else None."""
    found = _season_dir(name)
    return found[0] if found is not None else None


@functools.lru_cache(maxsize=4096)
def _season_dir(name: str) -> tuple[int, str] | None:
    """Season number and the series name in front of it (``Show - Season 2``), if any."""
    name = name.strip()
    if _SPECIALS_DIR_RE.match(name):
        return 0, ""
    m = _SEASON_DIR_RE.search(name)
    if m is None:
        # Show.Name.S01.1080p.WEB-DL-GRP, Show Name S02 (1080p): a season pack's release folder
        pack = _SEASON_ONLY_RE.search(name)
        if pack is None or pack.group(1) is None:
            return None
        after = _tokens(name[pack.end() :])[0]
        if not after or not (_is_tag(after[0]) or _is_weak_tag(after[0])):
            return None
        return int(pack.group(1)), name[: pack.start()].strip(" -._")
    prefix = _SEASON_TAIL_RE.sub("", name[: m.start()]).strip(" -._")  # "Psych S02 Season 2"
    return int(m.group(1) or m.group(2) or m.group(3)), prefix


def _series_context(dirs: list[str]) -> tuple[int | None, str | None]:
    """(season, folder naming the series) of a file in ``dirs``: ``Show/Season 01`` → (1, Show)."""
    if not dirs:
        return None, None
    found = _season_dir(dirs[-1])
    if found is None:
        return None, _series_dir(dirs[-1])
    season, prefix = found
    if prefix:  # TV/Show - Season 2/x.mkv: the season folder names the series itself
        return season, prefix
    return season, _series_dir(dirs[-2]) if len(dirs) >= 2 else None


def _series_dir(name: str) -> str | None:
    """``name`` unless it is a library or download folder (``Anime``, ``TV``, ``Downloads``),
    which holds many shows and names none."""
    return None if name.lower() in _CONTAINER_DIRS else name


def is_ignored_dir_name(name: str | bytes) -> bool:
    """Whether a folder is skipped by its name alone: hidden (``.x``) or NAS housekeeping."""
    text = os.fsdecode(name)
    return text.startswith(".") or text.lower() in _IGNORED_DIRS


def is_ignored_dir(path: str | bytes | os.PathLike[str] | os.PathLike[bytes]) -> bool:
    """Whether the walker must skip this folder and everything below it.

    This is the one check that does I/O (a ``.ignore`` file inside the folder, the Jellyfin
    convention), so it is kept out of :func:`parse_name`: the walker calls it once per folder it is
    about to enter, right where it lists that folder anyway.
    """
    raw = os.fsencode(path)
    name = os.path.basename(raw.rstrip(b"/")) or raw
    if is_ignored_dir_name(name):
        return True
    return os.path.lexists(os.path.join(raw, b".ignore"))


def guess_library_kind(path: str | bytes | os.PathLike[str] | os.PathLike[bytes]) -> LibraryKind:
    """``series`` when the path looks like TV (SxxExx, 1x02, a dated episode, a season folder).

    Plain absolute numbering (``Show - 102``) is not enough: movies are named that way too
    (``Apollo - 13``); a library's kind, when known, settles it.
    """
    return _guess(_components(readable(os.fsdecode(path)), None))


def _guess(parts: list[str]) -> LibraryKind:
    if not parts:
        return "movies"
    stem = os.path.splitext(parts[-1])[0]
    if (
        _SXXEXX_RE.search(stem)
        or _WORDS_RE.search(stem)
        or _NXNN_RE.search(stem)
        or _FANSUB_RE.match(stem)
        or _SEASON_ONLY_RE.search(stem)
    ):
        return "series"
    episode = _EONLY_RE.search(stem)
    if episode is not None and len(episode.group(1)) <= 3:  # E576, Episode 12; not WALL-E.2008
        return "series"
    if (
        _valid_date(_DATE_RE.search(stem)) is not None
        or _PACK_RE.search(stem)
        or _DASH_SE_START_RE.match(stem)
    ):
        return "series"
    date = _DATE_DMY_RE.search(stem) or _DATE_COMPACT_RE.search(stem)
    if date is not None and _day_first_date(date) is not None:
        return "series"
    if _NUMBERED_TITLE_RE.search(stem):  # Show - 01 - Ep Name, 01 - Ep Name, 003. Show - Ep
        return "series"
    dirs = parts[:-1]
    m = _DASH_NUMBER_END_RE.match(stem)
    if (
        m is not None
        and not _plausible(int(m.group(3)))
        and (
            (m.group(3)[0] == "0" and m.group(2) != " ")
            or (dirs and _norm(_title_year(dirs[-1]).title) == _norm(m.group(1)))
        )
    ):
        return "series"  # Show - 07 [1080p], Bleach/Bleach 366: not Apollo - 13, Agent 007
    if any(season_of_dir(d) is not None or d.lower() in _SERIES_ROOTS for d in dirs):
        return "series"
    if dirs and (_SXXEXX_RE.search(dirs[-1]) or _SEASON_ONLY_RE.search(dirs[-1])):
        return "series"  # an obfuscated file in its episode's folder, a season pack's file
    if " " not in stem and not stem.startswith("["):  # new.girl.117.hdtv: Kodi's 1x17
        tokens = stem.split(".")
        cut = _first_tag(tokens)
        number = tokens[cut - 1] if 1 < cut < len(tokens) else ""
        if len(number) == 3 and number.isdigit() and number[0] != "0":
            return "series"
    elif stem.startswith("[") and not (dirs and _PAREN_YEAR_RE.search(dirs[-1])):
        # [Group] Title 603 VOSTFR, [Group] 01 - Title; not [h265] Title 2 or Film (2007)/[Grp] x
        group = _LEADING_GROUP_RE.match(stem)
        words = _WORD_SPLIT_RE.split(group.group(0).strip(" -._[]")) if group else []
        if all(_is_tag(w) or _is_weak_tag(w) or w == "-" for w in words if w):
            return "movies"
        found = _absolute(stem, None)
        if found is not None and found.prefix and not any(map(_plausible, found.episodes or ())):
            return "series"
    return "movies"


# --------------------------------------------------------------------------------------------
# the parser


def parse_name(
    path: str | bytes | os.PathLike[str] | os.PathLike[bytes],
    library_kind: LibraryKind | None = None,
    *,
    root: str | bytes | os.PathLike[str] | os.PathLike[bytes] | None = None,
) -> ParsedName:
    """Parse one file path. ``library_kind`` None guesses it (:func:`guess_library_kind`).

    ``root`` is the library root when known: folders above it are not context (a library rooted
    at ``/srv/.media/Shorts`` is neither hidden nor a folder of short films).
    """
    raw = os.fsdecode(path)
    root_text = readable(os.fsdecode(root)) if root is not None else None
    parts = _components(readable(raw), root_text)
    if not parts:
        return ParsedName(path=raw, kind="ignored")
    name, dirs = parts[-1], parts[:-1]
    if any(p.startswith(".") for p in parts) or any(d.lower() in _IGNORED_DIRS for d in dirs):
        return ParsedName(path=raw, kind="ignored")
    stem, ext = os.path.splitext(name)
    if ext.lower() not in VIDEO_EXTENSIONS or not stem:
        return ParsedName(path=raw, kind="ignored")
    if (
        dirs
        and ("_TS/" in raw or "BDMV/" in raw or "_ts/" in raw or "bdmv/" in raw)
        and (_DISC_DIR_RE.search(raw))
    ):
        cut = next(i for i, d in enumerate(dirs) if d.upper() in ("VIDEO_TS", "BDMV"))
        dirs, stem = dirs[:cut], "video"  # a generic name: the folder names the film
    kind: LibraryKind = library_kind or _guess(parts)

    # extras folders: the parent, or the grandparent (Extras/Making Of/x.mkv)
    for index in range(len(dirs) - 1, max(-1, len(dirs) - 3), -1):
        extra = extra_dir_kind(dirs[index])
        if extra is None:
            continue
        if extra == "sample":
            return ParsedName(path=raw, kind="ignored", extra="sample")
        owner = _owner(dirs[:index], kind)
        if owner.title is None:
            owner.title = _title_year(_strip_ids(stem, {})).title
        owner.path, owner.kind, owner.extra = raw, "extra", extra
        return owner

    if (
        _SAMPLE_PREFIX_RE.match(stem) and not _SAMPLE_TITLE_RE.match(stem)
    ) or stem.lower() == "sample":
        return ParsedName(path=raw, kind="ignored", extra="sample")
    suffix = _EXTRA_SUFFIX_RE.search(stem, max(0, len(stem) - 24))  # it ends the name
    if suffix is not None and not _is_extra_suffix(suffix, stem):
        suffix = None  # "Free Sample (2019)", "Movie Trailer": a title word, not a marker
    if suffix is not None or stem.lower() == "trailer":
        word = (
            (suffix.group(1) or suffix.group(2) or suffix.group(3)).lower()
            if suffix
            else ("trailer")
        )
        extra = _EXTRA_SUFFIXES[word]
        if extra == "sample":
            return ParsedName(path=raw, kind="ignored", extra="sample")
        rest = stem[: suffix.start()] if suffix else ""
        if rest.strip(" -._"):
            result = _parse_item(raw, rest, dirs, kind)
        else:
            result = _owner(dirs, kind)
            result.path = raw
        result.kind, result.extra = "extra", extra
        return result

    return _parse_item(raw, stem, dirs, kind)


def _is_extra_suffix(m: re.Match[str], stem: str) -> bool:
    """A word glued on with ``-`` is always a marker (Jellyfin); after a space or dot it is one
    only as a release tool writes it (``sample``/``SAMPLE``, or after release tags), never a
    capitalised title word (``Free Sample``, ``The Trailer``) in a name a person typed."""
    if m.group(1) is not None:
        word = m.group(1)
        if word.lower() in ("sample", "trailer") or word.islower():
            return True
        before = _tokens(stem[: m.start()])[0]  # Show.S03.HDTV.x264-SCENE: a release group
        return not (before and "-" not in before[-1] and _is_tag(before[-1]))
    if _YEAR_END_RE.search(stem, 0, m.start()):  # "Film (2010) - Trailer": a label after the year
        return True
    word = m.group(2)
    if word is None:  # "Movie Short", "The Other": other extra words only as that label
        return False
    if word.islower() or word.isupper():
        return True
    return not _title_year(stem[: m.start()]).clean


def _parse_item(raw: str, stem: str, dirs: list[str], kind: LibraryKind) -> ParsedName:
    if kind == "series":
        return _parse_episode(raw, stem, dirs)
    return _parse_movie(raw, stem, dirs)


def _components(text: str, root: str | None) -> list[str]:
    parts = [p for p in text.split("/") if p not in ("", ".", "..")]
    if root is not None:
        root_parts = [p for p in root.split("/") if p not in ("", ".", "..")]
        if parts[: len(root_parts)] == root_parts:
            parts = parts[len(root_parts) :]
    return parts


def _owner(dirs: list[str], kind: LibraryKind) -> ParsedName:
    """Title/year/season/ids of the item that folder ``dirs[-1]`` stands for."""
    if not dirs:
        return ParsedName(path="", kind="extra")
    if kind == "series":
        season, series_dir = _series_context(dirs)
        ids: Ids = {}
        title = year = None
        if series_dir is not None:
            folder, folder_ids = _series_folder(series_dir)
            title, year = folder.title, folder.year
            ids.update(folder_ids)
        return ParsedName(
            path="", kind="extra", title=title, year=year, season=season, ids=ids or None
        )
    movie = _folder_movie(dirs[-1])
    return ParsedName(
        path="",
        kind="extra",
        title=movie.title,
        year=movie.year,
        edition=movie.edition,
        ids=dict(movie.ids) or None,
    )


# --------------------------------------------------------------------------------------------
# titles and years


class _TitleYear(msgspec.Struct, frozen=True):  # frozen: results are cached and shared
    title: str | None
    year: int | None
    tail: str  # what followed the year/the first release tag, verbatim
    clean: bool  # no release tags seen: a name a person typed, not a release name
    paren_year: bool  # the year was in (parentheses)/[brackets]


def _plausible(year: int) -> bool:
    return _YEAR_MIN <= year <= _YEAR_MAX


def _strip_ids(text: str, ids: Ids) -> str:
    """Remove ``[tmdbid-603]``/``{imdb-tt0133093}``/bare ``tt0133093``, noting them in ``ids``."""
    low = text.lower()
    tagged = "db" in low or "maze" in low
    if not tagged and "tt" not in low:
        return text  # most names: no id at all, no regex run
    gap = " " if " " in text.strip() else "."  # keep a scene name a scene name

    def take(m: re.Match[str]) -> str:
        source, value = m.group(1).lower(), m.group(2).lower()
        if source == "imdb":
            ids.setdefault("imdb", value if value.startswith("tt") else f"tt{value}")
        elif value.isdigit():
            ids.setdefault(source, int(value))
        return gap

    if tagged:
        text = _ID_RE.sub(take, text)
    bare = _BARE_IMDB_RE.search(text)
    if bare is not None:
        ids.setdefault("imdb", bare.group(1).lower())
        text = text[: bare.start()] + gap + text[bare.end() :]
    return text


# The parser is pure, and a library repeats itself: every episode of a show carries the show's
# folder name, and the same words and release tags recur across thousands of names. Caching the
# per-name and per-token steps halves a scan's naming time (it is a large part of a first scan).
@functools.lru_cache(maxsize=8192)
def _is_tag(token: str) -> bool:
    low = token.strip(_TAG_TOKEN_STRIP).lower()
    if low in _STRONG_TAGS or _RESOLUTION_RE.match(low):
        return True
    pieces = low.split("-")  # x264-GROUP, WEB-DL-GROUP
    if len(pieces) == 1:
        return False
    head = pieces[0]
    return (
        head in _STRONG_TAGS
        or bool(_RESOLUTION_RE.match(head))
        or f"{head}-{pieces[1]}" in _STRONG_TAGS
    )


@functools.lru_cache(maxsize=8192)
def _is_weak_tag(token: str) -> bool:
    low = token.strip(_TAG_TOKEN_STRIP).lower()
    return low in _WEAK_TAGS or low.split("-", 1)[0] in _WEAK_TAGS


@functools.lru_cache(maxsize=4096)
def _is_tail_tag(token: str) -> bool:
    low = token.strip(_TAG_TOKEN_STRIP).lower()
    return low in _TAIL_TAGS or low.split("-", 1)[0] in _TAIL_TAGS  # DV-GRP


def _year_of(token: str) -> int | None:
    m = _YEAR_TOKEN_RE.match(token)
    if m is None:
        return None
    year = int(m.group(1))
    return year if _plausible(year) else None


def _tokens(text: str) -> tuple[list[str], bool]:
    """Split a name into words; ``dotted`` = scene style (``The.Matrix.1999``): dots are spaces.

    A name with spaces may still glue words with dots (``Kings.Speech.2010.1080p.x264.D Z0N3``):
    a dot between two characters separates words there too, but an abbreviation's dot before a
    space (``Mr. Robot``, ``Vol. 1``) and an acronym (``E.T.``) stay in their word.
    """
    dotted = " " not in text.strip()
    if dotted:
        if ".26" in text:  # H.264 is one word
            text = _CODEC_DOT_RE.sub(r"\1\2", text)
        tokens = [t for t in _DOTTED_SPLIT_RE.split(text) if t]
    elif "." not in text:
        tokens = [t for t in _SPACE_SPLIT_RE.split(text) if t]
    else:
        tokens = _WORD_RE.findall(text)
    if text.count("-") >= 2 and any(t.count("-") >= 2 for t in tokens):
        tokens = _unglue(tokens)
    return tokens, dotted


def _unglue(tokens: list[str]) -> list[str]:
    """``Perfect Child-2007-TRUEFRENCH-TVRip``: words glued by dashes around a year or a release
    tag are words; ``9-1-1`` and ``Spider-Man`` stay whole."""
    out: list[str] = []
    for token in tokens:
        pieces = token.split("-")
        if (
            len(pieces) >= 3
            and all(pieces)
            and any(_year_of(p) is not None or _is_tag(p) for p in pieces[1:])
        ):
            out.extend(pieces)
        else:
            out.append(token)
    return out


def _join(tokens: list[str], dotted: bool) -> str:
    """Words back into a title; keeps ``S.H.I.E.L.D.``/``E.T.`` acronyms of scene names intact."""
    if not dotted:
        return " ".join(tokens)
    out: list[str] = []
    i = 0
    while i < len(tokens):
        j = i
        while j < len(tokens) and len(tokens[j]) == 1 and tokens[j].isalpha():
            j += 1
        run = tokens[i:j]
        if len(run) >= 3 or (len(run) == 2 and not {t.upper() for t in run} & {"A", "I"}):
            out.append(".".join(run) + ".")
            i = j
        else:
            out.append(tokens[i])
            i += 1
    return " ".join(out)


def _squash(text: str) -> str:
    """Runs of white space as one space (a cheap test first: most names have none)."""
    return _SPACES_RE.sub(" ", text) if "  " in text or not text.isprintable() else text


def _finish(text: str) -> str | None:
    """Last touches on a title: drop CRCs and tag-only brackets, trim separators."""
    if "(" not in text and "[" not in text:
        return _squash(text).strip(" -_,~") or None
    text = _CRC_RE.sub(" ", text)

    def bracket(m: re.Match[str]) -> str:
        inner = m.group(1).strip()
        words = [w for w in _WORD_SPLIT_RE.split(inner) if w]
        if not words or all(_is_tag(w) or _is_weak_tag(w) for w in words):
            return " "
        return m.group(0)

    text = _BRACKET_RE.sub(bracket, text)
    text = _squash(text).strip(" -_,~")
    if "(" in text or "[" in text:  # "REDLINE (BD 1080p ...)": cut inside the bracket
        unclosed = _UNCLOSED_RE.search(text)
        if unclosed is not None and unclosed.start() > 0:
            text = text[: unclosed.start()]
    while text.endswith(("(", "[")):
        text = text[:-1].rstrip(" -_,~")
    return text.strip(" -_,~") or None


def _first_tag(tokens: list[str], start: int = 0) -> int:
    last = len(tokens) - 1
    for i in range(start, len(tokens)):
        if _is_tag(tokens[i]):
            return i
        if _is_weak_tag(tokens[i]) and (
            (i < last and (_is_tag(tokens[i + 1]) or _is_weak_tag(tokens[i + 1])))
            or (i == last and i > 0 and _is_tail_tag(tokens[i]))
        ):
            return i
    return len(tokens)


@functools.lru_cache(maxsize=4096)
def _title_year(text: str) -> _TitleYear:
    """Title and year of a name whose ids are already removed.

    A year in parentheses wins (``Movie (2010)``); otherwise the last plausible bare year before
    the release tags (``2001.A.Space.Odyssey.1968.1080p``), never the first word (``1917.2019``).
    """
    text = text.strip()
    if "www" in text[:6].lower():
        text = _SITE_RE.sub("", text)
    stripped = _LEADING_GROUP_RE.sub("", text) if text[:1].isspace() or "[" in text[:2] else text
    if stripped.strip(" -._") and not stripped.lstrip().startswith(("(", "[")):
        text = stripped  # "[Group] Title", but "[REC] (2007)" keeps its name
    best: re.Match[str] | None = None
    for m in _PAREN_YEAR_RE.finditer(text):
        if _plausible(int(m.group(1))) and text[: m.start()].strip(" -._[("):
            best = m
    if best is not None:
        head = text[: best.start()]
        tokens, dotted = _tokens(head)
        cut = _first_tag(tokens)
        tail = text[best.end() :]
        tail_tokens = _tokens(tail)[0]
        clean = cut == len(tokens) and _first_tag(tail_tokens) == len(tail_tokens)
        return _TitleYear(
            _finish(_join(tokens[:cut], dotted)), int(best.group(1)), tail, clean, True
        )
    tokens, dotted = _tokens(text)
    cut = _first_tag(tokens)
    start = 0
    if cut == 0:  # "h265 - HEVC Riddick 1080p": tags first, the title after them
        while start < len(tokens) and (
            tokens[start] == "-" or _is_tag(tokens[start]) or _is_weak_tag(tokens[start])
        ):
            start += 1
        cut = _first_tag(tokens, start)
    year_at = None
    for i in range(start + 1, cut):
        if _year_of(tokens[i]) is not None:
            year_at = i
    if year_at is not None:
        end = year_at
        if cut < len(tokens):  # a release name: "Pacific.Rim.3D.2013.BluRay"
            while end > 1 and _is_weak_tag(tokens[end - 1]) and _is_tail_tag(tokens[end - 1]):
                end -= 1
        return _TitleYear(
            _finish(_join(tokens[start:end], dotted)),
            _year_of(tokens[year_at]),
            " ".join(tokens[year_at + 1 :]),
            cut == len(tokens),
            False,
        )
    return _TitleYear(
        _finish(_join(tokens[start:cut], dotted)),
        None,
        " ".join(tokens[cut:]),
        cut == len(tokens) and start == 0,
        False,
    )


@functools.lru_cache(maxsize=8192)
def _norm(text: str | None) -> str:
    return "".join(ch for ch in (text or "").casefold() if ch.isalnum())


# --------------------------------------------------------------------------------------------
# movies


class _Movie(msgspec.Struct):
    title: str | None = None
    year: int | None = None
    edition: str | None = None
    version: str | None = None
    part: int | None = None
    ids: Ids = msgspec.field(default_factory=dict)
    paren_year: bool = False
    clean: bool = True


def _take_part(text: str) -> tuple[str, int | None]:
    """``x - part1``/``x cd2``/``x.CD1of2``/``x-cdb`` at the end, or followed only by release
    tags (``x.CD1.DVDRip.XviD``): the text without it, the part."""
    last = text[-1:].lower()
    m = None
    if last.isdigit() or last in ("a", "b", "c", "d"):  # a part number ends the name
        m = _PART_RE.search(text, max(0, len(text) - 24))
    rest = ""
    low = text.lower()
    if m is None and ("part" in low or "cd" in low or "dis" in low):
        for mid in _PART_MID_RE.finditer(text):
            tail = _tokens(text[mid.end() :])[0]
            if tail and (_is_tag(tail[0]) or _is_weak_tag(tail[0])):
                m, rest = mid, text[mid.end() :]
                break
    if m is None or not text[: m.start()].strip(" -._"):
        return text, None
    value = m.group(1).lower()
    return text[: m.start()] + rest, int(value) if value.isdigit() else ord(value) - ord("a") + 1


def _edition_of(text: str) -> str | None:
    """An edition label (``Director's Cut``) if ``text`` is one, canonical spelling if known."""
    key = _norm(text.replace("'", ""))
    if key in _EDITIONS:
        return _EDITIONS[key]
    cleaned = _SPACES_RE.sub(" ", _DOT_UNDERSCORE_RE.sub(" ", text)).strip(" -")
    if _EDITION_WORDS_RE.search(cleaned) and len(cleaned.split()) <= 5:
        return cleaned
    return None


def _scan_edition(tokens: list[str]) -> str | None:
    """First known edition among release-name words (``EXTENDED``, ``Directors.Cut``)."""
    keys = [_norm(t.replace("'", "")) for t in tokens]
    for i in range(len(keys)):
        if tokens[i].isupper() and keys[i] in _EDITION_ABBREVIATIONS:  # Requiem.2000.DC.1080p
            return _EDITION_ABBREVIATIONS[keys[i]]
        for width in (3, 2, 1):
            if i + width <= len(keys):
                found = _EDITIONS.get("".join(keys[i : i + width]))
                if found is not None:
                    return found
    return None


def _labels(text: str, movie: _Movie) -> None:
    """``- 1080p - Extended Edition`` after a movie name: editions and the version label."""
    segments = [s.strip() for s in _LABEL_SPLIT_RE.split(text) if s.strip(" -._")]
    versions: list[str] = []
    for segment in segments:
        inner = segment.strip()
        if inner.startswith(("[", "(")) and inner.endswith(("]", ")")):
            inner = inner[1:-1].strip()
        edition = _edition_of(inner)
        if edition is not None and movie.edition is None:
            movie.edition = edition
        elif inner:
            versions.append(inner)
    if versions:
        movie.version = " - ".join(versions)


def _parse_movie_stem(stem: str, folder: str | None = None) -> _Movie:
    movie = _Movie()
    text = _strip_ids(stem, movie.ids)
    tag = _EDITION_TAG_RE.search(text)
    if tag is not None:
        movie.edition = tag.group(1).strip() or None
        text = text[: tag.start()] + " " + text[tag.end() :]
    text, movie.part = _take_part(text)
    text = _squash(text).strip()

    if folder is not None:  # Movie (2010)/Movie (2010) - 1080p.mkv: the rest is a version label
        base = _folder_base(folder)
        rest = text[len(base) :]
        if (
            base
            and text.lower().startswith(base.lower())
            and rest.lstrip(" ")[:1] in ("-", "_", ".", "[")
            and _title_year(base).clean
        ):
            label = rest.strip(" _.")
            if label.startswith("["):
                label = "- " + label
            _labels(label if label.startswith("-") else "- " + label, movie)
            text = base

    parsed = _title_year(text)
    first = _YEAR_FIRST_RE.match(text) if parsed.year is None else None
    if first is not None and _plausible(int(first.group(1))):
        parsed = _title_year(text[first.end() :])  # 1995 - Heat: a library sorted by year
        parsed = msgspec.structs.replace(parsed, year=parsed.year or int(first.group(1)))
    movie.title, movie.year = parsed.title, parsed.year
    movie.paren_year, movie.clean = parsed.paren_year, parsed.clean
    tail = parsed.tail.strip()
    if tail.startswith("-") and parsed.paren_year:
        _labels(tail, movie)
    elif movie.edition is None:
        movie.edition = _scan_edition(_tokens(tail)[0])
    _edition_from_title(movie)
    if movie.title is not None and movie.title.endswith(")"):
        # Le.Prestige.(The.Prestige).DVDRip, La Defense Lincoln (The Lincoln Lawyer) (2011): a
        # second title in brackets (the search finds the film by either, not by both); one word
        # only when it is a release tag (Film (DVDRip)), so The Office (US) keeps its country.
        alt = _TITLE_EDITION_RE.search(movie.title)
        inner = alt.group(2) if alt is not None else None
        head = movie.title[: alt.start()].strip(" -") if alt is not None else ""
        if inner is not None and head and (len(inner.split()) >= 2 or _is_tag(inner)):
            movie.title = head
    return movie


def _edition_from_title(movie: _Movie) -> None:
    """``Blade Runner - The Final Cut`` / ``Movie (Director's Cut)``: the edition is not title.

    In a release name (or in capitals) the edition words may also simply end the title:
    ``Suicide Squad EXTENDED (2016) 2160p``, ``Alien DC (1979) [1080p]``, ``Aliens.SE.1986``.
    A name a person typed keeps them (``Apocalypse Now Redux`` is its own film on TMDB).
    """
    if movie.title is None or movie.edition is not None:
        return
    title = movie.title
    m = _TITLE_EDITION_RE.search(title) if " - " in title or title.endswith((")", "]")) else None
    if m is not None:
        edition = _edition_of(m.group(1) or m.group(2))
        head = movie.title[: m.start()].strip(" -")
        if edition is not None and head:
            movie.title, movie.edition = head, edition
            return
    words = movie.title.split()
    if (
        movie.clean
        and not any(w.isupper() and len(w) > 1 for w in words)
        and not title.lower().endswith(("edition", "cut"))
    ):
        return  # a name a person typed, no capitals: nothing to split off
    found: str | None = None
    while len(words) > 1:
        for width in range(min(4, len(words) - 1), 0, -1):
            tail = words[-width:]
            key = _norm("".join(tail).replace("'", ""))
            shouting = all(w.isupper() and len(w) > 1 for w in tail)
            edition = _EDITIONS.get(key) or (_EDITION_ABBREVIATIONS.get(key) if shouting else None)
            typed = width > 1 and key in _TYPED_EDITIONS  # Brazil Criterion Edition (1985)
            if edition is not None and (shouting or typed or not movie.clean):
                found = found or edition
                words = words[:-width]
                break
        else:
            break
    if found is not None:
        movie.title, movie.edition = " ".join(words).rstrip(" -"), found


@functools.lru_cache(maxsize=4096)
def _folder_base(folder: str) -> str:
    """A movie folder's name without ids and edition tags: what its files' names start with."""
    return _SPACES_RE.sub(" ", _EDITION_TAG_RE.sub(" ", _strip_ids(folder, {}))).strip()


@functools.lru_cache(maxsize=4096)
def _folder_movie(name: str) -> _Movie:
    """A movie folder's reading, shared by all its files (the result is read, never changed)."""
    return _parse_movie_stem(name)


def _parse_movie(raw: str, stem: str, dirs: list[str]) -> ParsedName:
    folder_name = dirs[-1] if dirs else None
    movie = _parse_movie_stem(stem, folder_name)
    title, year, edition = movie.title, movie.year, movie.edition
    ids: Ids = {}
    if folder_name is not None and season_of_dir(folder_name) is None:
        # Movie (2010)/whatever.mkv: a folder with a year is the movie, the file one of its files;
        # a folder that agrees with the file lends its year, ids and nicer spelling.
        folder = _folder_movie(folder_name)
        if folder.title is not None:
            # Greenberg.2010.DVDRip.XviD-ARROW/arw-greenberg.avi, Somewhere.2010.x264/i-smwhr.avi:
            # the release folder names the film, the file is the group's short name for it.
            abbreviated = (
                title is not None
                and title.islower()
                and "-" in title
                and " " not in title
                and year is None
            )
            release = not folder.clean and (
                abbreviated
                or (not movie.clean and folder.year is not None and year in (None, folder.year))
            )
            generic = title is None or title.lower() in _GENERIC_STEMS or release
            strong = folder.paren_year and (year is None or year == folder.year)
            same = _norm(folder.title) == _norm(title)
            if generic or strong or same:
                if generic or strong or folder.clean or (title or "").islower():
                    title = folder.title
                year = year if year is not None else folder.year
                ids.update(folder.ids)
                edition = edition or folder.edition
    ids.update(movie.ids)
    return ParsedName(
        path=raw,
        kind="movie",
        title=title,
        year=year,
        edition=edition,
        version=movie.version,
        part=movie.part,
        ids=ids or None,
    )


# --------------------------------------------------------------------------------------------
# episodes


def _day_first_date(m: re.Match[str]) -> str | None:
    """``15-05-2018``/``03-29-2012``/``20021107``: day first unless the day is the month."""
    if m.re is _DATE_COMPACT_RE:
        year, month, day = int(m.group(1)), int(m.group(2)), int(m.group(3))
    else:
        first, second, year = int(m.group(1)), int(m.group(3)), int(m.group(4))
        day, month = (second, first) if second > 12 else (first, second)
    try:
        return _dt.date(year, month, day).isoformat()
    except ValueError:
        return None


def _valid_date(m: re.Match[str] | None) -> str | None:
    if m is None:
        return None
    try:
        return _dt.date(int(m.group(1)), int(m.group(3)), int(m.group(4))).isoformat()
    except ValueError:
        return None


def _more(pattern: re.Pattern[str], text: str, pos: int, first: int) -> list[int]:
    """Episode numbers following the first one: ``E02E03`` lists, ``E01-E04`` ranges.

    Two numbers joined by a dash are a range (``E01-E04`` = 1..4); a longer chain is a list of
    the episodes named (``03x01-02-09`` = 1, 2, 9), as a person writes a double episode plus one.
    """
    episodes = [first]
    dashed = False
    while True:
        m = pattern.match(text, pos)
        if m is None or m.end() == pos:
            break
        groups = m.groups()
        dashed = dashed or "-" in (g for g in groups if g is not None and not g.isdigit())
        number = int(next(g for g in reversed(groups) if g is not None and g.isdigit()))
        if number not in episodes:
            episodes.append(number)
        pos = m.end()
    if len(episodes) == 2 and dashed and episodes[0] < episodes[1] <= episodes[0] + 50:
        return list(range(episodes[0], episodes[1] + 1))
    return episodes


class _Episode(msgspec.Struct):
    season: int | None = None
    episodes: list[int] | None = None
    air_date: str | None = None
    prefix: str | None = None  # the text before the episode marker: the series name in it
    absolute: bool = False


def _match_episode(text: str, folder_season: int | None) -> _Episode | None:
    m = _SXXEXX_RE.search(text)
    if m is not None:
        return _Episode(
            int(m.group(1)),
            _more(_SXXEXX_MORE_RE, text, m.end(), int(m.group(2))),
            prefix=text[: m.start()],
        )
    m = _WORDS_RE.search(text) or _ANIME_SEASON_RE.search(text)
    if m is not None:
        return _Episode(int(m.group(1)), [int(m.group(2))], prefix=text[: m.start()])
    m = _NXNN_RE.search(text)
    if m is not None:
        return _Episode(
            int(m.group(1)),
            _more(_NXNN_MORE_RE, text, m.end(), int(m.group(2))),
            prefix=text[: m.start()],
        )
    m = _DATE_RE.search(text)
    if m is not None:  # a date, even an impossible one, is not three episode numbers
        return _Episode(folder_season, None, _valid_date(m), prefix=text[: m.start()])
    m = _DATE_DMY_RE.search(text) or _DATE_COMPACT_RE.search(text)
    if m is not None and (date := _day_first_date(m)) is not None:
        return _Episode(folder_season, None, date, prefix=text[: m.start()])
    m = _DASH_SE_RE.search(text) if not text.startswith("[") else None  # [Grp] X - 16-20: a batch
    if m is not None:  # after a plain space only "3-07" (Show 13-16 is a batch)
        return _Episode(int(m.group(1) or m.group(2)), [int(m.group(3))], prefix=text[: m.start()])
    m = _CAP_RE.search(text)
    if m is not None:
        first, last = int(m.group(2)), int(m.group(3) or m.group(2))
        return _Episode(
            int(m.group(1)),
            list(range(first, max(first, last) + 1)),
            prefix=_SPANISH_SEASON_RE.split(text[: m.start()], 1)[0],
        )
    m = _SEASON_ONLY_RE.search(text)
    if m is not None:
        season = int(m.group(1) or m.group(2))
        e = _EONLY_RE.search(text, m.end())
        episodes = _more(_EONLY_MORE_RE, text, e.end(), int(e.group(1))) if e else None
        return _Episode(season, episodes, prefix=text[: m.start()])
    m = _EONLY_RE.search(text)
    if m is not None:
        return _Episode(
            folder_season,
            _more(_EONLY_MORE_RE, text, m.end(), int(m.group(1))),
            prefix=text[: m.start()],
        )
    if " " not in text and not text.startswith("["):
        tokens = text.split(".")
        head = ".".join(tokens[: _first_tag(tokens)]) + "."
        found = None
        for found in _SNN_RE.finditer(head):  # noqa: B007 (the last one before the tags)
            pass
        if found is not None and folder_season in (None, int(found.group(1))):
            return _Episode(
                int(found.group(1)), [int(found.group(2))], prefix=text[: found.start()]
            )
    return _absolute(text, folder_season)


def _absolute(text: str, folder_season: int | None) -> _Episode | None:
    """``[Group] Show - 102 (1080p) [CRC].mkv``: one number, anime style.

    Fansub names put the title and the number in brackets too (``[Group][Title][05][BDRIP]``,
    ``[Group] Title [11][1080p]``): a bracket holding only a number is the episode, a first
    bracket holding words is the title.
    """
    ids: Ids = {}
    work = _strip_ids(text, ids).replace("_", " ")
    if " " not in work.strip():
        work = work.replace(".", " ")
    grouped = _LEADING_GROUP_RE.match(work) is not None
    work = _LEADING_GROUP_RE.sub("", work)
    work = _CRC_RE.sub(" ", work)
    lead = _LEADING_BRACKET_RE.match(work)
    if (
        lead is not None
        and work[lead.end() :].lstrip().startswith("[")
        and not all(_is_tag(w) or _is_weak_tag(w) for w in lead.group(1).split())
    ):
        work = lead.group(1) + " " + work[lead.end() :]
    work = _BRACKET_NUMBER_RE.sub(r" - \1 ", work)
    work = _BRACKET_RE.sub(
        lambda b: b.group(0) if _PAREN_YEAR_RE.fullmatch(b.group(0)) else " ", work
    )
    tokens = work.split()
    cut = _first_tag(tokens)
    work = " ".join(tokens[:cut])
    found: re.Match[str] | None = _ABS_DASH_RE.search(work) or _ABS_START_RE.match(work)
    if found is None:
        for m in _ABS_ANY_RE.finditer(work):
            if not _plausible(int(m.group(1))) or len(m.group(1)) != 4:
                found = m
    if found is None:
        return None
    number = int(found.group(1))
    if folder_season is not None and number >= 100 and number // 100 == folder_season:
        number %= 100  # Season 01/101.mkv is S01E01, as in Jellyfin
    last = found.group(2)
    episodes = [number]
    if last is not None and number < int(last) <= number + 50:  # "- 16-20": a batch
        episodes = list(range(number, int(last) + 1))
    prefix = work[: found.start()]
    if grouped and not prefix.strip(" -"):  # [Group] 01 - Title: the title follows
        prefix = work[found.end() :].strip(" -").split(" - ")[0]
    return _Episode(folder_season, episodes, prefix=prefix, absolute=True)


@functools.lru_cache(maxsize=4096)
def _series_folder(name: str) -> tuple[_TitleYear, tuple[tuple[str, int | str], ...]]:
    """A series folder's title/year and ids, read once for all its episodes."""
    ids: Ids = {}
    return _title_year(_strip_ids(name, ids)), tuple(ids.items())


def _parse_episode(raw: str, stem: str, dirs: list[str]) -> ParsedName:
    folder_season, series_dir = _series_context(dirs)
    ids: Ids = {}
    folder_title = folder_year = None
    folder_clean = False
    if series_dir is not None:
        folder, folder_ids = _series_folder(series_dir)
        folder_title, folder_year, folder_clean = folder.title, folder.year, folder.clean
        ids.update(folder_ids)
    file_ids: Ids = {}
    # a CRC ([E8EE65A1]) is no episode number
    text = _strip_ids(stem, file_ids)
    text = _squash(_CRC_RE.sub(" ", text) if "[" in text or "(" in text else text).strip()
    ids.update(file_ids)
    text, part = _take_part(text)

    found = _match_episode(text, folder_season)
    if (found is None or found.absolute) and dirs and folder_season is None:
        # Show.S01E14.1080p.WEB-DL-GRP/mxNMuJWeO7PU.mkv: an obfuscated file in its release
        # folder; the folder names the episode.
        folder_text = _SPACES_RE.sub(" ", _strip_ids(dirs[-1], {})).strip()
        in_folder = _match_episode(folder_text, None)
        if (
            in_folder is not None
            and not in_folder.absolute
            and (in_folder.episodes or in_folder.air_date)
        ):
            text, found = folder_text, in_folder
    if (
        found is not None
        and found.air_date is None
        and not found.absolute
        and ("19" in text or "20" in text)
    ):
        # "Show - S02E02 - Title (14-01-2008)": the air date as well
        date = _DATE_RE.search(text) or _DATE_DMY_RE.search(text)
        if date is not None:
            found.air_date = _valid_date(date) if date.re is _DATE_RE else _day_first_date(date)
    file_title = file_year = None
    if found is not None and found.prefix is not None and found.prefix.strip(" -._"):
        prefix = _title_year(_PREFIX_TAIL_RE.sub("", found.prefix))
        file_title, file_year = prefix.title, prefix.year
    elif found is None:
        whole = _title_year(text)
        file_title, file_year = whole.title, whole.year
    if file_year is None and found is not None and ("(" in text or "[" in text):
        # "Show - Stagione 6 (2016) ep13"
        paren = _PAREN_YEAR_RE.search(text)
        if paren is not None and _plausible(int(paren.group(1))):
            file_year = int(paren.group(1))

    # The folder is the series when the layout says so (season folder, anime folder) or agrees
    # with the file; otherwise the file knows better (a flat download folder named "tv").
    use_folder = folder_title is not None and (
        folder_season is not None
        or file_title is None
        or (found is not None and found.absolute)
        or _norm(folder_title) == _norm(file_title)
        or (folder_clean and _norm(folder_title).startswith(_norm(file_title)))
    )
    if use_folder:
        title, year = folder_title, folder_year or file_year
    else:
        title, year = file_title, file_year
        if series_dir is not None and folder_season is None:
            ids = dict(file_ids)  # the folder was not the series: its ids are not ours
    season = found.season if found is not None else folder_season
    return ParsedName(
        path=raw,
        kind="episode",
        title=title,
        year=year,
        season=season,
        episodes=found.episodes if found is not None else None,
        air_date=found.air_date if found is not None else None,
        part=part,
        ids=ids or None,
    )
