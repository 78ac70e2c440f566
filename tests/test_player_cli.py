"""``ferrex-player`` on the command line as people expect it (issue 21, item 6): ``--help`` lists
every command, and every command takes the same ``--server`` and ``--data-dir``."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from sync.player_paths import ENV_VAR
from sync.replica import Replica
from ui.main import main

COMMANDS = [
    ["gui"],
    ["sync"],
    ["offline"],
    ["offline", "ls"],
    ["offline", "show"],
    ["offline", "progress"],
    ["offline", "watched"],
    ["offline", "unwatched"],
    ["offline", "pending"],
    ["offline", "status"],
    ["download"],
    ["downloads"],
    ["downloads", "remove"],
]


def test_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for command in ("gui", "sync", "offline"):
        assert f"    {command} " in out, out
    assert "--server URL" in out and "--data-dir DIR" in out


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_every_command_takes_server_and_data_dir(
    command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*command, "--help"]) == 0
    out = capsys.readouterr().out
    assert "--server URL" in out and "--data-dir DIR" in out, out


def test_data_dir_is_used_by_sync_and_offline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    elsewhere = tmp_path / "env-dir"
    monkeypatch.setenv(ENV_VAR, str(elsewhere))
    chosen = tmp_path / "chosen"
    # offline reads (and creates) the replica under --data-dir, not under $FERREX_PLAYER_DATA
    assert main(["offline", "status", "--data-dir", str(chosen)]) == 0
    assert "needs a snapshot" in capsys.readouterr().out
    assert (chosen / "replica").is_dir() and not elsewhere.exists()
    # the same option before the command name
    assert main(["--data-dir", str(chosen), "offline", "pending"]) == 0
    assert not elsewhere.exists()
    # sync in a fresh data dir: no last server there, so it asks for one (usage error)
    assert main(["sync", "--data-dir", str(chosen)]) == 2
    assert "--server URL" in capsys.readouterr().err
    assert not elsewhere.exists() and os.environ[ENV_VAR] == str(elsewhere)


def test_offline_server_refuses_another_servers_replica(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    Replica.open(data / "replica").close()
    status = main(
        ["offline", "status", "--data-dir", str(data), "--server", "http://other.example:8420"]
    )
    assert status == 1
    assert "is not of http://other.example:8420" in capsys.readouterr().err
