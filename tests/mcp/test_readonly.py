"""Read-only mode (the server's switch): only read tools are listed, writes must be dry runs."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from mcp import Client

from adapters.mcp.server import build_server
from adapters.posthog import OPERATIONS, Operation, PostHogClient
from lifecycle.service import LifecycleService
from tests.mcp.cases import tool_arguments
from tests.mcp.harness import error, hold, text, writes

MUTATING = [op for op in OPERATIONS if not op.read_only]


@pytest.fixture
async def reader(posthog: PostHogClient, service: LifecycleService) -> AsyncIterator[Client]:
    server = build_server(client=posthog, service=service, readonly=True)
    mcp, close = await hold(Client(server))
    yield mcp
    await close()


async def test_only_read_tools_are_listed(reader: Client) -> None:
    names = [tool.name for tool in (await reader.list_tools()).tools]
    assert names == [op.mcp_tool for op in OPERATIONS if op.read_only] + [
        "experiment-allowed-actions"
    ]


@pytest.mark.parametrize("op", MUTATING, ids=lambda op: op.mcp_tool)
async def test_writes_are_refused_but_dry_runs_work(
    reader: Client,
    posthog: PostHogClient,
    calls: Callable[[], Awaitable[dict[str, Any]]],
    op: Operation[Any],
) -> None:
    arguments = await tool_arguments(op.name, posthog)
    for name in (op.mcp_tool, op.mcp_aliases[0]):
        details = error(await reader.call_tool(name, arguments))
        assert details["type"] == "read_only"
        assert "EXPCTL_MCP_READONLY=1" in details["message"]
        assert "dry_run: true" in details["message"]
    dry = await reader.call_tool(op.mcp_tool, {**arguments, "dry_run": True})
    assert not dry.is_error, text(dry)
    assert dry.structured_content is not None
    assert dry.structured_content["outcome"] == "dry_run"
    assert writes(await calls()) == {}


async def test_reads_work(reader: Client) -> None:
    result = await reader.call_tool("experiment-get", {"id": 2})
    assert result.structured_content is not None
    assert result.structured_content["name"] == "Pricing page redesign"
    allowed = await reader.call_tool("experiment-allowed-actions", {"id": 2})
    assert not allowed.is_error
