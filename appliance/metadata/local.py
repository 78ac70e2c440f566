"""Where an item's NFO and artwork lie next to its files (Kodi/Jellyfin naming).

Blocking (directory listings): call from a worker thread.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

IMAGE_EXTS = (".jpg", ".jpeg", ".png", ".webp")
_SEASON_DIR = re.compile(
    r"^(season|series|saison|staffel)[\s._-]*\d+$|^s\d{1,3}$|^specials$", re.IGNORECASE
)


@dataclass
class LocalSources:
    nfo: list[Path] = field(default_factory=list)
    art: dict[str, Path] = field(default_factory=dict)  # poster, backdrop, logo, thumb, banner


def _listing(folder: Path) -> dict[str, str]:
    """Lower-cased name -> real name."""
    try:
        return {name.lower(): name for name in os.listdir(folder)}
    except OSError:
        return {}


def _find(folder: Path, listing: dict[str, str], stems: list[str]) -> Path | None:
    for stem in stems:
        for ext in IMAGE_EXTS:
            real = listing.get(f"{stem}{ext}".lower())
            if real is not None:
                return folder / real
    return None


def _under_root(folder: Path, roots: list[str]) -> bool:
    """True when ``folder`` is inside a library root (not the root itself)."""
    text = str(folder).rstrip("/")
    return not any(text == r.rstrip("/") for r in roots)


def for_movie(file: Path, roots: list[str]) -> LocalSources:
    folder, stem = file.parent, file.stem
    listing = _listing(folder)
    own_folder = _under_root(folder, roots)  # loose files at the root share nothing
    found = LocalSources()
    names = [f"{stem}.nfo"] + (["movie.nfo"] if own_folder else [])
    found.nfo = [folder / listing[n.lower()] for n in names if n.lower() in listing]
    shared = own_folder
    kinds = {
        "poster": [f"{stem}-poster", f"{stem}-folder"]
        + (["poster", "folder", "cover"] if shared else []),
        "backdrop": [f"{stem}-fanart", f"{stem}-backdrop"]
        + (["fanart", "backdrop"] if shared else []),
        "logo": [f"{stem}-logo", f"{stem}-clearlogo"] + (["logo", "clearlogo"] if shared else []),
        "banner": [f"{stem}-banner"] + (["banner"] if shared else []),
    }
    for kind, stems in kinds.items():
        if (path := _find(folder, listing, stems)) is not None:
            found.art[kind] = path
    return found


def series_folder(episode_file: Path, roots: list[str]) -> Path:
    folder = episode_file.parent
    if _SEASON_DIR.match(folder.name) and _under_root(folder, roots):
        return folder.parent
    return folder


def for_series(folder: Path) -> LocalSources:
    listing = _listing(folder)
    found = LocalSources()
    if "tvshow.nfo" in listing:
        found.nfo = [folder / listing["tvshow.nfo"]]
    for kind, stems in {
        "poster": ["poster", "folder", "cover"],
        "backdrop": ["fanart", "backdrop"],
        "logo": ["logo", "clearlogo"],
        "banner": ["banner"],
    }.items():
        if (path := _find(folder, listing, stems)) is not None:
            found.art[kind] = path
    return found


def for_season(series: Path, season_dir: Path | None, number: int) -> LocalSources:
    found = LocalSources()
    listing = _listing(series)
    label = "specials" if number == 0 else f"season{number:02d}"
    stems = [f"{label}-poster", f"season{number:02d}-poster", f"season{number}-poster"]
    if (path := _find(series, listing, stems)) is not None:
        found.art["poster"] = path
    elif season_dir is not None and season_dir != series:
        own = _listing(season_dir)
        if (path := _find(season_dir, own, ["poster", "folder", "cover"])) is not None:
            found.art["poster"] = path
    if season_dir is not None and season_dir != series:
        own = _listing(season_dir)
        if "season.nfo" in own:
            found.nfo = [season_dir / own["season.nfo"]]
    return found


def for_episode(file: Path) -> LocalSources:
    folder, stem = file.parent, file.stem
    listing = _listing(folder)
    found = LocalSources()
    if f"{stem}.nfo".lower() in listing:
        found.nfo = [folder / listing[f"{stem}.nfo".lower()]]
    if (path := _find(folder, listing, [f"{stem}-thumb", f"{stem}"])) is not None:
        found.art["thumb"] = path
    return found
