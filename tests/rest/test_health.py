"""``/healthz`` and ``/readyz``: up, and whether PostHog (with the server's key) and the added probes answer."""

from __future__ import annotations

import asyncio

from adapters.posthog import PostHogClient
from adapters.rest.health import Probe, posthog_probe, run_probe
from tests.rest.conftest import Stack, build_stack


async def test_healthz_needs_no_token(stack: Stack) -> None:
    answer = await stack.call("GET", "/healthz", token=None)
    assert (answer.status_code, answer.json()) == (200, {"status": "ok"})
    assert (await stack.calls())["total"] == 0


async def test_readyz_checks_posthog_with_the_servers_key(stack: Stack) -> None:
    answer = await stack.call("GET", "/readyz", token=None)
    assert answer.status_code == 200
    report = answer.json()
    assert report["status"] == "ready"
    assert report["failed"] == []
    assert [c["name"] for c in report["checks"]] == ["posthog"]
    assert (await stack.calls())["by_operation"]["experiments_list"]["count"] == 1


async def _prefect_down() -> str:
    raise ConnectionError("Prefect API at http://127.0.0.1:4200/api did not answer")


async def _prefect_up() -> str:
    return "Prefect API answers"


async def _stuck() -> str:
    await asyncio.sleep(5)
    return "never"


async def test_readyz_is_503_naming_the_failed_probe() -> None:
    probes = (Probe("prefect", _prefect_down), Probe("queue", _prefect_up))
    async with build_stack(probes=probes) as stack:
        answer = await stack.call("GET", "/readyz", token=None)
    assert answer.status_code == 503
    report = answer.json()
    assert report["status"] == "not_ready"
    assert report["failed"] == ["prefect"]
    assert {c["name"]: c["ok"] for c in report["checks"]} == {
        "posthog": True,
        "prefect": False,
        "queue": True,
    }


async def test_readyz_fails_when_posthog_fails(stack: Stack) -> None:
    await stack.faults({"kind": "error", "status": 500, "count": 1})
    answer = await stack.call("GET", "/readyz", token=None)
    assert answer.status_code == 503
    (check,) = answer.json()["checks"]
    assert check["ok"] is False
    assert "500" in check["detail"]


async def test_a_stuck_probe_times_out() -> None:
    result = await run_probe(Probe("slow", _stuck, timeout=0.05))
    assert result.ok is False
    assert result.detail == "no answer within 0.05 s"


async def test_without_a_project_readiness_says_what_to_set() -> None:
    client = PostHogClient(api_key="phx_unused", host="http://unused.invalid")
    try:
        result = await run_probe(posthog_probe(client, None))
    finally:
        await client.aclose()
    assert result.ok is False
    assert "POSTHOG_PROJECT_ID" in result.detail
