"""Player settings: validation names the setting, files survive restarts, a broken file never
keeps the player from starting."""

from __future__ import annotations

from pathlib import Path

import pytest

from ui.settings.model import Settings, SettingsError, update_section
from ui.settings.store import SettingsStore


def test_update_validates_and_names_the_setting() -> None:
    s = update_section(Settings(), "display", {"poster_width": 220, "spacing": 10})
    assert s.display.poster_width == 220 and s.display.poster_height == 330
    with pytest.raises(SettingsError, match="poster_width"):
        update_section(s, "display", {"poster_width": 10})
    with pytest.raises(SettingsError, match="unknown setting"):
        update_section(s, "performance", {"warp_drive": 1})
    with pytest.raises(SettingsError, match="not a locally stored"):
        update_section(s, "users", {})


def test_store_round_trip_and_broken_file(tmp_path: Path) -> None:
    store = SettingsStore(tmp_path)
    assert store.load_settings() == Settings()
    changed = update_section(Settings(), "performance", {"scroll_decay_tau_ms": 500})
    store.save_settings(changed)
    assert SettingsStore(tmp_path).load_settings().performance.scroll_decay_tau_ms == 500
    state = store.load_state()
    assert len(state.device_id) == 36
    assert store.load_state().device_id == state.device_id  # stable per installation
    store.settings_path.write_text('{"display": {"poster_width": "huge"}}')
    assert store.load_settings() == Settings()
    assert (tmp_path / "settings.json.bad").exists()
