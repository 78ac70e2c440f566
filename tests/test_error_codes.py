"""Error codes are one contract: every code the appliance can answer with is a member of
``sync.errors.ErrorCode`` (raised as a member, never as a loose string), the OpenAPI document lists
exactly those members as the enum of ``ErrorDetail.code``, and each domain error class answers with
the status it always had, from the one table in ``appliance/api/errors.py``."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from appliance import errors
from appliance.api.errors import STATUS, ApiError, http_code_name, status_of
from appliance.api.openapi_markdown import served_document
from store import gate
from sync.errors import ErrorCode
from tests.helpers import REPO

ERROR_CLASSES = {
    name
    for name, value in vars(errors).items()
    if isinstance(value, type) and issubclass(value, errors.FerrexError)
}
CODE_TAKERS = ERROR_CLASSES | {"ApiError", "integer", "text", "ErrorDetail", "WsError"}


def code_arguments(path: Path) -> list[tuple[int, ast.expr]]:
    """(line, expression) of every code handed to an error: a domain class's first argument,
    ApiError's second, and any ``code=`` keyword of the calls that build an error."""
    tree = ast.parse(path.read_text(), filename=str(path))
    # Only the names this file takes from the error modules (store.gate has an Unavailable of
    # its own, auth.lockout a Locked): ``from appliance.errors import NotFound`` ...
    takers = {"integer", "text", "ErrorDetail", "WsError"}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module in (
            "appliance.errors",
            "appliance.api.errors",
        ):
            takers |= {alias.asname or alias.name for alias in node.names}
    found: list[tuple[int, ast.expr]] = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        if name not in takers & CODE_TAKERS:
            continue
        position = 1 if name == "ApiError" else 0 if name in ERROR_CLASSES else None
        if position is not None and len(node.args) > position:
            found.append((node.lineno, node.args[position]))
        found += [(node.lineno, k.value) for k in node.keywords if k.arg == "code"]
    return found


def server_sources() -> list[Path]:
    return sorted(p for package in ("appliance", "store") for p in (REPO / package).rglob("*.py"))


def test_every_raise_site_names_an_enum_member() -> None:
    """A string literal (or a member that does not exist) at a raise site is a code the player
    cannot match and the document does not list."""
    loose: list[str] = []
    sites = 0
    for path in server_sources():
        for line, expr in code_arguments(path):
            sites += 1
            where = f"{path.relative_to(REPO)}:{line}"
            if isinstance(expr, ast.Constant):
                loose.append(f"{where}: {expr.value!r}")
            elif (
                isinstance(expr, ast.Attribute)
                and isinstance(expr.value, ast.Name)
                and expr.value.id == "ErrorCode"
                and expr.attr not in ErrorCode.__members__
            ):
                loose.append(f"{where}: ErrorCode.{expr.attr} does not exist")
    assert sites > 100, f"only {sites} raise sites found: is the scan still finding them?"
    assert not loose, "codes that are not ErrorCode members:\n" + "\n".join(loose)


def test_generic_codes_of_every_status_are_members() -> None:
    for status in range(400, 600):
        assert http_code_name(status) in ErrorCode


def test_openapi_error_schema_lists_exactly_the_enum() -> None:
    document = served_document()
    schemas = document["components"]["schemas"]
    code = schemas["ErrorDetail"]["properties"]["code"]
    if "$ref" in code:
        code = schemas[code["$ref"].rsplit("/", 1)[-1]]
    assert sorted(code["enum"]) == sorted(c.value for c in ErrorCode)
    assert "code" in schemas["ErrorDetail"]["required"]


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (errors.InvalidInput(ErrorCode.WEAK_PASSWORD, "x"), 422),
        (errors.NotAuthenticated(ErrorCode.INVALID_TOKEN, "x"), 401),
        (errors.Forbidden(ErrorCode.FORBIDDEN, "x"), 403),
        (errors.NotFound(ErrorCode.NOT_FOUND, "x"), 404),
        (errors.Conflict(ErrorCode.LAST_ADMIN, "x"), 409),
        (errors.Gone(ErrorCode.RESNAPSHOT_REQUIRED, "x"), 410),
        (errors.Locked(ErrorCode.ACCOUNT_LOCKED, "x"), 423),
        (errors.RateLimited(ErrorCode.RATE_LIMITED, "x"), 429),
        (errors.UpstreamFailed(ErrorCode.TMDB_UNAVAILABLE, "x"), 502),
        (errors.Unavailable(ErrorCode.LIBRARY_OFFLINE, "x"), 503),
        (gate.Unavailable("postgres", "down"), 503),
        (ApiError(416, ErrorCode.RANGE_NOT_SATISFIABLE, "x"), 416),
        (ValueError("a bug"), 500),
    ],
)
def test_one_table_gives_each_kind_of_failure_its_status(error: Exception, status: int) -> None:
    assert status_of(error) == status


def test_every_domain_class_is_in_the_table() -> None:
    missing = {
        name
        for name in ERROR_CLASSES
        if getattr(errors, name) not in STATUS and name != "FerrexError"
    }
    assert not missing, f"no status for {sorted(missing)} in appliance/api/errors.py STATUS"


def test_a_string_code_outside_the_enum_is_refused() -> None:
    with pytest.raises(ValueError):
        errors.NotFound("no_such_code", "x")  # type: ignore[arg-type]
    assert errors.NotFound("not_found", "x").code is ErrorCode.NOT_FOUND  # type: ignore[arg-type]
