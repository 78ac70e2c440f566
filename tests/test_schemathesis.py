"""Property-based API testing with schemathesis against the appliance's own OpenAPI document, on
a real appliance (embedded Postgres and Redis) with a small library.

Every operation of the document is run (the test counts them from the document and fails if
one was not), with every check schemathesis 3.x has: no 5xx, status codes, content types,
headers and bodies as documented, negative data rejected, authentication not ignored. No time
budget: the limits are examples per operation, so a slow run is slow, never silently partial.

How the whole API can run without the test sawing off its own branch:

* Operations that end or change the caller's own session, device or credentials
  (``/auth/logout``, ``/auth/password``, ``/auth/pin``, revoking one's devices and sessions) run
  with a fresh session of a second user, "dora", for each example; the admin puts her back in
  shape first (password reset, role, overrides, username), whatever the last example did.
* Path ids are either generated or, in half of the positive examples, real ones (the library,
  its film, file, scan and image, dora and her device and session), so the routes answer their
  200s and not only their 404s.
* Operations that destroy what others use run last: the server policy PATCH, then the DELETEs,
  the library's DELETE at the very end.
* Every read (GET) also runs as dora, a plain user: her 403s and library limits.

Where schemathesis' own judgement is wrong, the test narrows it, each time for a stated reason:
negative-data rejection applies only to examples that really carry invalid data in what the
server reads (schemathesis also marks as negative an optional body left out, or a query of
unknown keys only); and header fields that h11 refuses as malformed HTTP (bare 400 before the
API) are not generated, that refusal being checked once on its own.

``/api/v1/events`` is an endless SSE stream: it is called with ``stream=True`` so that the
checks (all of them read only the status and headers of a non-JSON answer) see the answer
without waiting for its end, and its first bytes are checked here.
"""

from __future__ import annotations

import re
import socket
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.helpers import RunningAppliance, admin_token, http_json, wait_for

pytestmark = pytest.mark.slow
POSITIVE_EXAMPLES = 6
NEGATIVE_EXAMPLES = 4
USER_EXAMPLES = 3
PASSWORD = "p" * 128  # fits every password policy the server settings PATCH can set
SERVICE = {
    "FERREX_SCAN_ANALYZE": "false",
    "FERREX_MEDIA_PEAK_HOURS": "",
    # The test logs in once per example of the own-session operations and schemathesis sends
    # hundreds of login attempts: the limits are tested in test_auth*.py, not here.
    "FERREX_AUTH_LOGIN_LIMIT": "100000",
    "FERREX_AUTH_PIN_LIMIT": "100000",
    "FERREX_AUTH_REFRESH_LIMIT": "100000",
    "FERREX_AUTH_SETUP_LIMIT": "100000",
    # A cheap hash: the test hashes once per login and per password reset.
    "FERREX_AUTH_ARGON2_MEMORY_KIB": "8192",
    "FERREX_AUTH_ARGON2_TIME_COST": "1",
    "FERREX_AUTH_ARGON2_PARALLELISM": "1",
}
OWN_SESSION = re.compile(
    r"^/api/v1/auth/(logout|password|pin|devices/\{device_id\}|"
    r"sessions/\{session_id\})$"
)


def _jpeg(path: Path) -> None:
    from PIL import Image

    Image.new("RGB", (300, 450), (200, 30, 30)).save(path, "JPEG")


class Api:
    """The admin's side of the test: plain JSON calls with its token."""

    def __init__(self, base: str, token: str) -> None:
        self.base, self.token = base, token

    def __call__(
        self, method: str, path: str, body: object = None, token: str | None = None
    ) -> tuple[int, Any]:
        return http_json(method, self.base + path, body, token=token or self.token)


