"""What a file's name says, as the columns its row keeps.

A module of its own because worker processes import it (the walk parses new files where it
lists them): it depends on the naming parser and nothing else of the appliance.
"""

from __future__ import annotations

import os
from typing import Any

import msgspec

from appliance.scan import naming

ParsedColumns = tuple[dict[str, Any], str | None, int | None, str | None]
"""What a file's name says, as written to its row: (parsed, version, part, extra_kind)."""


def root_of(path: str, roots: list[str]) -> str | None:
    for root in sorted(roots, key=len, reverse=True):
        if path == root or path.startswith(root.rstrip("/") + "/"):
            return root
    return None


def parse_columns(path: str, library_kind: Any, roots: list[str]) -> ParsedColumns:
    """Parse one file path (surrogate-escaped ``str``) into the columns its row keeps.

    Shared with FolderScan, which parses new files in its walk and writes them parsed
    (one write per file instead of insert + update)."""
    parsed = naming.parse_name(os.fsencode(path), library_kind, root=root_of(path, roots))
    data = msgspec.to_builtins(parsed)
    data.pop("path", None)  # the file row has it; undecodable bytes cannot go into jsonb
    extra = parsed.extra if parsed.kind in ("extra", "ignored") else None
    return data, parsed.version, parsed.part, extra
