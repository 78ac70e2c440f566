"""HTTP routes of first-run setup and of the caller's own session, devices and credentials.

Public: setup status/claim, password login, PIN login, refresh (each rate-limited). Everything
else declares its permission: ``users:self`` (also open to PIN sessions) to look and log out,
``users:account`` (full sessions only) to change credentials or revoke devices.
"""

from __future__ import annotations

import uuid

from appliance.api.routing import RequestContext, Router
from appliance.auth.service import AuthService
from sync import auth_types as t

router = Router("/api/v1")
TAGS = ("auth",)
LOGIN_ERRORS = {401: "wrong credentials", 423: "account locked after failed passwords"}


def service(ctx: RequestContext) -> AuthService:
    assert ctx.state.auth is not None, "AuthService not installed"
    return ctx.state.auth


def own_user(ctx: RequestContext) -> uuid.UUID:
    return uuid.UUID(ctx.require_principal().user_id)


@router.route(
    "/setup",
    summary="Whether the appliance has been claimed (first-run setup)",
    response=t.SetupStatus,
    public=True,
    tags=("setup",),
)
async def setup_status(ctx: RequestContext) -> t.SetupStatus:
    return await service(ctx).setup_status(ctx.client_ip)


@router.route(
    "/setup/claim",
    "POST",
    summary="Create the first admin (local network or token)",
    request=t.SetupClaimRequest,
    response=t.UserOut,
    public=True,
    status=201,
    rate_limit="setup",
    tags=("setup",),
    errors={
        403: "not from the local network and no valid setup token",
        409: "the appliance already has an admin",
    },
)
async def setup_claim(ctx: RequestContext, body: t.SetupClaimRequest) -> t.UserOut:
    user = await service(ctx).claim(body, ctx.client_ip)
    ctx.state.bus.publish("setup.claimed")  # the LAN announcement says claimed=true
    return user


@router.route(
    "/auth/login",
    "POST",
    summary="Password login; registers the device (pending)",
    request=t.LoginRequest,
    response=t.TokenPair,
    public=True,
    rate_limit="login",
    tags=TAGS,
    errors=LOGIN_ERRORS,
)
async def login(ctx: RequestContext, body: t.LoginRequest) -> t.TokenPair:
    return await service(ctx).login(body, ctx.client_ip)


@router.route(
    "/auth/pin/login",
    "POST",
    summary="PIN login on a trusted device (playback scope)",
    request=t.PinLoginRequest,
    response=t.TokenPair,
    public=True,
    rate_limit="pin",
    tags=TAGS,
    errors={401: "wrong credentials", 403: "device not trusted", 423: "device or account locked"},
)
async def pin_login(ctx: RequestContext, body: t.PinLoginRequest) -> t.TokenPair:
    return await service(ctx).pin_login(body, ctx.client_ip)


@router.route(
    "/auth/refresh",
    "POST",
    summary="Rotate a refresh token into a new session",
    request=t.RefreshRequest,
    response=t.TokenPair,
    public=True,
    rate_limit="refresh",
    tags=TAGS,
    errors={401: "refresh token invalid, or reused (the whole login is revoked)"},
)
async def refresh(ctx: RequestContext, body: t.RefreshRequest) -> t.TokenPair:
    return await service(ctx).refresh(body, ctx.client_ip)


@router.route(
    "/auth/logout",
    "POST",
    summary="End this session and its refresh token",
    permission="users:self",
    tags=TAGS,
)
async def logout(ctx: RequestContext) -> None:
    await service(ctx).logout(ctx.require_principal())


@router.route(
    "/auth/me",
    summary="The caller: user, scope, permissions, device",
    response=t.Me,
    permission="users:self",
    tags=TAGS,
)
async def me(ctx: RequestContext) -> t.Me:
    return await service(ctx).me(ctx.require_principal())


@router.route(
    "/auth/pin",
    "PUT",
    summary="Set this device's PIN; the device becomes trusted",
    request=t.SetPinRequest,
    response=t.DeviceOut,
    permission="users:account",
    tags=TAGS,
    errors={409: "the device was revoked"},
)
async def set_pin(ctx: RequestContext, body: t.SetPinRequest) -> t.DeviceOut:
    return await service(ctx).set_pin(ctx.require_principal(), body.pin)


@router.route(
    "/auth/password",
    "POST",
    summary="Change password; ends all other sessions",
    request=t.ChangePasswordRequest,
    permission="users:account",
    tags=TAGS,
    errors={423: "account locked after failed passwords"},
)
async def change_password(ctx: RequestContext, body: t.ChangePasswordRequest) -> None:
    await service(ctx).change_password(ctx.require_principal(), body, ctx.client_ip)


@router.route(
    "/auth/devices",
    summary="The caller's devices",
    response=t.DeviceList,
    permission="users:self",
    tags=TAGS,
)
async def my_devices(ctx: RequestContext) -> t.DeviceList:
    return await service(ctx).list_devices(own_user(ctx))


@router.route(
    "/auth/devices/<uuid:device_id>",
    "DELETE",
    summary="Revoke one of the caller's devices and all its sessions",
    permission="users:account",
    tags=TAGS,
    errors={404: "no such device"},
)
async def revoke_my_device(ctx: RequestContext, device_id: uuid.UUID) -> None:
    await service(ctx).revoke_device(
        own_user(ctx), device_id, ctx.require_principal(), ctx.client_ip
    )


@router.route(
    "/auth/sessions",
    summary="The caller's live sessions",
    response=t.SessionList,
    permission="users:self",
    tags=TAGS,
)
async def my_sessions(ctx: RequestContext) -> t.SessionList:
    return await service(ctx).list_sessions(own_user(ctx), ctx.require_principal().session_id)


@router.route(
    "/auth/sessions/<uuid:session_id>",
    "DELETE",
    summary="End one of the caller's sessions (and its refresh token)",
    permission="users:account",
    tags=TAGS,
    errors={404: "no such session"},
)
async def revoke_my_session(ctx: RequestContext, session_id: uuid.UUID) -> None:
    await service(ctx).revoke_session(own_user(ctx), session_id)
