"""Config loading: defaults < file < environment < command line, with errors naming the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from appliance import config as cfg
from appliance.config import ConfigError, Location


def location(tmp_path: Path, text: str | None = None) -> Location:
    loc = Location(tmp_path, tmp_path / "ferrex.toml")
    if text is not None:
        loc.config_file.write_text(text)
    return loc


def test_defaults_without_a_file(tmp_path: Path) -> None:
    config = cfg.load(location(tmp_path), environ={})
    assert config.server.listen == "0.0.0.0:8420"
    assert config.database.dsn == "" and config.redis.url == ""  # embedded by default


def test_rendered_file_loads_back_identically(tmp_path: Path) -> None:
    config = cfg.load(location(tmp_path), environ={}, cli={"server": {"listen": "127.0.0.1:9"}})
    loc = location(tmp_path, cfg.render(config))
    assert cfg.load(loc, environ={}) == config


def test_precedence_file_env_cli(tmp_path: Path) -> None:
    loc = location(tmp_path, '[server]\nlisten = "127.0.0.1:1000"\n[log]\nlevel = "debug"\n')
    env = {"FERREX_SERVER_LISTEN": "127.0.0.1:2000", "FERREX_DATABASE_POOL_MAX": "20"}
    config = cfg.load(loc, environ=env)
    assert config.server.listen == "127.0.0.1:2000"
    assert config.database.pool_max == 20
    assert config.log.level == "debug"
    config = cfg.load(loc, environ=env, cli={"server": {"listen": "127.0.0.1:3000"}})
    assert config.server.listen == "127.0.0.1:3000"


@pytest.mark.parametrize(
    ("text", "env", "message"),
    [
        ('[server]\nlisen = "x"\n', {}, "server.lisen: unknown setting"),
        ('colour = "red"\n', {}, "colour: unknown setting"),
        ('[server]\nshutdown_grace_seconds = "soon"\n', {}, "server.shutdown_grace_seconds"),
        ("[database]\npool_max = 0\n", {}, "database.pool_max"),
        ('[server]\nlisten = "nohost"\n', {}, "server.listen: expected HOST:PORT"),
        ('[server]\nlisten = "0.0.0.0:99999"\n', {}, "server.listen: port 99999"),
        ("[server\n", {}, "not valid TOML"),
        ("", {"FERREX_SERVER_LISTN": "x"}, "FERREX_SERVER_LISTN: unknown setting"),
        ("", {"FERREX_DATABASE_POOL_MAX": "many"}, "FERREX_DATABASE_POOL_MAX: expected int"),
        ('[redis]\nurl = "http://x"\n', {}, "redis.url"),
        ('[log]\nlevel = "loud"\n', {}, "log.level"),
        ("[scan]\nwalk_processes = -2\n", {}, "scan.walk_processes: must be >= -1"),
        ("[database]\npool_idle_seconds = -1\n", {}, "database.pool_idle_seconds"),
        ("", {"FERREX_SCAN_WORKER_IDLE_SECONDS": "-5"}, "scan.worker_idle_seconds"),
        ('[memory]\nprofile = "tiny"\n', {}, "memory.profile: must be one of auto, small"),
    ],
)
def test_bad_settings_name_the_setting(
    tmp_path: Path, text: str, env: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError) as err:
        cfg.load(location(tmp_path, text), environ=env)
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_systemd_state_directory_is_the_default_data_dir(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STATE_DIRECTORY", "/var/lib/ferrex")
    assert cfg.default_data_dir() == Path("/var/lib/ferrex")
    monkeypatch.delenv("STATE_DIRECTORY")
    assert cfg.default_data_dir() == Path.cwd() / "var"
