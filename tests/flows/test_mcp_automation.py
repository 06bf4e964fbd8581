"""The MCP automation tools against the sandbox and the Prefect test server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from mcp import Client

from adapters.mcp.automation import automation_tools
from adapters.mcp.server import build_server
from adapters.posthog import PostHogClient
from adapters.prefect.decisions import PrefectDecisionLog
from adapters.prefect.plans import PrefectPlanStore
from adapters.prefect.runs import PrefectScheduler
from lifecycle.automation import AutomationService
from lifecycle.service import LifecycleService
from tests.conftest import SANDBOX_KEY
from tests.flows.conftest import Sandbox
from tests.mcp.harness import error, hold

pytestmark = pytest.mark.prefect


@pytest.fixture
async def mcp(sandbox: Sandbox) -> AsyncIterator[Client]:
    async with PostHogClient(
        api_key=SANDBOX_KEY, host=sandbox.url, project_id=1, rate_limit=False
    ) as client:
        lifecycle = LifecycleService(client)
        automation = AutomationService(
            client, lifecycle, PrefectPlanStore(), PrefectScheduler(), PrefectDecisionLog()
        )
        server = build_server(
            client=client,
            service=lifecycle,
            extra_tools=automation_tools(automation, default_project=1),
        )
        mcp_client, close = await hold(Client(server, raise_exceptions=True))
        yield mcp_client
        await close()


def data(result: Any) -> dict[str, Any]:
    assert not result.is_error, result.content
    content: dict[str, Any] = result.structured_content
    return content


async def test_plans_can_be_set_shown_evaluated_and_cancelled(
    mcp: Client, sandbox: Sandbox
) -> None:
    names = {tool.name for tool in (await mcp.list_tools()).tools}
    assert {
        "experiment-plan-set",
        "experiment-plan-show",
        "experiment-plan-cancel",
        "experiment-evaluate",
        "experiment-flow-run",
        "flow-run-get",
    } <= names
    launch_at = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
    plan = {"launch_at": launch_at, "end_after": "P14D", "end_plan": {"action": "ship_winner"}}
    dry = data(await mcp.call_tool("experiment-plan-set", {"id": 1, "plan": plan, "dry_run": True}))
    assert dry["dry_run"] is True
    assert (
        data(await mcp.call_tool("experiment-plan-set", {"id": 1, "plan": plan}))["next_actions"][
            0
        ]["kind"]
        == "launch"
    )
    shown = data(await mcp.call_tool("experiment-plan-show", {"id": 1}))
    assert shown["plan"]["end_plan"]["action"] == "ship_winner"
    assert shown["set_by"] == "mcp"
    decision = data(await mcp.call_tool("experiment-evaluate", {"id": 2}))
    assert decision["evidence"]["sequential"]["variants"][0]["p_value"] < 0.05
    assert decision["verdict"] in ("end", "ship", "keep_running")
    cancelled = data(await mcp.call_tool("experiment-plan-cancel", {"id": 1}))
    assert cancelled["status"] == "cancelled"
    missing = error(await mcp.call_tool("experiment-plan-show", {"id": 1}))
    assert "no automation plan" in missing["message"]


async def test_bad_plans_are_tool_errors_naming_the_field(mcp: Client, sandbox: Sandbox) -> None:
    bad = error(
        await mcp.call_tool("experiment-plan-set", {"id": 2, "plan": {"stopping": {"alpha": 3}}})
    )
    assert "plan.stopping.alpha" in str(bad)
    wrong_variant = error(
        await mcp.call_tool(
            "experiment-plan-set",
            {"id": 2, "plan": {"end_plan": {"action": "ship_variant", "variant_key": "blue"}}},
        )
    )
    assert wrong_variant.get("field") == "end_plan.variant_key"


async def test_flow_runs_start_and_can_be_read(mcp: Client, sandbox: Sandbox) -> None:
    assert (
        "launch needs the experiment id"
        in error(await mcp.call_tool("experiment-flow-run", {"kind": "launch"}))["message"]
    )
    dry = data(
        await mcp.call_tool("experiment-flow-run", {"kind": "conclude", "id": 2, "dry_run": True})
    )
    assert dry["outcome"] == "dry_run"
    run = data(await mcp.call_tool("experiment-flow-run", {"kind": "conclude", "id": 2}))
    assert run["kind"] == "conclude"
    read = data(await mcp.call_tool("flow-run-get", {"flow_run_id": run["id"]}))
    assert read["id"] == run["id"]
    assert read["state"] in ("Scheduled", "Pending", "Late")
    assert (
        error(await mcp.call_tool("flow-run-get", {"flow_run_id": "nope"}))["field"]
        == "flow_run_id"
    )
