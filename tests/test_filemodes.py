"""The data dir and the config are the appliance account's alone (issue #20, "Files").

Unit tests of the rules, then one real ``serve`` that checks what a first start and a start over
a data dir left world-readable by an older version end up with.
"""

from __future__ import annotations

import logging
import os
import signal
import stat
from pathlib import Path

import pytest

from appliance import filemodes
from appliance.api import server_settings
from appliance.children import Account
from tests.helpers import RunningAppliance, short_tempdir


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_new_data_dir_is_0700(tmp_path: Path) -> None:
    data = tmp_path / "a" / "var"
    filemodes.secure_data_dir(data, None)
    assert mode(data) == 0o700


def test_wide_data_dir_is_tightened_with_a_log_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data = tmp_path / "var"
    data.mkdir()
    data.chmod(0o755)
    with caplog.at_level(logging.WARNING, logger="ferrex"):
        filemodes.secure_data_dir(data, None)
    assert mode(data) == 0o700
    messages = [r.getMessage() for r in caplog.records]
    assert messages == ["data dir was readable by others; tightened"]


def test_root_run_data_dir_lets_the_service_group_enter_only(tmp_path: Path) -> None:
    data = tmp_path / "var"
    gid = os.getgid() if os.geteuid() != 0 else 1  # root may hand the group to any account
    filemodes.secure_data_dir(data, Account("svc", 4242, gid))
    assert mode(data) == 0o710  # enter, not list; nothing for others
    assert data.stat().st_gid == gid


def test_config_in_the_data_dir_becomes_0600_outside_it_loses_only_other(tmp_path: Path) -> None:
    data = tmp_path / "var"
    data.mkdir()
    inside = data / "ferrex.toml"
    inside.write_text('[metadata]\ntmdb_api_key = "secret"\n')
    inside.chmod(0o644)
    settings = data / server_settings.FILE_NAME
    settings.write_text("{}")
    settings.chmod(0o664)
    filemodes.secure_existing(data, inside, (server_settings.FILE_NAME, "server.key"))
    assert (mode(inside), mode(settings)) == (0o600, 0o600)

    etc = tmp_path / "etc" / "ferrex.toml"  # the package's root:ferrex 0640 keeps its group
    etc.parent.mkdir()
    etc.write_text("")
    etc.chmod(0o644)
    filemodes.secure_existing(data, etc, ())
    assert mode(etc) == 0o640


def test_settings_written_through_the_api_are_0600(tmp_path: Path) -> None:
    old_umask = os.umask(0o022)
    try:
        server_settings._write(tmp_path, {"session_hours": 12.0})
    finally:
        os.umask(old_umask)
    path = tmp_path / server_settings.FILE_NAME
    assert mode(path) == 0o600
    assert server_settings.read_saved(tmp_path) == {"session_hours": 12.0}


@pytest.mark.slow
def test_serve_creates_private_files_and_tightens_old_ones() -> None:
    data = short_tempdir("fxm") / "var"
    old_umask = os.umask(0o022)  # what a shell gives a user starting it by hand
    try:
        app = RunningAppliance(data)
        try:
            app.wait_ready()
            # root-run here (the test machine) gives 0710 root:<service group>; otherwise 0700
            assert mode(data) in (0o700, 0o710) and not mode(data) & 0o007
            assert mode(data / "ferrex.toml") == 0o600
            assert mode(data / "server.key") == 0o600
        finally:
            assert app.stop(signal.SIGTERM) == 0
        # an older version's modes: all world-readable
        data.chmod(0o755)
        (data / "ferrex.toml").chmod(0o644)
        (data / server_settings.FILE_NAME).write_text("{}")
        (data / server_settings.FILE_NAME).chmod(0o644)
        app = RunningAppliance(data)
        try:
            app.wait_ready()
            assert not mode(data) & 0o007
            assert mode(data / "ferrex.toml") == 0o600
            assert mode(data / server_settings.FILE_NAME) == 0o600
            tightened = [
                e
                for e in app.log_lines()
                if e.get("msg", "").endswith("readable by others; tightened")
            ]
            assert {Path(e["path"]).name for e in tightened} == {
                "var",
                "ferrex.toml",
                server_settings.FILE_NAME,
            }
        finally:
            assert app.stop(signal.SIGTERM) == 0
    finally:
        os.umask(old_umask)
