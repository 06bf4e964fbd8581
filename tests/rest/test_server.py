"""The composition root: the app built from the environment, the start-up banner, the settings."""

from __future__ import annotations

import httpx
import pytest

from adapters.rest.bodies import DEFAULT_MAX_BODY_BYTES
from adapters.rest.server import (
    StartupError,
    assemble,
    banner,
    parse_max_body,
    parse_projects,
)


async def test_on_loopback_without_a_token_one_is_generated_and_printed_once() -> None:
    assembly = assemble(host="127.0.0.1", in_process_sandbox=True)
    token = assembly.verifier.full_token
    assert assembly.verifier.generated
    assert token
    assert token.startswith("expctl_")
    text = banner(assembly, "127.0.0.1", 8080)
    assert text.count(token) == 2  # the token line and the curl example
    assert "http://127.0.0.1:8080/docs" in text
    assert "in-process sandbox" in text
    transport = httpx.ASGITransport(app=assembly.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://expctl.test") as http:
        ok = await http.get(
            "/v1/api/projects/1/experiments/1", headers={"Authorization": f"Bearer {token}"}
        )
        refused = await http.get("/v1/api/projects/1/experiments/1")
        ready = await http.get("/readyz")
    await assembly.upstream.client.aclose()
    assert ok.status_code == 200
    assert ok.json()["name"] == "Checkout button copy"
    assert refused.status_code == 401
    # Readiness checks PostHog (the sandbox answers) and Prefect (up or not, depending on the run).
    checks = {check["name"]: check["ok"] for check in ready.json()["checks"]}
    assert checks["posthog"] is True
    assert "prefect" in checks
    assert ready.status_code == (200 if checks["prefect"] else 503)


async def test_configured_tokens_and_projects_come_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("EXPCTL_API_TOKEN", "full-from-env")
    monkeypatch.setenv("EXPCTL_READONLY_TOKEN", "ro-from-env")
    monkeypatch.setenv("EXPCTL_PROJECTS", "2, 3")
    monkeypatch.setenv("EXPCTL_MAX_BODY_BYTES", "64")
    assembly = assemble(host="0.0.0.0", in_process_sandbox=True)
    assert not assembly.verifier.generated
    assert "full-from-env" not in banner(assembly, "0.0.0.0", 8080)
    transport = httpx.ASGITransport(app=assembly.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://expctl.test") as http:
        headers = {"Authorization": "Bearer ro-from-env"}
        other = await http.get("/v1/api/projects/1/experiments", headers=headers)
        allowed = await http.get("/v1/api/projects/2/experiments", headers=headers)
        big = await http.post(
            "/v1/api/projects/2/experiments",
            headers={"Authorization": "Bearer full-from-env"},
            content=b"{" + b" " * 100 + b"}",
        )
    await assembly.upstream.client.aclose()
    assert other.status_code == 403
    assert allowed.status_code == 200
    assert big.status_code == 413


def test_parse_projects() -> None:
    assert parse_projects(None) is None
    assert parse_projects("  ") is None
    assert parse_projects("1, 2,2") == frozenset({1, 2})
    for bad in ("1,,2", "a", "0", "-1"):
        with pytest.raises(StartupError):
            parse_projects(bad)


def test_parse_max_body() -> None:
    assert parse_max_body(None) == DEFAULT_MAX_BODY_BYTES
    assert parse_max_body("2048") == 2048
    for bad in ("0", "x", "-1"):
        with pytest.raises(StartupError):
            parse_max_body(bad)
