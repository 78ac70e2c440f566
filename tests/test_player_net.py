"""The player's API client: addresses, error wording and classes, token storage, and against the
real app (in process, with the auth service's manual clock) the session refresh: an expired
access token is refreshed once and the request retried, whoever asked (the API client,
playback, several tasks at once)."""

from __future__ import annotations

import stat
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import trio

from store.db import Database
from sync.auth_types import TokenPair
from sync.client_errors import (
    ERROR_CLASSES,
    ApiError,
    AuthExpired,
    BadRequest,
    FerrexClientError,
    InvalidCredentials,
    Locked,
    NotFound,
    RateLimited,
    ServerError,
    ServerUnreachable,
    ServiceUnavailable,
    api_error,
    error_from_answer,
)
from sync.connection import normalize_url
from sync.errors import ErrorCode
from tests.authkit import ADMIN_PASSWORD, Harness
from ui.domains.auth import device_info
from ui.net.client import ApiClient
from ui.net.credentials import CredentialStore, StoredTokens
from ui.playback.client import StreamingClient


@pytest.mark.parametrize(
    ("text", "url"),
    [
        ("ferrex.local:8420", "http://ferrex.local:8420"),
        ("  http://10.0.0.5:8420/ ", "http://10.0.0.5:8420"),
        ("https://media.example.org", "https://media.example.org"),
    ],
)
def test_server_addresses(text: str, url: str) -> None:
    assert normalize_url(text) == url


@pytest.mark.parametrize(
    "text", ["", "http://", "ftp://nas", "http://nas:8420/api/v1", "http://[::1"]
)
def test_bad_server_addresses_are_refused_with_a_message(text: str) -> None:
    with pytest.raises(ValueError, match="address"):
        normalize_url(text)


def test_lockouts_and_rate_limits_are_said_plainly() -> None:
    locked = ApiError(
        423,
        "account_locked",
        "too many failed passwords; try again in 840 s",
        {"retry_after_s": 840},
    )
    assert locked.user_message() == (
        "This account is locked after too many wrong passwords. Try again in 14 minutes."
    )
    device = ApiError(423, "device_locked", "PIN locked")
    assert "Log in with your password" in device.user_message(pin=True)
    limited = ApiError(429, "rate_limited", "slow down", retry_after=42)
    assert limited.user_message() == "Too many attempts. Wait 42 seconds and try again."
    wrong = ApiError(401, "invalid_credentials", "wrong username, password or PIN")
    assert wrong.user_message() == "Wrong username or password."
    assert wrong.user_message(pin=True) == "Wrong PIN."


