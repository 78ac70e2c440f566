"""The layering of docs/architecture.md, checked: the player (``ui``) never imports the server
(``appliance``) or its database layer (``store``), and ``sync`` (shared by both) imports neither
the server nor the player — so the player can be installed and run without the appliance."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
FORBIDDEN = {
    "ui": {"appliance", "store"},
    "sync": {"appliance", "store", "ui"},
    "store": {"appliance", "ui"},
    "appliance": {"ui"},
}


def imported_packages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_imports_only_what_its_layer_allows(package: str) -> None:
    files = sorted((REPO / package).rglob("*.py"))
    assert files, f"no modules found in {package}/"
    broken = {str(f.relative_to(REPO)): sorted(imported_packages(f) & FORBIDDEN[package])
              for f in files if imported_packages(f) & FORBIDDEN[package]}
    assert not broken, f"{package}/ must not import {sorted(FORBIDDEN[package])}: {broken}"
