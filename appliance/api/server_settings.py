"""``/api/v1/server/settings``: session, device-trust and password policies, changed live.

The auth service reads these from its ``AuthSection`` on every use, so a PATCH applies to the
next login, refresh or password change without a restart. Changes are kept in
``DATA_DIR/server-settings.json`` (written atomically) and laid over the config at start-up by
:func:`apply_saved`; the config file itself is never written (under the Debian package it is a
read-only conffile in /etc).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import msgspec
import trio

from appliance import filemodes
from appliance.api.routing import RequestContext, Router
from appliance.config import AuthSection
from appliance.errors import InvalidInput
from sync.errors import ErrorCode
from sync.server_settings_types import (
    POLICY_FIELDS,
    ServerPolicy,
    ServerPolicyPatch,
    ServerSettingsOut,
)

router = Router("/api/v1")
TAGS = ("server",)
FILE_NAME = "server-settings.json"
log = logging.getLogger(__name__)


def _path(data_dir: Path) -> Path:
    return data_dir / FILE_NAME


def read_saved(data_dir: Path) -> dict[str, Any]:
    """What was set through the API; an unreadable file is logged and ignored (config wins)."""
    try:
        raw = _path(data_dir).read_bytes()
    except FileNotFoundError:
        return {}
    try:
        saved = msgspec.json.decode(raw, type=ServerPolicyPatch)
    except msgspec.DecodeError as exc:
        log.warning("ignoring %s: %s", _path(data_dir), exc)
        return {}
    return {k: v for k, v in msgspec.structs.asdict(saved).items() if v is not None}


def apply_saved(data_dir: Path, auth: AuthSection) -> None:
    """At start-up: lay the API-set values over the config's ``[auth]`` section."""
    for key, value in read_saved(data_dir).items():
        setattr(auth, key, value)


def _write(data_dir: Path, values: dict[str, Any]) -> None:
    # 0600: the data dir's files are the appliance account's alone (appliance.filemodes)
    filemodes.write_private(
        _path(data_dir), json.dumps(values, indent=2, sort_keys=True).encode("utf-8")
    )


def _out(auth: AuthSection, saved: dict[str, Any]) -> ServerSettingsOut:
    policy = ServerPolicy(**{k: getattr(auth, k) for k in POLICY_FIELDS})
    return ServerSettingsOut(
        policy=policy, source={k: "api" if k in saved else "config" for k in POLICY_FIELDS}
    )


def _auth_section(ctx: RequestContext) -> AuthSection:
    service = ctx.state.auth
    return service.config if service is not None else ctx.state.config.auth


@router.route(
    "/server/settings",
    summary="Session, device-trust and password policies",
    response=ServerSettingsOut,
    permission="server:read_settings",
    tags=TAGS,
)
async def get_settings(ctx: RequestContext) -> ServerSettingsOut:
    saved = await trio.to_thread.run_sync(read_saved, ctx.state.data_dir)
    return _out(_auth_section(ctx), saved)


@router.route(
    "/server/settings",
    "PATCH",
    summary="Change policies; applies to the next login, refresh or password change",
    request=ServerPolicyPatch,
    response=ServerSettingsOut,
    permission="server:update_settings",
    tags=TAGS,
    errors={422: "a value out of range"},
)
async def patch_settings(ctx: RequestContext, body: ServerPolicyPatch) -> ServerSettingsOut:
    changes = {k: v for k, v in msgspec.structs.asdict(body).items() if v is not None}
    if not changes:
        raise InvalidInput(ErrorCode.INVALID_BODY, "nothing to change")
    saved = await trio.to_thread.run_sync(read_saved, ctx.state.data_dir)
    saved.update(changes)
    await trio.to_thread.run_sync(_write, ctx.state.data_dir, saved)
    auth = _auth_section(ctx)
    for key, value in changes.items():
        setattr(auth, key, value)
    log.info(
        "server settings changed",
        extra={"by": ctx.require_principal().username, "changes": changes},
    )
    return _out(auth, saved)
