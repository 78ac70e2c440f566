"""The player's settings as typed msgspec structs: one struct per section, all in :class:`Settings`.

Other parts of the player read these (the poster grid reads :class:`DisplaySettings` and
:class:`PerformanceSettings`) and never the persisted file, so a setting is validated once, where
it is decoded, and a bad value in a hand-edited file is refused with the setting's name instead of
surfacing as a strange scroll speed. Structs are frozen: a change is a new value that the
SettingsDomain broadcasts, which is what lets every screen apply it live.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

Theme = Literal["dark", "light"]
ResumeBehaviour = Literal["resume", "ask", "start_over"]
SubtitleMode = Literal["off", "forced_only", "always"]
SectionName = Literal[
    "profile",
    "playback",
    "display",
    "performance",
    "downloads",
    "security",
    "devices",
    "libraries",
    "users",
    "server",
]
SECTIONS: tuple[SectionName, ...] = (
    "profile",
    "playback",
    "display",
    "performance",
    "downloads",
    "security",
    "devices",
    "libraries",
    "users",
    "server",
)
ADMIN_SECTIONS: frozenset[SectionName] = frozenset({"libraries", "users", "server"})
# The sections whose values live on this machine (the others are views of server state).
LOCAL_SECTIONS: tuple[SectionName, ...] = (
    "profile",
    "playback",
    "display",
    "performance",
    "downloads",
)


def _range(low: float, high: float, description: str) -> msgspec.Meta:
    return msgspec.Meta(ge=low, le=high, description=description)


class ProfileSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    display_name: Annotated[str, msgspec.Meta(max_length=100)] = ""
    """Shown in the player's header; empty means the account's username."""
    email: Annotated[str, msgspec.Meta(max_length=254)] = ""
    avatar_color: Annotated[str, msgspec.Meta(pattern=r"^#[0-9a-fA-F]{6}$")] = "#3d7eff"
    """Background of the initials avatar."""


class PlaybackSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    auto_play_next: bool = True
    """Start the next episode when one ends."""
    auto_play_countdown_s: Annotated[int, _range(0, 60, "seconds before the next episode")] = 10
    resume: ResumeBehaviour = "resume"
    """What Play does for an item with progress."""
    seek_short_s: Annotated[int, _range(1, 120, "left/right arrow seek")] = 10
    seek_long_s: Annotated[int, _range(5, 600, "up/down arrow seek")] = 60
    subtitle_mode: SubtitleMode = "forced_only"
    subtitle_language: Annotated[str, msgspec.Meta(max_length=8)] = "eng"
    """ISO 639-2 code preferred for subtitles (and audio when there is a choice)."""
    skip_intro_s: Annotated[int, _range(0, 600, "Skip intro jumps this far")] = 85
    skip_credits_s: Annotated[int, _range(0, 900, "Skip credits jumps this far")] = 120


class DisplaySettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    theme: Theme = "dark"
    grid_columns: Annotated[int, _range(0, 16, "posters per row; 0 fits the window")] = 0
    poster_width: Annotated[int, _range(90, 400, "poster width in logical pixels")] = 170
    poster_aspect: Annotated[float, _range(1.0, 2.0, "height / width")] = 1.5
    spacing: Annotated[int, _range(0, 64, "gap between posters in logical pixels")] = 18
    animations: bool = True
    """Off: focus, scroll and view changes jump instead of animating."""

    @property
    def poster_height(self) -> int:
        return round(self.poster_width * self.poster_aspect)


class PerformanceSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    scroll_decay_tau_ms: Annotated[float, _range(50, 2000, "momentum decay time constant")] = 325.0
    """Velocity falls to 1/e after this long once the wheel or key stops (kinetic scrolling)."""
    scroll_velocity_ramp: Annotated[float, _range(1.0, 4.0, "held-key acceleration")] = 1.5
    """Factor the velocity of a held arrow key grows by per second, up to the boost."""
    scroll_boost_multiplier: Annotated[float, _range(1.0, 10.0, "maximum held-key speed-up")] = 4.0
    max_uploads_per_frame: Annotated[int, _range(1, 64, "poster textures uploaded per frame")] = 6
    """Uploads beyond this wait for the next frame, so a fast scroll never stalls a frame."""
    frame_budget_ms: Annotated[float, _range(4.0, 33.4, "frame time uploads back off at")] = 8.3
    prefetch_rows_above: Annotated[int, _range(0, 10, "rows fetched above the viewport")] = 1
    prefetch_rows_below: Annotated[int, _range(0, 20, "rows fetched below the viewport")] = 3
    carousel_snap_ms: Annotated[int, _range(0, 2000, "carousel snap-to-item duration")] = 220
    anchor_settle_ms: Annotated[int, _range(0, 2000, "wait before a scroll anchor settles")] = 120


class DownloadSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Offline downloads (issue 22): read by ``sync.download_policy.DownloadPolicy``."""

    limit_gb: Annotated[
        float, _range(0, 1_000_000, "storage for downloads in GB; 0: a quarter of the space")
    ] = 0.0
    """0 means the default: 25 % of what downloads could have (free space plus their own)."""
    remove_after_watching: bool = True
    """A download is deleted on the next sync once the server has it watched."""

    @property
    def limit_bytes(self) -> int | None:
        return int(self.limit_gb * 1e9) if self.limit_gb > 0 else None


class Settings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Every locally stored section; Security, Devices and the admin sections are server state."""

    profile: ProfileSettings = msgspec.field(default_factory=ProfileSettings)
    playback: PlaybackSettings = msgspec.field(default_factory=PlaybackSettings)
    display: DisplaySettings = msgspec.field(default_factory=DisplaySettings)
    performance: PerformanceSettings = msgspec.field(default_factory=PerformanceSettings)
    downloads: DownloadSettings = msgspec.field(default_factory=DownloadSettings)


LocalSection = (
    ProfileSettings | PlaybackSettings | DisplaySettings | PerformanceSettings | DownloadSettings
)
SECTION_TYPES: dict[str, type[LocalSection]] = {
    "profile": ProfileSettings,
    "playback": PlaybackSettings,
    "display": DisplaySettings,
    "performance": PerformanceSettings,
    "downloads": DownloadSettings,
}


class SettingsError(ValueError):
    """A value that is out of range or of the wrong type; the message names the setting."""


def update_section(settings: Settings, section: str, changes: dict[str, object]) -> Settings:
    """``settings`` with some fields of one local section changed, validated like the file is."""
    kind = SECTION_TYPES.get(section)
    if kind is None:
        raise SettingsError(f"{section}: not a locally stored settings section")
    current = msgspec.to_builtins(getattr(settings, section))
    unknown = sorted(set(changes) - set(current))
    if unknown:
        raise SettingsError(f"{section}: unknown setting(s) {', '.join(unknown)}")
    try:
        value = msgspec.convert({**current, **changes}, kind)
    except msgspec.ValidationError as exc:
        raise SettingsError(f"{section}: {exc}") from None
    return msgspec.structs.replace(settings, **{section: value})
