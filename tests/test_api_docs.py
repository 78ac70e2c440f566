"""docs/api.md is the OpenAPI document the appliance serves, rendered: regenerated here and
compared, so a route, status or type changed without regenerating the file fails (the message
says the one command to run)."""

from __future__ import annotations

import re

from appliance.api.openapi_markdown import COMMAND, anchor, render, served_document
from tests.helpers import REPO


def test_committed_api_reference_is_current() -> None:
    fresh = render(served_document())
    committed = (REPO / "docs" / "api.md").read_text()
    assert committed == fresh, f"docs/api.md is stale; regenerate it: {COMMAND}"


def test_reference_lists_every_operation_of_the_document() -> None:
    document = served_document()
    text = render(document)
    for path, methods in document["paths"].items():
        for method in methods:
            assert f"### `{method.upper()} {path}`" in text
    for name in document["components"]["schemas"]:
        assert f"### {name}\n" in text
    for path in document["x-websockets"]:
        assert f"### `{path}`" in text


def test_every_link_in_the_reference_lands_on_a_heading() -> None:
    text = render(served_document())
    headings = {anchor(h) for h in re.findall(r"^#+ (.+)$", text, re.M)}
    links = set(re.findall(r"\]\(#([^)]+)\)", text))
    assert links and not links - headings, sorted(links - headings)
