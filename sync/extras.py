"""Which of ferrex's extras (``appliance``, ``player``) are installed, and the one-line refusal the
console scripts give when theirs is not.

One wheel holds both sides, so ``pip install 'ferrex[appliance]'`` still installs a
``ferrex-player`` script (and the other way round). Without this check that script would die with
a traceback on its first missing import; with it, it names the extra to install. The list of what
an extra needs is read from the installed distribution's metadata (pyproject.toml is the one
source), not repeated here. Standard library only: this runs before anything else is imported.
"""

from __future__ import annotations

import re
import sys
from importlib import metadata

DISTRIBUTION = "ferrex"
_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")
_EXTRA = re.compile(r"""extra\s*==\s*['"]([^'"]+)['"]""")


def extra_requirements(extra: str, distribution: str = DISTRIBUTION) -> list[str]:
    """Names of the distributions ``distribution[extra]`` adds to the base install.

    Requirements that carry another marker besides the extra (a Python version, a platform) are
    left out: whether they apply here is not worth a parser, and no extra of ours has one.
    """
    names: list[str] = []
    for requirement in metadata.requires(distribution) or []:
        spec, _, marker = requirement.partition(";")
        extras = _EXTRA.findall(marker)
        if extras != [extra] or " and " in marker or " or " in marker:
            continue
        match = _NAME.match(spec)
        if match and match.group(1) not in names:
            names.append(match.group(1))
    return names


def missing_for(extra: str, distribution: str = DISTRIBUTION) -> list[str]:
    """The distributions of ``extra`` that are not installed ([] when it is complete, or when
    ``distribution`` itself is not installed: a checkout run with PYTHONPATH is left alone)."""
    try:
        wanted = extra_requirements(extra, distribution)
    except metadata.PackageNotFoundError:
        return []
    missing = []
    for name in wanted:
        try:
            metadata.distribution(name)
        except metadata.PackageNotFoundError:
            missing.append(name)
    return missing


def require_extra(extra: str, command: str) -> None:
    """Exit with status 2 and one line on stderr if ``extra`` is not (fully) installed."""
    missing = missing_for(extra)
    if missing:
        print(
            f"{command}: the '{extra}' extra is not installed (missing: {', '.join(missing)}); "
            f"install it with: pip install 'ferrex[{extra}]'",
            file=sys.stderr,
        )
        raise SystemExit(2)