class Dora:
    """The second user: her fresh session for the operations that end their own session."""

    def __init__(self, api: Api) -> None:
        self.api = api
        self.user_id = ""
        self.last: dict[str, str] = {}
        """Her ids (user, device, session) and token from the latest login."""

    def fresh(self) -> dict[str, str]:
        """Put her back in shape as an admin would, log her in, and return her ids."""
        status, _ = (
            self.api("POST", f"/api/v1/users/{self.user_id}/password", {"new_password": PASSWORD})
            if self.user_id
            else (404, None)
        )
        if status == 404:  # never created, or deleted by an earlier example
            status, user = self.api(
                "POST", "/api/v1/users", {"username": "dora", "password": PASSWORD, "role": "user"}
            )
            assert status == 201, user
            self.user_id = user["id"]
        else:
            assert status == 204, status
        for method, path, body in (
            ("PATCH", "", {"username": "dora", "role": "user"}),
            ("PUT", "/permissions", {"grant": [], "deny": []}),
            ("PUT", "/libraries", {"library_ids": None}),
        ):
            status, answer = self.api(method, f"/api/v1/users/{self.user_id}{path}", body)
            assert status == 200, answer
        status, pair = self.api(
            "POST",
            "/api/v1/auth/login",
            {
                "username": "dora",
                "password": PASSWORD,
                "device": {"id": f"dora-{uuid.uuid4()}", "name": "dora's", "platform": "linux"},
            },
        )
        assert status == 200, pair
        status, me = self.api("GET", "/api/v1/auth/me", token=pair["access_token"])
        assert status == 200, me
        self.last = {
            "token": pair["access_token"],
            "user_id": self.user_id,
            "session_id": me["session_id"],
            "device_id": me["device"]["id"],
        }
        return self.last


def _order(operation: Any) -> tuple[int, int]:
    """Run what destroys shared state last (see the module docstring)."""
    method, path = operation.method.upper(), operation.path
    if OWN_SESSION.match(path):
        return (1, 0)
    if method == "PATCH" and path == "/api/v1/server/settings":
        return (2, 0)
    if method == "DELETE":
        return (3, 1 if path == "/api/v1/libraries/{library_id}" else 0)
    return (0, 0)


def stream_start(response: Any) -> None:
    """Read an endless stream's first event (or error body) and close it: the response then
    holds what was read as its content, for the checks and a failure report."""
    first = b""
    for chunk in response.iter_content(chunk_size=None):
        first += chunk
        if b"\n\n" in first or len(first) > 65536:
            break
    response.close()
    response._content = first
    response._content_consumed = True


_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
_FIELD_VALUE = re.compile(r"^[^\x00\x0b\x0c\r\n]*$")  # what h11 refuses in a value


def _valid_field(name: str, value: str) -> bool:
    return bool(_TOKEN.match(name)) and bool(_FIELD_VALUE.match(value))


def _malformed_header_answer(base: str) -> bytes:
    """What the server answers to a request whose header value holds a NUL (h11 refuses NUL,
    VT and FF in field values, and lets other control characters through)."""
    url = urlsplit(base)
    with socket.create_connection((url.hostname, url.port or 80), timeout=10) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Odd: a\x00b\r\n\r\n")
        return sock.recv(4096)


def _path_names(path: str) -> list[str]:
    return re.findall(r"\{(\w+)\}", path)


def report(exc: BaseException, case: Any, response: Any) -> None:
    """Print a failure with its request and answer (schemathesis' own message names only the
    check that failed)."""
    parts = [str(e) for e in getattr(exc, "exceptions", None) or [exc]]
    body = response.content[:400]  # an endless stream's first event only (stream_start)
    print(
        f"FAILED {case.operation.verbose_name}: {'; '.join(parts)}\n  request: "
        f"{case.as_curl_command()}\n  answer: {response.status_code} "
        f"{response.headers.get('Content-Type')} {body!r}",
        file=sys.stderr,
    )


def _valid_wire_value(schema: dict[str, Any], values: list[str]) -> bool:
    """Whether a query/header value as it went on the wire is one the server must accept (the
    first, when repeated: the one the server reads)."""
    raw = values[0] if values else ""
    if raw == "":
        return True  # an empty optional parameter means "not given"
    if "enum" in schema:
        return raw in schema["enum"]
    if schema.get("type") == "integer":
        return re.fullmatch(r"-?[0-9]{1,19}", raw) is not None and schema.get(
            "minimum", -(2**63)
        ) <= int(raw) <= schema.get("maximum", 2**63)
    if schema.get("format") == "uuid":
        try:
            uuid.UUID(raw)
        except ValueError:
            return False
        return True
    return len(raw) <= schema.get("maxLength", 1 << 30) and "\x00" not in raw


