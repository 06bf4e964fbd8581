"""End to end, as a user would: REST, MCP, a scheduled launch and a ship_winner end, then SIGTERM."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from tests.e2e.conftest import ROOT, TOKEN, Stack, start_stack, wait_until_up

pytestmark = pytest.mark.e2e
AUTH = {"Authorization": f"Bearer {TOKEN}"}
SANDBOX_AUTH = {"Authorization": "Bearer phx_sandbox"}


async def poll(what: str, check: Any, within: float = 180.0) -> Any:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        value = await check()
        if value:
            return value
        await asyncio.sleep(1.0)
    raise AssertionError(f"timed out waiting for {what}")


async def test_a_scheduled_lifecycle_through_rest_and_mcp(stack: Stack) -> None:
    assert f"REST API       {stack.rest}/docs" in "".join(stack.output)
    async with httpx.AsyncClient(
        base_url=f"{stack.rest}/v1/api/projects/1", headers=AUTH, timeout=30
    ) as rest:
        listed = (await rest.get("/experiments")).json()
        assert listed["count"] >= 8
        draft = (await rest.get("/experiments/1")).json()
        assert draft["status"] == "draft"
        uuid = draft["metrics"][0]["uuid"]

    async with httpx.AsyncClient(
        base_url=f"{stack.sandbox}/_sandbox", headers=SANDBOX_AUTH
    ) as admin:
        winner = {
            "seed": 5,
            "exposures_per_day": 3000,
            "metrics": {uuid: {"control": {"rate": 0.10}, "test": {"rate": 0.16}}},
        }
        (await admin.put("/projects/1/experiments/1/simulation", json=winner)).raise_for_status()

        launch_at = datetime.now(UTC) + timedelta(seconds=8)
        plan = {
            "launch_at": launch_at.isoformat(),
            "end_after": "PT40S",
            "end_plan": {"action": "ship_winner"},
        }
        async with (
            httpx2.AsyncClient(headers=AUTH, timeout=60) as http,
            Client(streamable_http_client(stack.mcp, http_client=http)) as mcp,
        ):
            result = await mcp.call_tool("experiment-plan-set", {"id": 1, "plan": plan})
            assert not result.is_error, result.content
            assert result.structured_content is not None
            assert result.structured_content["next_actions"][0]["kind"] == "launch"

        async with httpx.AsyncClient(
            base_url=f"{stack.rest}/v1/api/projects/1", headers=AUTH, timeout=30
        ) as rest:

            async def launched() -> Any:
                body = (await rest.get("/experiments/1")).json()
                return body if body["status"] == "running" else None

            await poll("the scheduled launch", launched)
            # Time passes for the experiment's traffic (the sandbox clock), not for the test.
            (await admin.put("/clock", json={"advance_seconds": 14 * 86400})).raise_for_status()

            async def shipped() -> Any:
                body = (await rest.get("/experiments/1")).json()
                return body if body["status"] == "stopped" else None

            ended = await poll("the planned ship_winner end", shipped)
        assert ended["conclusion"] == "won"
        variants = ended["feature_flag"]["filters"]["multivariate"]["variants"]
        assert {v["key"]: v["rollout_percentage"] for v in variants} == {"control": 0, "test": 100}
        applied = (await admin.get("/calls")).json()["applied"]["1/1"]
        assert applied == {"launch": 1, "ship_variant": 1}

    async with httpx.AsyncClient(base_url=stack.prefect_api, timeout=30) as prefect:

        async def completed() -> Any:
            body = {"flow_runs": {"tags": {"all_": ["expctl-experiment-1-1"]}}}
            runs = (await prefect.post("/flow_runs/filter", json=body)).json()
            done = {
                tag for run in runs if run["state"]["type"] == "COMPLETED" for tag in run["tags"]
            }
            return {"expctl-launch", "expctl-conclude"} <= done

        await poll("the launch and conclude runs to complete", completed, within=60)
        artifacts = (
            await prefect.post(
                "/artifacts/filter", json={"artifacts": {"key": {"any_": ["expctl-decision-1-1"]}}}
            )
        ).json()
        assert any(a["metadata_"]["verdict"] == "ship" for a in artifacts)

        async def shipped_event() -> Any:
            body = {
                "filter": {
                    "event": {"name": ["expctl.experiment.shipped"]},
                    "any_resource": {"id": ["posthog.experiment.1.1"]},
                },
                "limit": 10,
            }
            response = await prefect.post("/events/filter", json=body)
            return response.json().get("events", []) if response.status_code == 200 else []

        events = await poll("the shipped event", shipped_event, within=60)
        assert events[0]["payload"]["action"] == "ship_variant"


def test_sigterm_stops_every_process(tmp_path: Any) -> None:
    stack = start_stack(tmp_path)
    try:
        wait_until_up(stack)
        code = stack.stop()
    finally:
        if stack.process.poll() is None:
            stack.process.kill()
    assert code == 0
    assert stack.process.stdout is not None
    assert "stopped." in "".join(stack.output) + stack.process.stdout.read()
    time.sleep(1)
    for url in (stack.rest, stack.mcp, stack.prefect_api, stack.sandbox):
        port = int(url.split(":")[2].split("/")[0])
        with socket.socket() as sock:
            assert sock.connect_ex(("127.0.0.1", port)) != 0, (
                f"port {port} still served after SIGTERM"
            )
    leftovers = subprocess.run(
        ["pgrep", "-f", str(stack.data)], capture_output=True, text=True
    ).stdout.split()
    assert leftovers == [], f"processes left running: {leftovers}"


def test_up_refuses_a_public_bind_without_a_token_and_a_busy_port(tmp_path: Any) -> None:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("POSTHOG_", "EXPCTL_", "PREFECT_"))
    }
    public = subprocess.run(
        [sys.executable, "-m", "adapters.cli", "up", "--data", str(tmp_path / "a"), "--host", "0.0.0.0"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert public.returncode == 2
    assert "without EXPCTL_API_TOKEN" in public.stderr
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        taken = subprocess.run(
            [sys.executable, "-m", "adapters.cli", "up", "--data", str(tmp_path / "b"), "--rest-port", str(port)],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    assert taken.returncode == 2
    assert f"REST port {port} already in use" in taken.stderr
    blocker = tmp_path / "a-file"  # a data folder inside a file cannot be created, even by root
    blocker.write_text("")
    unwritable = subprocess.run(
        [sys.executable, "-m", "adapters.cli", "up", "--data", str(blocker / "data")],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert unwritable.returncode == 2
    assert "not writable" in unwritable.stderr
