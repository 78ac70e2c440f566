"""A bad setting costs the user one clear line, exit status 2, and leaves nothing behind."""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path

import pytest

from tests.helpers import APPLIANCE, REPO, short_tempdir

# each test starts a real `ferrex-appliance` process (1-4 s on the 2-core dev machine)
pytestmark = pytest.mark.slow


def run(
    *args: str, env: dict[str, str] | None = None, user: int | None = None, cwd: Path = REPO
) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("FERREX_")}
    full_env.update(env or {})
    return subprocess.run(
        [*APPLIANCE, *args],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=60,
        user=user,
        cwd=cwd,
    )


def assert_one_line_error(result: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("ferrex-appliance: error: ")
    for needle in needles:
        assert needle in lines[0]


@pytest.fixture
def data_dir() -> Path:
    return short_tempdir("fxc") / "var"


def test_unknown_key_in_config_file(data_dir: Path) -> None:
    data_dir.mkdir()
    (data_dir / "ferrex.toml").write_text('[server]\nlisten = "127.0.0.1:1"\nworkers = 4\n')
    result = run("serve", "--data-dir", str(data_dir))
    assert_one_line_error(result, "server.workers", "unknown setting")
    assert sorted(p.name for p in data_dir.iterdir()) == ["ferrex.toml"]


def test_wrong_type_from_environment(data_dir: Path) -> None:
    result = run(
        "serve", "--data-dir", str(data_dir), env={"FERREX_SERVER_SHUTDOWN_GRACE_SECONDS": "soon"}
    )
    assert_one_line_error(result, "FERREX_SERVER_SHUTDOWN_GRACE_SECONDS", "float")
    assert not data_dir.exists()


def test_port_in_use(data_dir: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = run("serve", "--data-dir", str(data_dir), "--listen", f"127.0.0.1:{port}")
    assert_one_line_error(result, "server.listen", "in use")
    assert not data_dir.exists(), "nothing half-created"


def test_missing_initdb(data_dir: Path) -> None:
    result = run(
        "serve",
        "--data-dir",
        str(data_dir),
        "--listen",
        "127.0.0.1:0",
        env={"FERREX_DATABASE_POSTGRES_BIN_DIR": "/nonexistent/bin"},
    )
    assert_one_line_error(
        result, "database.postgres_bin_dir", "initdb not found", "apt-get install postgresql"
    )
    assert not data_dir.exists()


def test_missing_redis_server(data_dir: Path) -> None:
    result = run(
        "serve",
        "--data-dir",
        str(data_dir),
        "--listen",
        "127.0.0.1:0",
        env={"FERREX_REDIS_SERVER_BIN": "/nonexistent/redis-server"},
    )
    assert_one_line_error(result, "redis.server_bin")
    assert not data_dir.exists()


def test_unwritable_data_dir(data_dir: Path) -> None:
    if os.geteuid() == 0:
        # root may write almost anywhere, but not into /proc
        locked = Path("/proc")
    else:
        locked = data_dir.parent / "locked"
        locked.mkdir(mode=0o555)
    target = locked / "ferrex-test" / "var"
    result = run("serve", "--data-dir", str(target), "--listen", "127.0.0.1:0")
    assert_one_line_error(result, "data_dir", str(locked), "not writable")
    assert not target.exists()


def test_data_dir_is_a_file(data_dir: Path) -> None:
    data_dir.write_text("oops")
    result = run("serve", "--data-dir", str(data_dir), "--listen", "127.0.0.1:0")
    assert_one_line_error(result, "data_dir", "not a directory")
    assert data_dir.read_text() == "oops"


def test_check_config_prints_effective_config(data_dir: Path) -> None:
    result = run(
        "check-config", "--data-dir", str(data_dir), env={"FERREX_SERVER_LISTEN": "127.0.0.1:8999"}
    )
    assert result.returncode == 0, result.stderr
    assert 'listen = "127.0.0.1:8999"' in result.stdout
    assert not data_dir.exists(), "check-config creates nothing"


def test_version() -> None:
    result = run("version")
    assert result.returncode == 0
    assert result.stdout.startswith("ferrex-appliance ")
