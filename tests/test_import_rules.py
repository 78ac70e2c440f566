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
    broken = {
        str(f.relative_to(REPO)): sorted(imported_packages(f) & FORBIDDEN[package])
        for f in files
        if imported_packages(f) & FORBIDDEN[package]
    }
    assert not broken, f"{package}/ must not import {sorted(FORBIDDEN[package])}: {broken}"


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path) -> set[str]:
    """Every module a file imports, by full name, at any depth (imports inside functions and
    under TYPE_CHECKING count: they are the same dependency, only deferred)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found


def package_of(module: str, packages: set[str]) -> str | None:
    """The innermost package among ``packages`` holding ``module`` (None: outside them)."""
    parts = module.split(".")
    for end in range(len(parts), 0, -1):
        if ".".join(parts[:end]) in packages:
            return ".".join(parts[:end])
    return None


def package_graph(root: str) -> dict[str, set[str]]:
    """Sub-package -> the sub-packages its modules import, for the sub-packages of ``root``
    (``appliance.api``, ``appliance.auth`` ...; the top-level modules count as ``root``)."""
    top = REPO / root
    packages = {root} | {module_name(p.parent) for p in top.rglob("__init__.py")}
    graph: dict[str, set[str]] = {p: set() for p in packages}
    for path in top.rglob("*.py"):
        source = package_of(module_name(path), packages)
        assert source is not None
        for module in imported_modules(path):
            target = package_of(module, packages)
            if target is not None and target != source and target != root:
                graph[source].add(target)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One path per cycle found by a depth-first search (empty: the graph is acyclic)."""
    found: list[list[str]] = []
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                found.append([*path[path.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt)
        path.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    return found


def test_cycle_check_finds_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == [["a", "b", "c", "a"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


@pytest.mark.parametrize(
    "pair", [("appliance.api", "appliance.auth"), ("appliance.scan", "appliance.metadata")]
)
def test_no_import_cycle_between_packages(pair: tuple[str, str]) -> None:
    """``api`` (HTTP) uses ``auth`` (the service), never the reverse; ``scan`` starts metadata
    jobs and ``metadata`` never reaches back into ``scan``. A cycle makes import order matter
    and the two packages one unit that cannot be tested or replaced apart."""
    graph = package_graph("appliance")
    first, second = pair
    assert not (second in graph[first] and first in graph[second]), (
        f"{first} imports {second} and {second} imports {first}"
    )


def test_appliance_packages_form_no_cycle() -> None:
    graph = package_graph("appliance")
    assert cycles(graph) == [], "import cycles between appliance packages"
