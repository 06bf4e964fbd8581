"""What an agent sees in tools/list: the table's tools, once each, typed and hinted from the rows."""

from __future__ import annotations

from typing import Any

import pytest
from mcp import Client
from mcp.types import Tool

from adapters.posthog import OPERATIONS, Operation

EXTRA = "experiment-allowed-actions"


async def listed(mcp: Client) -> dict[str, Tool]:
    tools = (await mcp.list_tools()).tools
    names = [tool.name for tool in tools]
    assert len(names) == len(set(names)), "a tool is listed twice"
    return {tool.name: tool for tool in tools}


def properties(tool: Tool) -> dict[str, Any]:
    props: dict[str, Any] = tool.input_schema["properties"]
    return props


def enum_of(schema: dict[str, Any]) -> list[str]:
    """The enum of a property, looking through ``anyOf: [..., null]``."""
    for option in schema.get("anyOf", [schema]):
        if "enum" in option:
            values: list[str] = option["enum"]
            return values
    return []


async def test_the_listed_tools_are_the_table_and_allowed_actions(mcp: Client) -> None:
    tools = await listed(mcp)
    assert list(tools) == [op.mcp_tool for op in OPERATIONS] + [EXTRA]
    aliases = {alias for op in OPERATIONS for alias in op.mcp_aliases}
    assert len(aliases) == 44
    assert not aliases & set(tools)


@pytest.mark.parametrize("op", OPERATIONS, ids=lambda op: op.mcp_tool)
async def test_each_tool_carries_its_rows_metadata(mcp: Client, op: Operation[Any]) -> None:
    tool = (await listed(mcp))[op.mcp_tool]
    assert tool.title == op.title
    assert tool.description is not None
    assert tool.description.startswith(op.description)
    hints = tool.annotations
    assert hints is not None
    assert hints.title == op.title
    assert hints.read_only_hint is op.read_only
    assert hints.destructive_hint is op.destructive
    assert hints.idempotent_hint is op.idempotent
    assert hints.open_world_hint is True
    assert tool.output_schema is not None
    assert tool.output_schema["type"] == "object"


@pytest.mark.parametrize("op", OPERATIONS, ids=lambda op: op.mcp_tool)
async def test_each_input_schema_comes_from_the_rows_parameters(
    mcp: Client, op: Operation[Any]
) -> None:
    tool = (await listed(mcp))[op.mcp_tool]
    schema = tool.input_schema
    props = properties(tool)
    required = set(schema.get("required", []))
    assert schema["additionalProperties"] is False
    assert "$defs" not in schema
    assert "$ref" not in str(schema)

    project = props["project_id"]
    assert project["type"] == "integer"
    assert project["default"] == 1
    assert "POSTHOG_PROJECT_ID" in project["description"]
    assert "project_id" not in required
    if op.has_id:
        assert props["id"]["type"] == "integer"
        assert "id" in required
    else:
        assert "id" not in props

    own = set()
    for model in (op.query, op.body):
        if model is None:
            continue
        for name, field in model.model_fields.items():
            own.add(name)
            assert name in props, f"{name} of {model.__name__} is not an argument"
            assert (name in required) is field.is_required()
            if field.description:
                assert props[name]["description"] == field.description
    added = {"project_id", "id", "dry_run", "confirm", "reason"}
    assert set(props) - own <= added

    assert ("dry_run" in props) is (not op.read_only)
    if not op.read_only:
        assert props["dry_run"]["type"] == "boolean"
        assert props["dry_run"]["default"] is False
    assert ("confirm" in props) is (op.method in ("PUT", "PATCH"))


async def test_enums_reach_the_schema(mcp: Client) -> None:
    tools = await listed(mcp)
    status = enum_of(properties(tools["experiments-list"])["status"])
    assert set(status) == {"draft", "running", "paused", "stopped", "complete", "all"}
    conclusions = {"won", "lost", "inconclusive", "stopped_early", "invalid"}
    for name in ("experiment-end", "experiment-ship-variant"):
        assert set(enum_of(properties(tools[name])["conclusion"])) == conclusions
    runtime = enum_of(properties(tools["experiments-eligible-feature-flags"])["evaluation_runtime"])
    assert set(runtime) == {"server", "client", "all"}


async def test_bodyless_lifecycle_tools_take_only_the_experiment(mcp: Client) -> None:
    tools = await listed(mcp)
    for name in ("experiment-launch", "experiment-pause", "experiment-resume", "experiment-reset"):
        assert set(properties(tools[name])) == {"project_id", "id", "reason", "dry_run"}


async def test_allowed_actions_is_a_read_tool(mcp: Client) -> None:
    tool = (await listed(mcp))[EXTRA]
    assert tool.annotations is not None
    assert tool.annotations.read_only_hint is True
    assert set(properties(tool)) == {"project_id", "id"}
    assert tool.input_schema["required"] == ["id"]
