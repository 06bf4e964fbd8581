"""The results chart: the primary metric's daily trajectory, drawn into the decision artifact."""

from __future__ import annotations

import base64
import re

import httpx

from adapters.posthog import PostHogClient
from adapters.prefect.charts import trajectory_svg
from adapters.prefect.decisions import render
from lifecycle import LifecycleService
from lifecycle.automation import AutomationService
from sandbox.app import create_app
from tests.automation.memory import MemoryDecisionLog, MemoryPlanStore, MemoryScheduler
from tests.conftest import SANDBOX_KEY, sandbox_settings


async def test_decisions_carry_the_daily_trajectory_and_the_artifact_draws_it() -> None:
    app = create_app(sandbox_settings())
    async with PostHogClient(
        api_key=SANDBOX_KEY,
        host="http://sandbox.test",
        project_id=1,
        transport=httpx.ASGITransport(app=app),
        rate_limit=False,
    ) as client:
        service = AutomationService(
            client,
            LifecycleService(client),
            MemoryPlanStore(),
            MemoryScheduler(),
            MemoryDecisionLog(),
        )
        decision = await service.evaluate(2, project_id=1)
    points = decision.evidence["trajectory"]
    assert len({p["day"] for p in points}) >= 14
    assert all(p["lower"] <= p["estimate"] <= p["upper"] for p in points)
    widths = [p["upper"] - p["lower"] for p in points]
    assert widths[-1] < widths[0], "the confidence sequence narrows as data accrues"
    markdown = render(decision, None)
    encoded = re.search(
        r"!\[results chart\]\(data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)\)", markdown
    )
    assert encoded is not None
    svg = base64.b64decode(encoded.group(1)).decode()
    assert svg.startswith("<svg")
    assert svg.count("<polyline") == 1
    assert "test" in svg


def test_an_empty_trajectory_draws_nothing() -> None:
    assert trajectory_svg([], title="x") == ""
