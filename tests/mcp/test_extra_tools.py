"""The seam for expctl's own tools (the automation tools): specs passed to ``build_server`` get the
same listing, access checks and error translation as the operation tools."""

from __future__ import annotations

from typing import Any

import pytest
from mcp import Client
from pydantic import Field

from adapters.mcp.arguments import MutatingArguments, ToolArguments
from adapters.mcp.server import build_server
from adapters.mcp.tools import Invocation, ToolOutput, ToolSpec
from adapters.posthog import PostHogClient
from lifecycle.errors import LifecycleError
from lifecycle.service import LifecycleService
from tests.mcp.harness import error, text

PLANS: dict[int, dict[str, Any]] = {}


class NoPlanError(LifecycleError):
    """Stands in for the automation's own lifecycle errors."""


class PlanShow(ToolArguments):
    id: int = Field(ge=1, description="The experiment's id.")


class PlanSet(MutatingArguments):
    id: int = Field(ge=1, description="The experiment's id.")
    launch_at: str = Field(description="When to launch (ISO 8601).")


async def show(arguments: PlanShow, call: Invocation) -> ToolOutput:
    if arguments.id not in PLANS:
        raise NoPlanError(f"experiment {arguments.id} has no automation plan")
    return ToolOutput(PLANS[arguments.id])


async def set_plan(arguments: PlanSet, call: Invocation) -> ToolOutput:
    plan = {"experiment_id": arguments.id, "launch_at": arguments.launch_at, "by": call.actor}
    if arguments.dry_run:
        return ToolOutput({"outcome": "dry_run", "plan": plan})
    PLANS[arguments.id] = plan
    return ToolOutput(plan, f"plan set for experiment {arguments.id}")


EXTRA = [
    ToolSpec(
        name="experiment-plan-show",
        title="Show plan",
        description="Show an experiment's automation plan.",
        arguments=PlanShow,
        handler=show,
        read_only=True,
        idempotent=True,
    ),
    ToolSpec(
        name="experiment-plan-set",
        title="Set plan",
        description="Set an experiment's automation plan.",
        arguments=PlanSet,
        handler=set_plan,
        read_only=False,
        idempotent=True,
        aliases=("plan-set",),
    ),
]


@pytest.fixture(autouse=True)
def no_plans() -> None:
    PLANS.clear()


async def test_extra_tools_are_served_with_the_shared_behaviour(
    posthog: PostHogClient, service: LifecycleService
) -> None:
    server = build_server(client=posthog, service=service, extra_tools=EXTRA)
    async with Client(server) as mcp:
        names = [tool.name for tool in (await mcp.list_tools()).tools]
        assert names[-3:] == [
            "experiment-allowed-actions",
            "experiment-plan-show",
            "experiment-plan-set",
        ]
        missing = error(await mcp.call_tool("experiment-plan-show", {"id": 1}))
        assert missing["type"] == "lifecycle"
        assert "no automation plan" in missing["message"]
        assert error(await mcp.call_tool("plan-set", {"id": 1}))["field"] == "launch_at"
        done = await mcp.call_tool("plan-set", {"id": 1, "launch_at": "2026-04-01T09:00:00Z"})
        assert text(done).startswith("plan set for experiment 1")
        shown = await mcp.call_tool("experiment-plan-show", {"id": 1})
        assert shown.structured_content == {
            "experiment_id": 1,
            "launch_at": "2026-04-01T09:00:00Z",
            "by": "mcp",
        }


async def test_extra_writes_obey_read_only_mode(
    posthog: PostHogClient, service: LifecycleService
) -> None:
    server = build_server(client=posthog, service=service, readonly=True, extra_tools=EXTRA)
    async with Client(server) as mcp:
        names = [tool.name for tool in (await mcp.list_tools()).tools]
        assert "experiment-plan-show" in names
        assert "experiment-plan-set" not in names
        arguments = {"id": 1, "launch_at": "2026-04-01T09:00:00Z"}
        assert error(await mcp.call_tool("experiment-plan-set", arguments))["type"] == "read_only"
        dry = await mcp.call_tool("experiment-plan-set", {**arguments, "dry_run": True})
        assert dry.structured_content is not None
        assert dry.structured_content["outcome"] == "dry_run"
    assert PLANS == {}


def test_a_write_without_dry_run_or_a_reused_name_is_refused_at_build(
    posthog: PostHogClient, service: LifecycleService
) -> None:
    blind = ToolSpec(
        name="experiment-plan-cancel",
        title="Cancel plan",
        description="Cancel.",
        arguments=PlanShow,
        handler=show,
        read_only=False,
    )
    with pytest.raises(ValueError, match="dry_run"):
        build_server(client=posthog, service=service, extra_tools=[blind])
    clash = ToolSpec(
        name="launch-draft-experiment",
        title="Clash",
        description="Clash.",
        arguments=PlanShow,
        handler=show,
        read_only=True,
    )
    with pytest.raises(ValueError, match="used twice"):
        build_server(client=posthog, service=service, extra_tools=[clash])
