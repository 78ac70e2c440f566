"""The server key (HMAC key for tokens) and the first-run setup token, both files in the data dir.

The key is created once, atomically, with mode 0600: whoever can read it can forge nothing (tokens
are random), but can test guesses offline, so it is treated as a secret. The setup token file holds
only the token's HMAC and its expiry; the token itself is printed once by
``ferrex-appliance setup-token``.
"""

from __future__ import annotations

import hmac
import logging
import os
import secrets
from datetime import datetime
from pathlib import Path

import msgspec

from appliance.auth import tokens

log = logging.getLogger(__name__)
KEY_FILE = "server.key"
SETUP_TOKEN_FILE = "setup-token.json"
KEY_BYTES = 32


def _match_owner(path: Path) -> None:
    """Run as root (e.g. ``sudo ferrex-appliance setup-token``): hand the file to the data dir's
    owner so that the service account can read it."""
    if os.geteuid() == 0:
        owner = path.parent.stat()
        os.chown(path, owner.st_uid, owner.st_gid)


def _write_exclusive(path: Path, data: bytes) -> bool:
    """Create ``path`` with mode 0600 unless it exists; True if we created it."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    _match_owner(path)
    return True


def load_or_create_server_key(data_dir: Path) -> bytes:
    path = data_dir / KEY_FILE
    if _write_exclusive(path, secrets.token_bytes(KEY_BYTES).hex().encode() + b"\n"):
        log.info("created server key", extra={"path": str(path)})
    mode = path.stat().st_mode & 0o777
    if mode != 0o600:
        path.chmod(0o600)
        log.warning("server key had mode %o; set to 600", mode, extra={"path": str(path)})
    key = bytes.fromhex(path.read_text(encoding="ascii").strip())
    if len(key) != KEY_BYTES:
        raise ValueError(f"{path}: expected {KEY_BYTES} bytes of hex")
    return key


class SetupTokenFile(msgspec.Struct):
    hmac_hex: str
    expires_at: datetime


def create_setup_token(data_dir: Path, expires_at: datetime) -> str:
    """A new setup token (replacing any previous one); returned once, stored as an HMAC."""
    key = load_or_create_server_key(data_dir)
    token = tokens.new_token(tokens.SETUP_PREFIX)
    record = SetupTokenFile(tokens.digest(key, token).hex(), expires_at)
    path = data_dir / SETUP_TOKEN_FILE
    path.unlink(missing_ok=True)
    _write_exclusive(path, msgspec.json.encode(record))
    return token


def check_setup_token(data_dir: Path, key: bytes, token: str, now: datetime) -> bool:
    path = data_dir / SETUP_TOKEN_FILE
    try:
        record = msgspec.json.decode(path.read_bytes(), type=SetupTokenFile)
    except (OSError, msgspec.DecodeError, msgspec.ValidationError):
        return False
    if record.expires_at <= now:
        return False
    return hmac.compare_digest(bytes.fromhex(record.hmac_hex), tokens.digest(key, token))


def discard_setup_token(data_dir: Path) -> None:
    (data_dir / SETUP_TOKEN_FILE).unlink(missing_ok=True)
