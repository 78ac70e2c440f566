"""Validation of library root folders: the checks a user gets a clear 422 for (the API) or a
plain error line for (``ferrex-appliance library add``), with the same rules for both."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from appliance.scan import root_policy


class RootError(ValueError):
    """One line naming the root and what is wrong with it."""


def _inside(a: str, b: str) -> bool:
    return a == b or a.startswith(b.rstrip("/") + "/")


def validate_roots(
    roots: list[str], others: Iterable[tuple[str, str]], data_dir: Path | None = None
) -> list[str]:
    """Normalised roots (symlinks resolved), or RootError. ``others`` are (library name, root)
    of other libraries; ``data_dir`` is the appliance's, which no root may touch (see
    :mod:`appliance.scan.root_policy` for the folders and filesystems refused). Blocking."""
    if not roots:
        raise RootError("roots: a library needs at least one folder")
    clean: list[str] = []
    for raw in roots:
        if not raw or not os.path.isabs(raw):
            raise RootError(f"root {raw!r}: must be an absolute path on the appliance")
        if "\0" in raw:
            raise RootError(f"root {raw!r}: contains a NUL byte")
        path = os.path.realpath(os.path.normpath(raw))
        if not os.path.exists(path):
            raise RootError(f"root {raw}: does not exist")
        if not os.path.isdir(path):
            raise RootError(f"root {raw}: is not a directory")
        try:
            with os.scandir(path):
                pass
        except OSError as exc:
            raise RootError(f"root {raw}: cannot be read ({exc.strerror})") from None
        clean.append(path)
    mounts = root_policy.read_mounts()  # after the reads above, which trigger automounts
    for raw, path in zip(roots, clean, strict=True):
        why = root_policy.refusal(path, data_dir, mounts)
        if why is not None:
            shown = raw if raw == path else f"{raw} ({path})"
            raise RootError(f"root {shown}: {why}")
    for i, a in enumerate(clean):
        for b in clean[i + 1 :]:
            if _inside(a, b) or _inside(b, a):
                raise RootError(f"roots {a} and {b} overlap")
    for name, other in others:
        other_real = os.path.realpath(other)
        for root in clean:
            if _inside(root, other_real) or _inside(other_real, root):
                raise RootError(f"root {root} overlaps library {name!r} ({other})")
    return clean
