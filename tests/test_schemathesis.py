"""Property-based API testing with schemathesis against the appliance's own OpenAPI document, on
a real appliance with a small library: no 5xx and no response that violates its schema.

Bounded for CI: a few examples per operation and an overall time budget (operations not reached
in it are reported, not failed). Operations that would end the test's own session (logout,
revoking sessions and devices, password changes) are left out so the rest stay authenticated,
and so is the endless SSE stream.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import schemathesis

from tests.helpers import (
    RunningAppliance,
    admin_token,
    http_json,
    wait_for,
)

pytestmark = pytest.mark.slow
EXAMPLES = 8
BUDGET_SECONDS = 90.0
SKIP = ("/api/v1/events", "/api/v1/auth/logout", "/api/v1/auth/password", "/sessions",
        "/devices", "/password", "/api/v1/setup")


def test_no_server_errors_and_no_schema_violations(workdir: Path) -> None:
    from hypothesis import HealthCheck, given, settings
    from schemathesis.checks import not_a_server_error, response_schema_conformance

    films = workdir / "films" / "Heat (1995)"
    films.mkdir(parents=True)
    (films / "Heat (1995).mkv").write_bytes(b"\0" * 1000)
    app = RunningAppliance(workdir / "var", env={"FERREX_SCAN_ANALYZE": "false",
                                                 "FERREX_MEDIA_PEAK_HOURS": ""})
    try:
        base = app.wait_ready()
        token = admin_token(base)
        status, _ = http_json("POST", base + "/api/v1/libraries", {
            "name": "Films", "kind": "movies", "roots": [str(workdir / "films")]}, token=token)
        assert status == 201
        assert wait_for(lambda: http_json("POST", base + "/api/v1/media/query", {},
                                          token=token)[1].get("total") == 1, 30)

        schemathesis.experimental.OPEN_API_3_1.enable()
        schema = schemathesis.from_uri(base + "/api/v1/openapi.json", base_url=base)
        headers = {"Authorization": f"Bearer {token}"}
        deadline = time.monotonic() + BUDGET_SECONDS
        checked, not_reached = [], []
        for result in schema.get_all_operations():
            operation = result.ok()
            if any(part in operation.path for part in SKIP):
                continue
            if time.monotonic() > deadline:
                not_reached.append(operation.verbose_name)
                continue

            @given(case=operation.as_strategy())
            @settings(max_examples=EXAMPLES, deadline=None, database=None,
                      suppress_health_check=list(HealthCheck))
            def check(case: schemathesis.Case) -> None:
                response = case.call(headers=headers, timeout=20)
                case.validate_response(response, checks=(not_a_server_error,
                                                         response_schema_conformance))

            check()
            checked.append(operation.verbose_name)
        assert len(checked) >= 20, (checked, not_reached)
        # The session survived: every operation above really ran authenticated.
        assert http_json("GET", base + "/api/v1/auth/me", token=token)[0] == 200
        assert not [e for e in app.log_lines() if e.get("status", 0) >= 500]
    finally:
        app.stop()
