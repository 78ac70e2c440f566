"""The console scripts' extra check (sync/extras.py) against a distribution made up for the test:
which requirements belong to an extra, which of them are missing, and the one-line refusal.
(tests/test_install_split.py checks the real thing in fresh venvs; this is the fast lane's.)"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from sync.extras import extra_requirements, missing_for, require_extra

METADATA = """\
Metadata-Version: 2.1
Name: fxfake
Version: 1.0
Requires-Dist: trio>=0.27
Requires-Dist: pytest>=8; extra == "side"
Requires-Dist: fxfake-absent-one[x]>=1; extra == 'side'
Requires-Dist: fxfake-absent-two; python_version < "3.9" and extra == "side"
Requires-Dist: fxfake-other; extra == "other"
"""


@pytest.fixture
def fake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    info = tmp_path / "fxfake-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(METADATA)
    monkeypatch.syspath_prepend(str(tmp_path))
    return "fxfake"


def test_an_extra_lists_only_its_own_unconditional_requirements(fake: str) -> None:
    assert extra_requirements("side", fake) == ["pytest", "fxfake-absent-one"]
    assert extra_requirements("other", fake) == ["fxfake-other"]
    assert extra_requirements("nope", fake) == []


def test_missing_names_what_is_not_installed(fake: str) -> None:
    assert missing_for("side", fake) == ["fxfake-absent-one"]
    assert missing_for("side", "fxfake-not-installed-at-all") == []  # a checkout: left alone


def test_refusal_is_one_line_naming_the_install_command(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys.modules["sync.extras"], "missing_for", lambda extra: ["PyQt6", "vispy"])
    with pytest.raises(SystemExit) as exited:
        require_extra("player", "ferrex-player")
    assert exited.value.code == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err == (
        "ferrex-player: the 'player' extra is not installed (missing: PyQt6, vispy); "
        "install it with: pip install 'ferrex[player]'\n"
    )


def test_the_dev_venv_has_both_extras() -> None:
    assert missing_for("appliance") == [] and missing_for("player") == []
