"""The REST automation routes against the sandbox and the Prefect test server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from adapters.posthog import PostHogClient
from adapters.prefect.connection import check_prefect
from adapters.prefect.decisions import PrefectDecisionLog
from adapters.prefect.plans import PrefectPlanStore
from adapters.prefect.runs import PrefectScheduler
from adapters.rest.app import create_app
from adapters.rest.automation import automation_router
from adapters.rest.health import Probe
from adapters.security import TokenVerifier
from lifecycle.automation import AutomationService
from lifecycle.service import LifecycleService
from tests.conftest import SANDBOX_KEY
from tests.flows.conftest import Sandbox

pytestmark = pytest.mark.prefect
FULL, READONLY = "expctl_full_automation", "expctl_readonly_automation"
BASE = "/v1/api/projects/1/experiments"


@pytest.fixture
async def rest(sandbox: Sandbox) -> AsyncIterator[httpx.AsyncClient]:
    async with PostHogClient(
        api_key=SANDBOX_KEY, host=sandbox.url, project_id=1, rate_limit=False
    ) as client:
        lifecycle = LifecycleService(client)
        automation = AutomationService(
            client, lifecycle, PrefectPlanStore(), PrefectScheduler(), PrefectDecisionLog()
        )
        app = create_app(
            client=client,
            service=lifecycle,
            verifier=TokenVerifier(full_token=FULL, readonly_token=READONLY),
            probes=[Probe("prefect", check_prefect)],
            extra_routers=[automation_router(automation)],
        )
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://expctl.test"
        ) as http:
            yield http


def auth(token: str = FULL) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_schedule_put_get_delete(rest: httpx.AsyncClient, sandbox: Sandbox) -> None:
    plan = {
        "launch_at": (datetime.now(UTC) + timedelta(hours=3)).isoformat(),
        "end_after": "P14D",
        "end_plan": {"action": "ship_winner"},
    }
    dry = await rest.put(f"{BASE}/1/schedule?dry_run=true", json=plan, headers=auth(READONLY))
    assert dry.status_code == 200, dry.text
    assert dry.json()["dry_run"] is True
    refused = await rest.put(f"{BASE}/1/schedule", json=plan, headers=auth(READONLY))
    assert refused.status_code == 403
    put = await rest.put(f"{BASE}/1/schedule", json=plan, headers=auth())
    assert put.status_code == 200, put.text
    assert put.json()["set_by"] == "rest:api-token"
    assert [a["kind"] for a in put.json()["next_actions"]] == ["launch"]
    shown = await rest.get(f"{BASE}/1/schedule", headers=auth(READONLY))
    assert shown.status_code == 200
    assert shown.json()["next_actions"][0]["id"] == put.json()["next_actions"][0]["id"]
    deleted = await rest.delete(f"{BASE}/1/schedule", headers=auth())
    assert deleted.json()["status"] == "cancelled"
    missing = await rest.get(f"{BASE}/1/schedule", headers=auth())
    assert missing.status_code == 404
    assert missing.json()["code"] == "plan_not_found"


@pytest.mark.parametrize(
    ("plan", "attr"),
    [
        ({"stopping": {"alpha": 5}}, "stopping.alpha"),
        ({"end_plan": {"action": "ship_variant", "variant_key": "blue"}}, "end_plan.variant_key"),
        ({"launch_at": "2030-01-01T00:00:00Z"}, "launch_at"),
        ({"nonsense": True}, "nonsense"),
    ],
)
async def test_bad_plans_are_422_naming_the_field(
    rest: httpx.AsyncClient, sandbox: Sandbox, plan: dict[str, Any], attr: str
) -> None:
    response = await rest.put(f"{BASE}/2/schedule", json=plan, headers=auth())
    assert response.status_code == 422, response.text
    assert response.json()["attr"] == attr


async def test_evaluate_returns_the_decision_and_evidence(
    rest: httpx.AsyncClient, sandbox: Sandbox
) -> None:
    await sandbox.http.delete("/calls")
    response = await rest.get(f"{BASE}/2/evaluate", headers=auth(READONLY))
    assert response.status_code == 200, response.text
    decision = response.json()
    assert decision["trigger"] == "evaluate"
    variant = decision["evidence"]["sequential"]["variants"][0]
    assert {"estimate", "lower", "upper", "p_value", "treatment", "control"} <= set(variant)
    assert decision["evidence"]["srm"]["checked"] is True
    assert (await sandbox.calls())["applied"] == {}


async def test_flow_runs_start_and_read(rest: httpx.AsyncClient, sandbox: Sandbox) -> None:
    started = await rest.post(f"{BASE}/2/flow-runs", json={"kind": "conclude"}, headers=auth())
    assert started.status_code == 202, started.text
    run = started.json()
    read = await rest.get(f"/v1/flow-runs/{run['id']}", headers=auth(READONLY))
    assert read.json()["kind"] == "conclude"
    project = await rest.post(
        "/v1/api/projects/1/flow-runs", json={"kind": "monitor"}, headers=auth()
    )
    assert project.status_code == 202
    assert project.json()["kind"] == "monitor"
    dry = await rest.post(
        f"{BASE}/2/flow-runs?dry_run=true", json={"kind": "launch"}, headers=auth(READONLY)
    )
    assert dry.json() == {
        "dry_run": True,
        "would_start": {"kind": "launch", "project_id": 1, "experiment_id": 2},
    }
    bad = await rest.post(f"{BASE}/2/flow-runs", json={"kind": "explode"}, headers=auth())
    assert bad.status_code == 422
    assert bad.json()["attr"] == "kind"
    unknown = await rest.get("/v1/flow-runs/not-a-run", headers=auth())
    assert unknown.status_code == 422


async def test_readiness_includes_prefect(rest: httpx.AsyncClient, sandbox: Sandbox) -> None:
    ready = await rest.get("/readyz")
    assert ready.status_code == 200, ready.text
    assert "prefect" in ready.text
