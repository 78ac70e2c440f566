"""Registered SQL statements.

Declaring every statement through :func:`sql` gives the test suite a complete list to PREPARE
against the migrated schema: a typo or a renamed column fails CI instead of a user's request,
which is the job SQLx's compile-time checks do in the seed design.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass


@dataclass(frozen=True)
class Sql:
    text: str
    module: str

    def __str__(self) -> str:
        return self.text


REGISTRY: list[Sql] = []


def sql(text: str) -> Sql:
    """Register a statement; call at module level so importing the module registers it."""
    statement = Sql(text.strip(), sys._getframe(1).f_globals.get("__name__", "?"))
    REGISTRY.append(statement)
    return statement
