"""What every benchmark hands back, with no import beyond the standard library: so a bench that
needs no Postgres (``bench.tonemap`` on the GPU machine, in a bare root) can be run alone."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class BenchError(Exception):
    """A benchmark could not run; the message is one line for the terminal."""


@dataclass(frozen=True)
class Figure:
    name: str
    value: float
    unit: str  # "qps", "s", "us" or "x" (a ratio to the baseline measured in the same run)


@dataclass
class Result:
    benchmark: str
    summary: str  # one line: what was measured, how many times
    figures: list[Figure] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)
    samples: dict[str, list[float]] = field(default_factory=dict)
