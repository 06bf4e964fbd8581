"""Every tool against the sandbox: the same data as the direct client call, and every alias works.

Each case runs the tool on one fresh sandbox and the direct call on another built alike (frozen
clock, same seed), so writes compare too.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from mcp import Client

from adapters.posthog import OPERATIONS, MethodNotAllowedError, Operation
from lifecycle.service import LifecycleService
from sandbox.app import create_app
from tests.mcp.cases import direct, tool_arguments
from tests.mcp.harness import error, posthog_client, sandbox_settings, text

THROUGH_SERVICE = {op.name for op in OPERATIONS if op.lifecycle_action} | {
    "update_experiment",
    "patch_experiment",
}
RANDOM = re.compile(
    r"^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{64})$"
)
MINTS_IDS = {"copy_experiment_to_project", "duplicate_experiment", "recalculate_timeseries"}
"""Operations that make up uuids (new metric uuids and fingerprints, the recalculation's id)."""


async def direct_on_fresh_sandbox(operation: str, arguments: dict[str, Any]) -> Any:
    async with posthog_client(create_app(sandbox_settings())) as other:
        return await direct(operation, arguments, other)


def without(data: dict[str, Any], names: set[str]) -> dict[str, Any]:
    return {key: value for key, value in data.items() if key not in names}


def masked(value: Any) -> Any:
    """``value`` with every uuid and fingerprint replaced by a placeholder."""
    if isinstance(value, dict):
        return {key: masked(item) for key, item in value.items()}
    if isinstance(value, list):
        return [masked(item) for item in value]
    if isinstance(value, str) and RANDOM.match(value):
        return "<random>"
    return value


@pytest.mark.parametrize(
    "op", [op for op in OPERATIONS if op.name != "delete_experiment"], ids=lambda op: op.mcp_tool
)
async def test_tool_returns_what_the_direct_call_returns(
    mcp: Client, posthog: Any, op: Operation[Any]
) -> None:
    arguments = await tool_arguments(op.name, posthog)
    result = await mcp.call_tool(op.mcp_tool, arguments)
    assert not result.is_error, text(result)
    data = result.structured_content
    assert data is not None
    expected = await direct_on_fresh_sandbox(op.name, arguments)
    if op.name in THROUGH_SERVICE:
        assert data["outcome"] == "applied"
        data = data["experiment"]
    if op.name in MINTS_IDS:
        data, expected = masked(data), masked(expected)
    assert data == expected
    assert text(result).endswith(result.content[-1].text)  # the JSON is the last text block


async def test_delete_is_posthogs_405_either_way(mcp: Client, posthog: Any) -> None:
    result = await mcp.call_tool("experiment-delete", {"id": 1})
    details = error(result)
    assert details["status"] == 405
    assert details["type"] == "posthog_error"
    assert "experiment-patch" in details["message"]
    with pytest.raises(MethodNotAllowedError):
        await direct("delete_experiment", {"id": 1}, posthog)


async def test_allowed_actions_is_the_services_options(
    mcp: Client, service: LifecycleService
) -> None:
    result = await mcp.call_tool("experiment-allowed-actions", {"id": 5})
    assert not result.is_error
    data = result.structured_content
    assert data is not None
    expected = await service.options(5)
    assert without(data, {"allowed_tools"}) == expected
    assert data["allowed_tools"] == [
        "experiment-resume",
        "experiment-end",
        "experiment-ship-variant",
        "experiment-reset",
    ]
    assert "Experiment 5 is paused" in text(result)


async def test_project_id_defaults_to_the_clients_project_and_can_be_given(mcp: Client) -> None:
    default = await mcp.call_tool("experiments-list", {})
    given = await mcp.call_tool("experiments-list", {"project_id": 1})
    other = await mcp.call_tool("experiments-list", {"project_id": 2})
    assert default.structured_content == given.structured_content
    assert default.structured_content is not None
    assert other.structured_content is not None
    assert default.structured_content["count"] > 0
    assert other.structured_content["count"] != default.structured_content["count"]


@pytest.mark.parametrize(
    ("op", "alias"),
    [pytest.param(op, alias, id=alias) for op in OPERATIONS for alias in op.mcp_aliases],
)
async def test_every_capability_name_resolves_to_its_operation(
    mcp: Client, posthog: Any, op: Operation[Any], alias: str
) -> None:
    arguments = await tool_arguments(op.name, posthog)
    if not op.read_only:
        arguments["dry_run"] = True
    by_alias = await mcp.call_tool(alias, arguments)
    by_name = await mcp.call_tool(op.mcp_tool, arguments)
    assert not by_alias.is_error, text(by_alias)
    assert by_alias.structured_content is not None
    assert by_name.structured_content is not None
    # The record's timestamp is the only thing two identical dry runs disagree on.
    assert without(by_alias.structured_content, {"record"}) == without(
        by_name.structured_content, {"record"}
    )
    if not op.read_only:
        assert by_alias.structured_content is not None
        assert by_alias.structured_content["request"]["operation"] == op.name


async def test_aliases_are_callable_but_a_made_up_name_is_not(mcp: Client) -> None:
    result = await mcp.call_tool("mixin-viewsets-handle-approvalrequired-exceptions-17", {})
    assert result.is_error
    assert "Unknown tool" in text(result)
