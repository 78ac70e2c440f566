"""Where the player keeps session and refresh tokens: the OS keyring, else an encrypted file.

Tokens are never written in plain text. The keyring (Secret Service, KWallet, macOS Keychain,
Windows Credential Locker) is used when one answers a probe. Otherwise the tokens go into
``credentials.bin`` in the player data dir, encrypted with Fernet (AES-128-CBC + HMAC-SHA256)
under a random key kept in a separate 0600 file in the user's config dir. That fallback protects
tokens in a copied or backed-up data dir and from casual reads; like an unlocked keyring, it does
not protect them from code running as the same user.

Keyring calls can block on D-Bus, so the async methods run them in a worker thread (trio's
``to_thread``), never on the UI thread.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import msgspec
import trio
from cryptography.fernet import Fernet, InvalidToken

log = logging.getLogger(__name__)
SERVICE = "ferrex-player"


class StoredTokens(msgspec.Struct, kw_only=True):
    access_token: str
    refresh_token: str
    scope: str = "full"
    device_key: str = ""
    """This device's key from its last password login: sent with the next one, it lets the
    right password in on a trusted device even while strangers' guesses keep the account
    locked. Kept when the session is forgotten (logout), so it outlives the tokens."""

    @property
    def has_session(self) -> bool:
        return bool(self.refresh_token)


def _key(server_url: str, username: str) -> str:
    return f"{server_url}|{username}"


def _keyring_usable() -> bool:
    if os.environ.get("FERREX_PLAYER_KEYRING", "1") == "0":
        return False
    try:
        import keyring

        if float(getattr(keyring.get_keyring(), "priority", 0)) <= 0:  # fail / null backends
            return False
        keyring.set_password(SERVICE, "__probe__", "1")
        ok = keyring.get_password(SERVICE, "__probe__") == "1"
        keyring.delete_password(SERVICE, "__probe__")
        return ok
    except Exception as exc:  # any backend failure means "not usable", never a crash
        log.info("OS keyring not usable (%s); using the encrypted file", exc)
        return False


def default_key_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "ferrex-player" / "credentials.key"


class CredentialStore:
    """Tokens per (server, user). Backend chosen once, on first use."""

    def __init__(self, data_dir: Path, key_path: Path | None = None) -> None:
        self.file_path = data_dir / "credentials.bin"
        self.key_path = key_path or default_key_path()
        self._use_keyring: bool | None = None

    @property
    def backend(self) -> str:
        if self._use_keyring is None:
            self._use_keyring = _keyring_usable()
        return "keyring" if self._use_keyring else "encrypted-file"

    # --- encrypted file -------------------------------------------------------------------

    def _fernet(self) -> Fernet:
        try:
            key = self.key_path.read_bytes().strip()
        except FileNotFoundError:
            self.key_path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            key = Fernet.generate_key()
            fd = os.open(self.key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as fh:
                fh.write(key)
        return Fernet(key)

    def _read_file(self) -> dict[str, StoredTokens]:
        try:
            blob = self.file_path.read_bytes()
        except FileNotFoundError:
            return {}
        try:
            plain = self._fernet().decrypt(blob)
            return msgspec.json.decode(plain, type=dict[str, StoredTokens])
        except (InvalidToken, msgspec.DecodeError, ValueError):
            log.warning("stored credentials cannot be decrypted (key changed?); log in again")
            return {}

    def _write_file(self, entries: dict[str, StoredTokens]) -> None:
        blob = self._fernet().encrypt(msgspec.json.encode(entries))
        self.file_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.file_path.with_name(self.file_path.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(blob)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.file_path)

    # --- blocking API (run in a thread by the async one) ------------------------------------

    def save_sync(self, server_url: str, username: str, tokens: StoredTokens) -> None:
        if self.backend == "keyring":
            import keyring

            keyring.set_password(
                SERVICE, _key(server_url, username), msgspec.json.encode(tokens).decode()
            )
            return
        entries = self._read_file()
        entries[_key(server_url, username)] = tokens
        self._write_file(entries)

    def load_sync(self, server_url: str, username: str) -> StoredTokens | None:
        if self.backend == "keyring":
            import keyring

            raw = keyring.get_password(SERVICE, _key(server_url, username))
            if raw is None:
                return None
            try:
                return msgspec.json.decode(raw, type=StoredTokens)
            except msgspec.DecodeError:
                return None
        return self._read_file().get(_key(server_url, username))

    def delete_sync(self, server_url: str, username: str) -> None:
        if self.backend == "keyring":
            import keyring
            from keyring.errors import PasswordDeleteError

            try:
                keyring.delete_password(SERVICE, _key(server_url, username))
            except PasswordDeleteError:
                pass
            return
        entries = self._read_file()
        if entries.pop(_key(server_url, username), None) is not None:
            self._write_file(entries)

    # --- async ----------------------------------------------------------------------------

    async def save(self, server_url: str, username: str, tokens: StoredTokens) -> None:
        await trio.to_thread.run_sync(self.save_sync, server_url, username, tokens)

    async def load(self, server_url: str, username: str) -> StoredTokens | None:
        return await trio.to_thread.run_sync(self.load_sync, server_url, username)

    async def delete(self, server_url: str, username: str) -> None:
        await trio.to_thread.run_sync(self.delete_sync, server_url, username)

    async def forget_session(self, server_url: str, username: str) -> None:
        """Drop the tokens but keep the device key (deleting the entry if there is none)."""
        stored = await self.load(server_url, username)
        if stored is not None and stored.device_key:
            await self.save(
                server_url,
                username,
                StoredTokens(access_token="", refresh_token="", device_key=stored.device_key),
            )
        else:
            await self.delete(server_url, username)

    async def device_key(self, server_url: str, username: str) -> str | None:
        stored = await self.load(server_url, username)
        return stored.device_key if stored is not None and stored.device_key else None
