"""PostHog's failures reach the agent as tool errors with PostHog's status and message, and the
PostHog key never shows up in a result or a log line."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from mcp import Client
from mcp.types import CallToolResult

from adapters.mcp.server import build_server
from adapters.posthog import PostHogClient, RetryPolicy
from lifecycle.service import LifecycleService
from sandbox.server import running_server
from tests.mcp.harness import HOST, KEY, admin, error, hold, sandbox_settings, text


async def faults(sandbox: FastAPI, *rules: dict[str, Any]) -> None:
    await admin(sandbox, "PUT", "/faults", {"rules": list(rules)})


def everything_said(results: list[CallToolResult]) -> str:
    return "\n".join(f"{text(r)}\n{r.structured_content}" for r in results)


async def test_posthog_errors_keep_status_message_and_attr(mcp: Client) -> None:
    missing = error(await mcp.call_tool("experiment-get", {"id": 999}))
    assert (missing["type"], missing["status"], missing["detail"]) == (
        "posthog_error",
        404,
        "Not found.",
    )
    assert "PostHog answered 404: Not found." in missing["message"]

    bad = error(
        await mcp.call_tool(
            "experiment-create", {"name": "x", "feature_flag_key": "k", "metrics": [{"kind": "No"}]}
        )
    )
    assert (bad["status"], bad["attr"], bad["code"]) == (400, "metrics", "invalid_input")
    assert "metric kind must be 'ExperimentMetric'" in bad["message"]
    assert "(field: metrics)" in bad["message"]

    refused = error(await mcp.call_tool("experiment-create-exposure-cohort", {"id": 1}))
    assert refused["status"] == 400
    assert refused["detail"] == "Experiment does not have a start date"


async def test_a_missing_scope_is_posthogs_403(sandbox: FastAPI) -> None:
    key = (await admin(sandbox, "POST", "/keys", {"scopes": ["experiment:read"]}))["key"]
    async with PostHogClient(
        api_key=key,
        host=HOST,
        project_id=1,
        transport=httpx.ASGITransport(app=sandbox),
        rate_limit=False,
    ) as reader:
        server = build_server(client=reader, service=LifecycleService(reader))
        async with Client(server) as mcp:
            details = error(await mcp.call_tool("experiment-launch", {"id": 1}))
            assert details["status"] == 403
            assert "experiment:write" in details["message"]
            assert key not in everything_said([await mcp.call_tool("experiment-launch", {"id": 1})])


async def test_throttling_says_when_to_retry(mcp: Client, sandbox: FastAPI) -> None:
    await faults(sandbox, {"kind": "throttle", "count": 1, "retry_after": 7})
    details = error(await mcp.call_tool("experiments-list", {}))
    assert details["type"] == "rate_limited"
    assert details["status"] == 429
    assert details["retry_after"] == 7
    assert "retry in 7 s" in details["message"]


async def test_a_failed_write_says_its_outcome_is_unknown(mcp: Client, sandbox: FastAPI) -> None:
    await faults(sandbox, {"kind": "error", "status": 503, "methods": ["POST"], "count": 1})
    details = error(await mcp.call_tool("experiment-launch", {"id": 1}))
    assert details["status"] == 503
    assert "may or may not have been applied" in details["message"]


async def test_a_dropped_connection_is_posthog_unreachable(mcp: Client, sandbox: FastAPI) -> None:
    await faults(sandbox, {"kind": "drop", "count": 1})
    details = error(await mcp.call_tool("experiment-get", {"id": 2}))
    assert details["type"] == "unreachable"
    assert details["message"].startswith("PostHog is unreachable")


@pytest.fixture
async def nowhere() -> AsyncIterator[Client]:
    """An MCP server whose PostHog is a closed port."""
    async with PostHogClient(
        api_key=KEY,
        host="http://127.0.0.1:9",
        project_id=1,
        rate_limit=False,
        retry=RetryPolicy(max_attempts=1),
        connect_timeout=1.0,
    ) as client:
        server = build_server(client=client, service=LifecycleService(client, max_attempts=1))
        mcp, close = await hold(Client(server))
        yield mcp
        await close()


async def test_no_posthog_at_all_is_unreachable(nowhere: Client) -> None:
    for tool, arguments in (
        ("experiments-list", {}),
        ("experiment-launch", {"id": 1}),
        ("experiment-create", {"name": "x", "feature_flag_key": "y"}),
    ):
        details = error(await nowhere.call_tool(tool, arguments))
        assert details["type"] == "unreachable"
        assert "127.0.0.1:9" in details["message"]


async def test_a_slow_posthog_is_a_timeout() -> None:
    # A real server: timeouts need real sockets (the in-process transport has none).
    with running_server(sandbox_settings()) as posthog:
        await faults(posthog.app, {"kind": "latency", "latency_ms": 700, "count": 1})
        async with PostHogClient(
            api_key=KEY,
            host=posthog.url,
            project_id=1,
            rate_limit=False,
            retry=RetryPolicy(max_attempts=1),
            timeout=0.2,
        ) as client:
            server = build_server(client=client, service=LifecycleService(client))
            async with Client(server) as mcp:
                details = error(await mcp.call_tool("experiment-get", {"id": 2}))
    assert details["type"] == "unreachable"
    assert "did not answer within 0.2s" in details["message"]


async def test_the_posthog_key_never_appears(
    mcp: Client, sandbox: FastAPI, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    await faults(
        sandbox,
        {"kind": "throttle", "count": 1, "retry_after": 1},
        {"kind": "error", "status": 502, "count": 1, "path_regex": "/2/"},
    )
    results = [
        await mcp.call_tool("experiments-list", {}),
        await mcp.call_tool("experiment-get", {"id": 2}),
        await mcp.call_tool("experiment-get", {"id": 999}),
        await mcp.call_tool("experiment-delete", {"id": 1}),
        await mcp.call_tool("experiment-pause", {"id": 1}),
        await mcp.call_tool("experiment-launch", {"id": 1, "dry_run": True}),
        await mcp.call_tool("experiment-launch", {"id": 1}),
        await mcp.call_tool("experiments-list", {"status": "nope"}),
    ]
    assert sum(r.is_error for r in results) == 6
    said = everything_said(results) + caplog.text
    assert "experiment-get" in caplog.text  # tool errors are logged...
    assert KEY not in said  # ...without the key
    assert KEY[4:] not in said