def test_tokens_are_encrypted_at_rest(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FERREX_PLAYER_KEYRING", "0")
    key = tmp_path / "config" / "credentials.key"
    store = CredentialStore(tmp_path / "data", key_path=key)
    assert store.backend == "encrypted-file"
    tokens = StoredTokens(access_token="fxs_" + "a" * 43, refresh_token="fxr_" + "b" * 43)
    store.save_sync("http://nas:8420", "ada", tokens)
    blob = store.file_path.read_bytes()
    assert b"fxs_" not in blob and b"fxr_" not in blob and b"ada" not in blob
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert stat.S_IMODE(store.file_path.stat().st_mode) == 0o600
    again = CredentialStore(tmp_path / "data", key_path=key)
    assert again.load_sync("http://nas:8420", "ada") == tokens
    again.delete_sync("http://nas:8420", "ada")
    assert again.load_sync("http://nas:8420", "ada") is None
    # a different key (the key file lost) reads as "log in again", never as a crash
    store.save_sync("http://nas:8420", "ada", tokens)
    other = CredentialStore(tmp_path / "data", key_path=tmp_path / "other.key")
    assert other.load_sync("http://nas:8420", "ada") is None


# --- one error hierarchy ------------------------------------------------------------------------


def test_error_answers_become_one_hierarchy_by_their_code() -> None:
    """The envelope's code picks the class; an unknown code (a newer server) falls back on the
    status; a body that is no envelope (a proxy's page) still says its status."""
    answer = b'{"error": {"code": "account_locked", "message": "locked", "details": {"a": 1}}}'
    locked = error_from_answer(423, answer, "Locked")
    assert type(locked) is Locked and locked.code == "account_locked" and locked.details == {"a": 1}
    assert type(api_error(401, "refresh_token_reused", "x")) is AuthExpired
    assert type(api_error(401, "invalid_credentials", "x")) is InvalidCredentials
    assert type(api_error(422, "weak_pin", "x")) is BadRequest
    assert type(api_error(404, "some_new_code", "x")) is NotFound
    assert type(api_error(503, "library_offline", "x")) is ServiceUnavailable
    assert type(api_error(502, "bad_gateway", "x")) is ServerError
    limited = error_from_answer(429, b"<html>slow down</html>", "Too Many Requests", "42")
    assert type(limited) is RateLimited and limited.retry_after == 42.0
    assert limited.code == "http_429" and limited.message == "Too Many Requests"
    every = {*ERROR_CLASSES.values(), ServerUnreachable}
    assert all(issubclass(kind, FerrexClientError) for kind in every)


def test_every_error_code_has_its_class() -> None:
    """A code added to the shared enum without a class here would land in a status family only
    by luck."""
    assert sorted(set(ErrorCode) - set(ERROR_CLASSES)) == []


# --- refresh on 401, against the real app -------------------------------------------------------


class Counting(httpx.AsyncBaseTransport):
    """The app in process (ASGI), counting the requests per path."""

    def __init__(self, app: object) -> None:
        self.inner = httpx.ASGITransport(app=app, client=("192.168.1.30", 4000))  # type: ignore[arg-type]
        self.paths: list[str] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.paths.append(request.url.path)
        return await self.inner.handle_async_request(request)

    def refreshes(self) -> int:
        return self.paths.count("/api/v1/auth/refresh")


@pytest.fixture
async def h(db: Database, redis: object, tmp_path: Path) -> AsyncIterator[Harness]:
    harness = Harness(db, redis, tmp_path)  # type: ignore[arg-type]
    await harness.claim()
    yield harness


async def logged_in(h: Harness, saved: list[TokenPair]) -> tuple[ApiClient, Counting]:
    transport = Counting(h.app)
    api = ApiClient("http://nas:8420", transport=transport, on_tokens=saved.append)
    await api.login("admin", ADMIN_PASSWORD, device_info("player-1"))
    return api, transport


def expire_session(h: Harness) -> None:
    h.clock.advance(h.state.config.auth.session_hours * 3600 + 60)


async def test_an_expired_session_is_refreshed_and_the_request_retried(h: Harness) -> None:
    saved: list[TokenPair] = []
    api, transport = await logged_in(h, saved)
    async with api:
        first = saved[-1]
        expire_session(h)
        me = await api.me()  # 401, refresh, the same request again
        assert me.user.username == "admin"
        assert transport.refreshes() == 1 and transport.paths.count("/api/v1/auth/me") == 2
        assert len(saved) == 2 and saved[-1].refresh_token != first.refresh_token
        assert api.access_token == saved[-1].access_token  # stored before it is used
        # the new refresh token works in turn (the rotated one was not presented twice)
        expire_session(h)
        assert (await api.me()).user.username == "admin"
        assert transport.refreshes() == 2


async def test_concurrent_requests_on_an_expired_session_make_one_refresh(h: Harness) -> None:
    """Ten requests of three callers (the API client, playback borrowing its connection) all
    meet the 401 at once: one refresh, all retried with its token; a second refresh in parallel
    would present the rotated token again and the server would end the whole login."""
    saved: list[TokenPair] = []
    api, transport = await logged_in(h, saved)
    playback = StreamingClient(api)
    answers: list[str] = []
    missing = uuid.uuid4()
    async with api:
        expire_session(h)

        async def me() -> None:
            answers.append((await api.me()).user.username)

        async def details() -> None:
            with pytest.raises(NotFound):  # found no item, so the token was accepted
                await playback.details(missing)
            answers.append("404")

        async with trio.open_nursery() as nursery:
            for n in range(10):
                nursery.start_soon(me if n % 2 else details)
        assert sorted(answers) == ["404"] * 5 + ["admin"] * 5
        assert transport.refreshes() == 1 and len(saved) == 2
        assert (await api.me()).user.username == "admin"  # the login family is intact
        await playback.aclose()
        assert not api.closed, "a borrowed connection is its owner's to close"


async def test_a_refused_refresh_ends_the_session_without_being_presented_again(h: Harness) -> None:
    saved: list[TokenPair] = []
    api, transport = await logged_in(h, saved)
    async with api:
        expire_session(h)
        refresh_token = api.refresh_token
        assert refresh_token is not None
        # another holder of the same pair rotated it first: the player's copy is now stale
        async with ApiClient(
            "http://nas:8420", transport=Counting(h.app), refresh_token=refresh_token
        ) as other:
            await other.refresh()
        with pytest.raises(AuthExpired) as ended:
            await api.me()
        assert ended.value.code == "refresh_token_reused"
        assert ended.value.user_message() == "Your session has ended. Please log in again."
        with pytest.raises(AuthExpired):
            await api.me()
        assert transport.refreshes() == 1, "a refused refresh token is never sent again"


async def test_a_closed_or_unreachable_server_is_server_unreachable() -> None:
    async with ApiClient("http://127.0.0.1:9") as api:
        with pytest.raises(ServerUnreachable):
            await api.setup_status()
    with pytest.raises(ServerUnreachable, match="closed"):
        await api.setup_status()
