"""Every mutating tool can be dry-run, and a dry run sends nothing and changes nothing."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from mcp import Client

from adapters.posthog import OPERATIONS, Operation, PostHogClient
from tests.mcp.cases import tool_arguments
from tests.mcp.harness import text, writes

MUTATING = [op for op in OPERATIONS if not op.read_only]


async def everything(posthog: PostHogClient) -> list[Any]:
    """Every experiment of the demo project, archived or not, as PostHog has it."""
    pages = [
        await posthog.request(
            OPERATIONS[0], query={"status": "all", "archived": archived, "limit": 100}
        )
        for archived in (False, True)
    ]
    return [page.body for page in pages]


def test_every_write_is_covered() -> None:
    assert len(MUTATING) == 16


@pytest.mark.parametrize("op", MUTATING, ids=lambda op: op.mcp_tool)
async def test_a_dry_run_sends_nothing(
    mcp: Client,
    posthog: PostHogClient,
    calls: Callable[[], Awaitable[dict[str, Any]]],
    op: Operation[Any],
) -> None:
    arguments = await tool_arguments(op.name, posthog)
    before = await everything(posthog)
    result = await mcp.call_tool(op.mcp_tool, {**arguments, "dry_run": True})
    assert not result.is_error, text(result)
    data = result.structured_content
    assert data is not None
    assert data["outcome"] == "dry_run"
    request = data["request"]
    assert (request["operation"], request["method"]) == (op.name, op.method)
    assert text(result).startswith("Dry run, nothing was sent")
    assert writes(await calls()) == {}
    assert await everything(posthog) == before


async def test_a_dry_run_still_checks_the_lifecycle(mcp: Client) -> None:
    result = await mcp.call_tool("experiment-pause", {"id": 1, "dry_run": True})
    assert result.is_error
    assert "launch" in text(result)