def _really_negative(case: Any, request: Any) -> bool:
    """Whether a "negative" case carries invalid data in a part the server reads.

    schemathesis marks a case negative when it meant to negate something, even where the result
    is valid: an optional body that ended up absent, a query made only of unknown keys (which
    this API, like most, ignores). Those answer 2xx rightly; everything else must be refused.
    """
    from schemathesis.constants import NOT_SET

    meta = case.meta
    if meta is None:
        return False
    if meta.body is not None and meta.body.is_negative and case.body is not NOT_SET:
        return True
    sent = {
        "query": parse_qs(urlsplit(request.url).query, keep_blank_values=True),
        "header": {k.lower(): [v] for k, v in request.headers.items()},
    }  # as sent
    for parameter in case.operation.definition.raw.get("parameters", []):
        if parameter["in"] not in sent:
            continue  # path ids: real ones in negative examples
        values = sent[parameter["in"]]
        name = parameter["name"].lower() if parameter["in"] == "header" else parameter["name"]
        if parameter["required"] and name not in values:
            return True
        if name in values and not _valid_wire_value(parameter["schema"], values[name]):
            return True
    return False


def test_every_operation_conforms_to_the_document(workdir: Path) -> None:
    import requests
    import schemathesis
    from hypothesis import HealthCheck, Phase, assume, given, settings
    from hypothesis import strategies as st
    from schemathesis import DataGenerationMethod
    from schemathesis.checks import not_a_server_error
    from schemathesis.exceptions import SkipTest
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        ignored_auth,
        negative_data_rejection,
        response_headers_conformance,
        response_schema_conformance,
        status_code_conformance,
    )

    def rejects_negative_data(ctx: Any, response: Any, case: Any) -> bool | None:
        """negative_data_rejection, for the cases that really carry invalid data."""
        if not _really_negative(case, response.request):
            return None
        return negative_data_rejection(ctx, response, case)

    checks: tuple[Callable[..., bool | None], ...] = (
        not_a_server_error,
        status_code_conformance,
        content_type_conformance,
        response_headers_conformance,
        response_schema_conformance,
        rejects_negative_data,
        ignored_auth,
    )

    films = workdir / "films" / "Heat (1995)"
    films.mkdir(parents=True)
    (films / "Heat (1995).mkv").write_bytes(b"\0" * 1000)
    _jpeg(films / "poster.jpg")
    app = RunningAppliance(workdir / "var", env=SERVICE)
    try:
        base = app.wait_ready()
        api = Api(base, admin_token(base))
        status, library = api(
            "POST",
            "/api/v1/libraries",
            {"name": "Films", "kind": "movies", "roots": [str(workdir / "films")]},
        )
        assert status == 201, library

        def heat() -> dict[str, Any] | None:
            items: list[dict[str, Any] | None] = api("POST", "/api/v1/media/query", {})[1].get(
                "items"
            ) or [None]
            return items[0]

        assert wait_for(lambda: heat() is not None, 30)
        item = heat()
        assert item is not None

        def details() -> dict[str, Any]:
            answer: dict[str, Any] = api("GET", f"/api/v1/media/items/{item['id']}")[1]
            return answer

        wait_for(lambda: bool(details()["images"]), 20)  # the poster, once the art job ran
        found = details()
        dora = Dora(api)
        dora.fresh()
        real_ids: dict[str, list[str]] = {
            "library_id": [library["id"]],
            "item_id": [item["id"]],
            "file_id": [f["id"] for f in found["files"]],
            "scan_id": [
                s["id"] for s in api("GET", f"/api/v1/libraries/{library['id']}/scans")[1]["scans"]
            ],
            "image_id": [i["image_id"] for i in found["images"]],
            "index": ["0"],
        }
        assert all(real_ids.values()), real_ids

        def real_id(name: str) -> str:
            """dora's ids as of her latest login; the library's for the rest."""
            return dora.last[name] if name in dora.last else real_ids[name][0]

        schemathesis.experimental.OPEN_API_3_1.enable()
        document = api("GET", "/api/v1/openapi.json")[1]
        documented = {
            (method.upper(), path)
            for path, operations in document["paths"].items()
            for method in operations
        }
        schema = schemathesis.from_dict(document, base_url=base)
        operations = sorted(
            (result.ok() for result in schema.get_all_operations()),  # type: ignore[union-attr]
            key=_order,
        )
        examples: dict[tuple[str, str], int] = {}
        failures: list[str] = []
        not_negatable: list[str] = []
        session = requests.Session()  # keep-alive across requests, as the player's client

        def run(
            operation: Any, method: DataGenerationMethod, count: int, as_user: str | None = None
        ) -> None:
            """``as_user``: a plain user's token instead of the admin's."""
            key = (operation.method.upper(), operation.path)
            own = OWN_SESSION.match(operation.path) is not None
            endless = operation.path == "/api/v1/events"
            # Negative examples keep real path ids, so that what is made invalid is the body,
            # query or headers, which the route itself reads (a malformed id is a 404 of the
            # router; schemathesis cannot negate a uuid path parameter anyway).
            path = {name: real_id(name) for name in _path_names(operation.path)}
            cases = (
                operation.as_strategy(data_generation_method=method)
                if method.is_positive
                else operation.as_strategy(
                    data_generation_method=method, path_parameters=path or None
                )
            )

            @given(case=cases, real=st.booleans() if method.is_positive else st.just(False))
            @settings(
                max_examples=count,
                deadline=None,
                database=None,
                suppress_health_check=list(HealthCheck),
                phases=(Phase.explicit, Phase.generate),
            )
            def check(case: schemathesis.Case, real: bool) -> None:
                # Header names that are not tokens, or values with NUL, VT or FF, do not make
                # an HTTP message (RFC 9110 5.5): hypercorn's parser (h11) answers a bare 400
                # and closes before the API sees them (checked on its own at the end).
                assume(
                    all(
                        _valid_field(name, str(value))
                        for name, value in (case.headers or {}).items()
                    )
                )
                token = dora.fresh()["token"] if own else as_user or api.token
                if real:
                    for name in case.path_parameters or {}:
                        case.path_parameters[name] = real_id(name)  # type: ignore[index]
                headers = {"Authorization": f"Bearer {token}"}
                transport: dict[str, Any] = {"timeout": 20, **({"stream": True} if endless else {})}
                response = case.call(
                    headers=headers, session=None if endless else session, **transport
                )
                if endless:  # keep what the checks may read (a failure report shows the body)
                    stream_start(response)
                try:
                    case.validate_response(
                        response,
                        checks=checks,
                        headers=headers,
                        transport_kwargs={"headers": headers, **transport},
                    )
                    if endless and response.status_code == 200:
                        assert response.content.startswith((b": connected", b"id:", b"event:")), (
                            response.content
                        )
                except BaseException as exc:
                    report(exc, case, response)
                    raise
                finally:
                    response.close()
                examples[key] = examples.get(key, 0) + 1

            began = time.monotonic()
            try:
                check()
            except SkipTest:  # nothing in this operation's request can be made invalid
                assert method.is_negative, operation.verbose_name
                not_negatable.append(operation.verbose_name)
            except Exception as exc:  # collected, so that one report lists every failure
                failures.append(f"{operation.verbose_name} ({method.name}): {exc}")
                print(failures[-1], file=sys.stderr)
            print(
                f"{operation.verbose_name} ({method.name}): {time.monotonic() - began:.1f} s",
                file=sys.stderr,
            )

        started = time.monotonic()
        user_token = dora.fresh()["token"]  # first, every read as a plain user (403s, limits)
        for operation in operations:
            if operation.method.upper() == "GET":
                run(operation, DataGenerationMethod.positive, USER_EXAMPLES, as_user=user_token)
        for operation in operations:
            run(operation, DataGenerationMethod.positive, POSITIVE_EXAMPLES)
            run(operation, DataGenerationMethod.negative, NEGATIVE_EXAMPLES)
        elapsed = time.monotonic() - started

        if app.proc.poll() is not None:  # the appliance died: its own words say why
            failures.append("appliance exited: " + app.log_path.read_text()[-4000:])
        assert not failures, "\n\n".join(failures)
        assert set(examples) == documented, documented - set(examples)
        assert api("GET", "/api/v1/auth/me")[0] == 200, "the admin's session ran every example"
        # Found by negative examples: a bad argument is 422 before the state it would be used
        # on (no such subtitle: was 404, then 415; TMDB not configured: was 409).
        file_id = real_ids["file_id"][0]
        assert api("GET", f"/api/v1/stream/{file_id}/subtitles/0?format=xyz")[0] == 422
        assert api("GET", f"/api/v1/metadata/items/{item['id']}/identify?year=abc")[0] == 422
        assert _malformed_header_answer(base).startswith(b"HTTP/1.1 400 "), (
            "a header with a control character is refused by the HTTP layer, not a 5xx"
        )
        server_errors = [
            e
            for e in app.log_lines()
            if e.get("status", 0) >= 500 or e.get("msg") == "unhandled error"
        ]
        assert not server_errors, server_errors
        print(
            f"{len(documented)} operations, {sum(examples.values())} examples in "
            f"{elapsed:.0f} s; no negative examples possible for {not_negatable}"
        )
    finally:
        app.stop()
