"""The downloads policy without a server (issue 22, items 3-4): the default limit is a steady
share of the space downloads could have (free plus their own, so it does not shrink as they
fill the disk), room is bounded by the disk too, followed series survive a restart and a
hand-damaged follows file does not keep the player from starting; the settings' limit in GB."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from sync.download_policy import (
    DEFAULT_SHARE,
    DownloadPolicy,
    load_follows,
    policy_for,
    save_follows,
    space,
)
from ui.settings.model import DownloadSettings, Settings, SettingsError, update_section


def test_default_limit_is_a_steady_share_of_free_plus_held() -> None:
    empty = space(DownloadPolicy(), used_bytes=0, free_bytes=100_000)
    assert empty.default_limit and empty.limit_bytes == int(100_000 * DEFAULT_SHARE)
    # 10 000 bytes later the disk has 10 000 less free: the limit has not moved
    later = space(DownloadPolicy(), used_bytes=10_000, free_bytes=90_000)
    assert later.limit_bytes == empty.limit_bytes
    assert later.room_bytes == empty.limit_bytes - 10_000


def test_room_is_bounded_by_the_limit_and_by_the_disk() -> None:
    info = space(DownloadPolicy(limit_bytes=1_000), used_bytes=400, free_bytes=10_000)
    assert not info.default_limit and info.room_bytes == 600
    assert space(DownloadPolicy(limit_bytes=10**9), 400, 250).room_bytes == 250
    assert space(DownloadPolicy(limit_bytes=100), 400, 10_000).room_bytes == 0


def test_follows_survive_a_restart_and_damage(tmp_path: Path) -> None:
    series = uuid.uuid4()
    save_follows(tmp_path / "downloads", {})
    assert not (tmp_path / "downloads").exists()  # nothing followed: no file, no folder
    save_follows(tmp_path / "downloads", {series: 3})
    policy = policy_for(tmp_path / "downloads", 5_000, remove_after_watching=False)
    assert policy.smart == {series: 3} and policy.limit_bytes == 5_000
    assert not policy.remove_after_watching
    (tmp_path / "downloads" / "follows.json").write_text("{not json")
    assert load_follows(tmp_path / "downloads") == {}


def test_settings_limit_in_gb() -> None:
    assert Settings().downloads.limit_bytes is None  # 0: the default share
    assert Settings().downloads.remove_after_watching
    changed = update_section(Settings(), "downloads", {"limit_gb": 2.5})
    assert changed.downloads == DownloadSettings(limit_gb=2.5)
    assert changed.downloads.limit_bytes == 2_500_000_000
    with pytest.raises(SettingsError):
        update_section(Settings(), "downloads", {"limit_gb": -1})
