"""Bad arguments are tool errors that name the field, whichever layer catches them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from mcp import Client

from tests.mcp.harness import error, text, writes


@pytest.mark.parametrize(
    ("tool", "arguments", "field"),
    [
        # the input schema (the SDK validates against our model)
        ("experiment-get", {}, "id"),
        ("experiment-get", {"id": "two"}, "id"),
        ("experiment-get", {"id": 0}, "id"),
        ("experiment-get", {"id": 2, "project_id": -1}, "project_id"),
        ("experiment-launch", {"id": 1, "force": True}, "force"),
        ("experiments-list", {"status": "finished"}, "status"),
        ("experiments-list", {"limit": 0}, "limit"),
        ("experiment-end", {"id": 2, "conclusion": "great"}, "conclusion"),
        ("experiment-ship-variant", {"id": 2}, "variant_key"),
        ("experiment-timeseries-results", {"id": 2, "metric_uuid": "m"}, "fingerprint"),
        ("experiment-create", {"name": "x"}, "feature_flag_key"),
        ("experiment-copy-to-project", {"id": 1}, "target_team_id"),
        ("experiment-launch", {"id": 1, "dry_run": "maybe"}, "dry_run"),
        # the client's own validators, before anything is sent
        ("experiments-list", {"order": "colour"}, "order"),
        ("experiments-eligible-feature-flags", {"order": "-created_by"}, "order"),
        (
            "experiment-recalculate-timeseries",
            {"id": 2, "metric": {"kind": "ExperimentMetric"}, "fingerprint": "f"},
            "metric",
        ),
    ],
)
async def test_bad_arguments_name_the_field(
    mcp: Client,
    calls: Callable[[], Awaitable[dict[str, Any]]],
    tool: str,
    arguments: dict[str, Any],
    field: str,
) -> None:
    result = await mcp.call_tool(tool, arguments)
    details = error(result)
    assert details["type"] == "invalid_arguments"
    assert details["field"] == field
    assert field in text(result)
    assert writes(await calls()) == {}


async def test_every_offending_field_is_listed(mcp: Client) -> None:
    details = error(await mcp.call_tool("experiments-list", {"status": "x", "limit": -1, "foo": 1}))
    assert details["type"] == "invalid_arguments"
    assert {item["field"] for item in details["errors"]} == {"status", "limit", "foo"}
    unknown = next(item for item in details["errors"] if item["field"] == "foo")
    assert unknown["message"] == "unknown argument"


async def test_aliases_validate_against_the_same_schema(mcp: Client) -> None:
    details = error(await mcp.call_tool("launch-draft-experiment-2", {}))
    assert details["field"] == "id"
    assert "experiment-launch" in details["message"]


async def test_json_in_a_string_is_accepted_as_the_sdk_does(mcp: Client) -> None:
    result = await mcp.call_tool(
        "experiments-requires-flag-implementation", {"events": '[{"id": "$pageview"}]'}
    )
    assert not result.is_error, text(result)
    assert result.structured_content == {"result": False}
