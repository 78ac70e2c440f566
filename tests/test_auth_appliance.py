"""Auth in a real ``ferrex-appliance serve`` process over real HTTP: the server key appears with
mode 0600, the appliance is claimed from loopback, and a login with the default (Pi-sized)
Argon2id parameters gives a working session."""

from __future__ import annotations

import json
import os
import signal
import stat
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import RunningAppliance, live_processes_mentioning, short_tempdir

pytestmark = pytest.mark.slow


@pytest.fixture
def data_dir() -> Iterator[Path]:
    path = short_tempdir("fxa") / "var"
    yield path
    for pid in live_processes_mentioning(str(path)):
        os.kill(pid, signal.SIGKILL)


def call(
    base: str, method: str, path: str, body: Any = None, token: str | None = None
) -> tuple[int, Any]:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(base + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            raw = response.read()
            return response.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def test_claim_login_and_logout_on_a_real_appliance(data_dir: Path) -> None:
    app = RunningAppliance(data_dir)
    try:
        base = app.wait_ready()
        key = data_dir / "server.key"
        assert stat.S_IMODE(key.stat().st_mode) == 0o600
        assert call(base, "GET", "/api/v1/setup") == (200, {"claimed": False, "local_client": True})
        status, user = call(
            base,
            "POST",
            "/api/v1/setup/claim",
            {"username": "admin", "password": "a long passphrase"},
        )
        assert status == 201 and user["role"] == "admin"
        status, pair = call(
            base,
            "POST",
            "/api/v1/auth/login",
            {
                "username": "admin",
                "password": "a long passphrase",
                "device": {"id": "laptop", "name": "Laptop", "platform": "linux"},
            },
        )
        assert status == 200
        token = pair["access_token"]
        status, me = call(base, "GET", "/api/v1/auth/me", token=token)
        assert status == 200 and me["user"]["username"] == "admin"
        assert call(base, "GET", "/api/v1/users")[0] == 401
        assert call(base, "POST", "/api/v1/auth/logout", token=token)[0] == 204
        assert call(base, "GET", "/api/v1/auth/me", token=token)[0] == 401
        log = app.log_path.read_text()
        assert "a long passphrase" not in log and token not in log
        assert pair["refresh_token"] not in log
    finally:
        assert app.stop() == 0
