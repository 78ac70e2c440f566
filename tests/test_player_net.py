"""The player's API client pieces that need no server: addresses, error wording, token storage."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from ui.net.client import normalize_url
from ui.net.credentials import CredentialStore, StoredTokens
from ui.net.errors import ApiError


@pytest.mark.parametrize(("text", "url"), [
    ("ferrex.local:8420", "http://ferrex.local:8420"),
    ("  http://10.0.0.5:8420/ ", "http://10.0.0.5:8420"),
    ("https://media.example.org", "https://media.example.org"),
])
def test_server_addresses(text: str, url: str) -> None:
    assert normalize_url(text) == url


@pytest.mark.parametrize("text", ["", "http://", "ftp://nas", "http://nas:8420/api/v1",
                                  "http://[::1"])
def test_bad_server_addresses_are_refused_with_a_message(text: str) -> None:
    with pytest.raises(ValueError, match="address"):
        normalize_url(text)


def test_lockouts_and_rate_limits_are_said_plainly() -> None:
    locked = ApiError(423, "account_locked", "too many failed passwords; try again in 840 s",
                      {"retry_after_s": 840})
    assert locked.user_message() == ("This account is locked after too many wrong passwords. "
                                     "Try again in 14 minutes.")
    device = ApiError(423, "device_locked", "PIN locked")
    assert "Log in with your password" in device.user_message(pin=True)
    limited = ApiError(429, "rate_limited", "slow down", retry_after=42)
    assert limited.user_message() == "Too many attempts. Wait 42 seconds and try again."
    wrong = ApiError(401, "invalid_credentials", "wrong username, password or PIN")
    assert wrong.user_message() == "Wrong username or password."
    assert wrong.user_message(pin=True) == "Wrong PIN."


def test_tokens_are_encrypted_at_rest(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FERREX_PLAYER_KEYRING", "0")
    key = tmp_path / "config" / "credentials.key"
    store = CredentialStore(tmp_path / "data", key_path=key)
    assert store.backend == "encrypted-file"
    tokens = StoredTokens(access_token="fxs_" + "a" * 43, refresh_token="fxr_" + "b" * 43)
    store.save_sync("http://nas:8420", "ada", tokens)
    blob = store.file_path.read_bytes()
    assert b"fxs_" not in blob and b"fxr_" not in blob and b"ada" not in blob
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert stat.S_IMODE(store.file_path.stat().st_mode) == 0o600
    again = CredentialStore(tmp_path / "data", key_path=key)
    assert again.load_sync("http://nas:8420", "ada") == tokens
    again.delete_sync("http://nas:8420", "ada")
    assert again.load_sync("http://nas:8420", "ada") is None
    # a different key (the key file lost) reads as "log in again", never as a crash
    store.save_sync("http://nas:8420", "ada", tokens)
    other = CredentialStore(tmp_path / "data", key_path=tmp_path / "other.key")
    assert other.load_sync("http://nas:8420", "ada") is None
