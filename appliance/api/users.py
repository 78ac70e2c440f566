"""HTTP routes of user administration (``users:read``, ``users:manage``, ``users:devices``)
and of the security event trail (``server:logs``)."""

from __future__ import annotations

import uuid

from appliance.access import ACCESS_CHANGED
from appliance.api.auth import service
from appliance.api.routing import RequestContext, Router
from appliance.errors import InvalidInput
from store import library_access
from sync import auth_types as t
from sync.errors import ErrorCode
from sync.library_types import LibraryAccess

router = Router("/api/v1")
TAGS = ("users",)
NOT_FOUND = {404: "no such user"}


@router.route(
    "/users", summary="All users", response=t.UserList, permission="users:read", tags=TAGS
)
async def list_users(ctx: RequestContext) -> t.UserList:
    return await service(ctx).list_users()


@router.route(
    "/users",
    "POST",
    summary="Create a user",
    request=t.CreateUserRequest,
    response=t.UserOut,
    status=201,
    permission="users:manage",
    tags=TAGS,
    errors={409: "username taken"},
)
async def create_user(ctx: RequestContext, body: t.CreateUserRequest) -> t.UserOut:
    return await service(ctx).create_user(body)


@router.route(
    "/users/<uuid:user_id>",
    summary="One user",
    response=t.UserOut,
    permission="users:read",
    tags=TAGS,
    errors=NOT_FOUND,
)
async def get_user(ctx: RequestContext, user_id: uuid.UUID) -> t.UserOut:
    return await service(ctx).get_user(user_id)


@router.route(
    "/users/<uuid:user_id>",
    "PATCH",
    summary="Edit name, display name or role",
    request=t.UpdateUserRequest,
    response=t.UserOut,
    permission="users:manage",
    tags=TAGS,
    errors={**NOT_FOUND, 409: "username taken, or the last admin"},
)
async def update_user(
    ctx: RequestContext, user_id: uuid.UUID, body: t.UpdateUserRequest
) -> t.UserOut:
    return await service(ctx).update_user(user_id, body)


@router.route(
    "/users/<uuid:user_id>",
    "DELETE",
    summary="Delete a user and all their sessions",
    permission="users:manage",
    tags=TAGS,
    errors={**NOT_FOUND, 409: "the last admin cannot be deleted"},
)
async def delete_user(ctx: RequestContext, user_id: uuid.UUID) -> None:
    await service(ctx).delete_user(user_id, ctx.require_principal(), ctx.client_ip)


@router.route(
    "/users/<uuid:user_id>/password",
    "POST",
    summary="Reset a user's password; ends all their sessions, clears the lockout",
    request=t.ResetPasswordRequest,
    permission="users:manage",
    tags=TAGS,
    errors=NOT_FOUND,
)
async def reset_password(
    ctx: RequestContext, user_id: uuid.UUID, body: t.ResetPasswordRequest
) -> None:
    await service(ctx).reset_password(user_id, body, ctx.require_principal(), ctx.client_ip)


@router.route(
    "/users/<uuid:user_id>/permissions",
    "PUT",
    summary="Replace a user's GRANT/DENY overrides (DENY wins)",
    request=t.PermissionOverrides,
    response=t.UserOut,
    permission="users:manage",
    tags=TAGS,
    errors=NOT_FOUND,
)
async def set_permissions(
    ctx: RequestContext, user_id: uuid.UUID, body: t.PermissionOverrides
) -> t.UserOut:
    return await service(ctx).set_overrides(user_id, body)


@router.route(
    "/users/<uuid:user_id>/devices",
    summary="A user's devices",
    response=t.DeviceList,
    permission="users:devices",
    tags=TAGS,
    errors=NOT_FOUND,
)
async def user_devices(ctx: RequestContext, user_id: uuid.UUID) -> t.DeviceList:
    return await service(ctx).list_devices(user_id)


@router.route(
    "/users/<uuid:user_id>/devices/<uuid:device_id>",
    "DELETE",
    summary="Revoke a user's device and all its sessions",
    permission="users:devices",
    tags=TAGS,
    errors={404: "no such device"},
)
async def revoke_user_device(ctx: RequestContext, user_id: uuid.UUID, device_id: uuid.UUID) -> None:
    await service(ctx).revoke_device(user_id, device_id, ctx.require_principal(), ctx.client_ip)


@router.route(
    "/users/<uuid:user_id>/sessions",
    summary="A user's live sessions",
    response=t.SessionList,
    permission="users:devices",
    tags=TAGS,
    errors=NOT_FOUND,
)
async def user_sessions(ctx: RequestContext, user_id: uuid.UUID) -> t.SessionList:
    return await service(ctx).list_sessions(user_id, ctx.require_principal().session_id)


@router.route(
    "/users/<uuid:user_id>/sessions/<uuid:session_id>",
    "DELETE",
    summary="End a user's session (and its refresh token)",
    permission="users:devices",
    tags=TAGS,
    errors={404: "no such session"},
)
async def revoke_user_session(
    ctx: RequestContext, user_id: uuid.UUID, session_id: uuid.UUID
) -> None:
    await service(ctx).revoke_session(user_id, session_id)


@router.route(
    "/users/<uuid:user_id>/libraries",
    summary="Which libraries a user may see (null: all)",
    response=LibraryAccess,
    permission="users:read",
    tags=TAGS,
    errors=NOT_FOUND,
)
async def get_library_access(ctx: RequestContext, user_id: uuid.UUID) -> LibraryAccess:
    await service(ctx).get_user(user_id)  # 404 for an unknown user
    return LibraryAccess(library_ids=await library_access.visible(ctx.state.db, user_id))


@router.route(
    "/users/<uuid:user_id>/libraries",
    "PUT",
    summary="Limit a user to some libraries (null: all); their players re-snapshot",
    request=LibraryAccess,
    response=LibraryAccess,
    permission="users:manage",
    tags=TAGS,
    errors={**NOT_FOUND, 422: "unknown library ids"},
)
async def set_library_access(
    ctx: RequestContext, user_id: uuid.UUID, body: LibraryAccess
) -> LibraryAccess:
    await service(ctx).get_user(user_id)
    wanted = None if body.library_ids is None else list(dict.fromkeys(body.library_ids))
    if wanted:
        unknown = await library_access.unknown(ctx.state.db, wanted)
        if unknown:
            raise InvalidInput(
                ErrorCode.UNKNOWN_LIBRARY,
                "no such libraries: " + ", ".join(map(str, unknown)),
                {"library_ids": list(map(str, unknown))},
            )
    await library_access.set_visible(ctx.state.db, user_id, wanted)
    # Their open event streams re-read the limits before forwarding anything else.
    ctx.state.bus.publish(ACCESS_CHANGED, user_id=str(user_id))
    return LibraryAccess(library_ids=wanted)


@router.route(
    "/security/events",
    summary="Recent security events (newest first, 100)",
    response=t.SecurityEventList,
    permission="server:logs",
    tags=("server",),
)
async def security_events(ctx: RequestContext) -> t.SecurityEventList:
    return await service(ctx).security_events(100)
