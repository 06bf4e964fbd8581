"""Lifecycle tools through the service: refusals an agent can act on, no-ops, approvals, confirms."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from mcp import Client

from adapters.posthog import PostHogClient
from tests.mcp.harness import error, text, writes

Calls = Callable[[], Awaitable[dict[str, Any]]]


@pytest.mark.parametrize(
    ("tool", "experiment", "status", "reason", "allowed"),
    [
        ("experiment-pause", 1, "draft", "not been launched", ["launch"]),
        ("experiment-resume", 1, "draft", "not been launched", ["launch"]),
        (
            "experiment-archive",
            2,
            "running",
            "must be ended",
            ["pause", "end", "ship_variant", "reset"],
        ),
        (
            "experiment-launch",
            6,
            "ended",
            "already been launched",
            ["ship_variant", "archive", "reset"],
        ),
        ("experiment-end", 1, "draft", "not been launched", ["launch"]),
    ],
)
async def test_a_refusal_gives_the_reason_and_the_allowed_actions(
    mcp: Client,
    calls: Calls,
    tool: str,
    experiment: int,
    status: str,
    reason: str,
    allowed: list[str],
) -> None:
    result = await mcp.call_tool(tool, {"id": experiment})
    details = error(result)
    assert details["type"] == "transition_refused"
    assert details["status"] == status
    assert reason in details["reason"]
    assert details["allowed_actions"] == allowed
    assert details["allowed_tools"] == [f"experiment-{a.replace('_', '-')}" for a in allowed]
    message = text(result)
    assert reason in message
    for action in allowed:
        assert f"{action} (experiment-{action.replace('_', '-')})" in message
    assert writes(await calls()) == {}


async def test_launch_refused_by_the_flag_says_why(mcp: Client) -> None:
    details = error(await mcp.call_tool("experiment-launch", {"id": 9}))
    assert "control" in details["reason"]
    assert details["allowed_actions"] == []


@pytest.mark.parametrize(
    ("tool", "arguments", "status"),
    [
        ("experiment-launch", {"id": 2}, "running"),
        ("experiment-resume", {"id": 3}, "running"),
        ("experiment-pause", {"id": 5}, "paused"),
        ("experiment-end", {"id": 6}, "ended"),
        ("experiment-archive", {"id": 7}, "archived"),
        ("experiment-unarchive", {"id": 6}, "ended"),
        ("experiment-reset", {"id": 1}, "draft"),
    ],
)
async def test_asking_for_the_current_state_is_a_successful_no_op(
    mcp: Client, calls: Calls, tool: str, arguments: dict[str, Any], status: str
) -> None:
    result = await mcp.call_tool(tool, arguments)
    assert not result.is_error, text(result)
    data = result.structured_content
    assert data is not None
    assert data["outcome"] == "unchanged"
    assert data["changed"] is False
    assert data["status_before"] == data["status_after"] == status
    assert data["experiment"]["id"] == arguments["id"]
    assert text(result).startswith("No change: ")
    assert writes(await calls()) == {}


async def test_an_applied_action_reports_before_and_after(
    mcp: Client, posthog: PostHogClient
) -> None:
    result = await mcp.call_tool("experiment-pause", {"id": 2, "reason": "guardrail check"})
    data = result.structured_content
    assert data is not None
    assert (data["outcome"], data["status_before"], data["status_after"]) == (
        "applied",
        "running",
        "paused",
    )
    assert data["record"]["actor"] == "mcp"
    assert data["record"]["reason"] == "guardrail check"
    assert text(result).startswith("pause: running → paused")
    assert data["experiment"] == (await posthog.get_experiment(2)).raw()


async def test_ending_again_with_another_conclusion_is_refused(mcp: Client) -> None:
    details = error(await mcp.call_tool("experiment-end", {"id": 6, "conclusion": "lost"}))
    assert details["type"] == "transition_refused"
    assert "won" in details["reason"]


async def test_a_ship_held_for_approval_is_not_an_error(
    mcp: Client, posthog: PostHogClient
) -> None:
    result = await mcp.call_tool("experiment-ship-variant", {"id": 8, "variant_key": "test"})
    assert not result.is_error, text(result)
    data = result.structured_content
    assert data is not None
    assert data["outcome"] == "approval_required"
    assert data["change_request_id"]
    assert data["change_request_id"] in text(result)
    assert "approv" in text(result)
    assert (await posthog.get_experiment(8)).end_date is None


async def test_soft_deleting_a_running_experiment_needs_confirm(
    mcp: Client, posthog: PostHogClient
) -> None:
    details = error(await mcp.call_tool("experiment-patch", {"id": 2, "deleted": True}))
    assert details["type"] == "confirmation_required"
    assert "confirm: true" in details["message"]
    assert (await posthog.get_experiment(2)).id == 2

    result = await mcp.call_tool("experiment-patch", {"id": 2, "deleted": True, "confirm": True})
    assert not result.is_error, text(result)
    assert result.structured_content is not None
    assert result.structured_content["status_after"] == "deleted"
    gone = error(await mcp.call_tool("experiment-get", {"id": 2}))
    assert gone["status"] == 404


@pytest.mark.parametrize(
    ("tool", "arguments", "field"),
    [
        ("experiment-patch", {"id": 1, "start_date": "2026-01-01T00:00:00Z"}, "start_date"),
        ("experiment-patch", {"id": 2, "archived": True}, "archived"),
        (
            "experiment-update",
            {"id": 1, "name": "x", "feature_flag_key": "checkout-button-copy", "conclusion": "won"},
            "conclusion",
        ),
        (
            "experiment-create",
            {"name": "x", "feature_flag_key": "new-flag", "end_date": "2026-01-01T00:00:00Z"},
            "end_date",
        ),
    ],
)
async def test_lifecycle_fields_are_refused_outside_lifecycle_tools(
    mcp: Client, calls: Calls, tool: str, arguments: dict[str, Any], field: str
) -> None:
    details = error(await mcp.call_tool(tool, arguments))
    assert details["type"] == "lifecycle_field"
    assert details["fields"] == [field]
    assert field in details["message"]
    assert writes(await calls()) == {}
