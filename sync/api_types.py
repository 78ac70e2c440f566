"""Wire types of the appliance's HTTP API that both sides read (msgspec structs → JSON)."""

from __future__ import annotations

from typing import Any

import msgspec

from sync.errors import ErrorCode


class ErrorDetail(msgspec.Struct, kw_only=True):
    code: ErrorCode
    """Stable, machine-readable (``not_found``, ``malformed_json``, ...): a member of
    :class:`sync.errors.ErrorCode`, so the document lists every code as this field's enum."""
    message: str
    request_id: str
    details: dict[str, Any] | None = None


class ErrorEnvelope(msgspec.Struct, kw_only=True):
    """Every 4xx/5xx answer has this body, whatever produced it."""

    error: ErrorDetail


class ServiceHealth(msgspec.Struct, kw_only=True):
    ok: bool
    embedded: bool
    latency_ms: float | None = None
    error: str | None = None
    restarts: int = 0


class Health(msgspec.Struct, kw_only=True):
    status: str
    """``ok``; ``degraded`` (200: Redis down, auth and API keep working from Postgres) or
    ``unavailable`` (503: Postgres down)."""
    version: str
    server_id: str | None
    uptime_s: float
    postgres: ServiceHealth
    redis: ServiceHealth
    disk_free_bytes: int
    degraded: list[str] = msgspec.field(default_factory=list)
    """What works in a reduced way while status is ``degraded``."""
    error: ErrorDetail | None = None
    """Set when status is not ok, so a 503 from /health still carries the error envelope."""
