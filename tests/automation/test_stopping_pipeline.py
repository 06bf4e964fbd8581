"""The sequential stopping rule end to end: simulated experiments, a daily monitor for 28 days.

sandbox (simulated traffic) → client → timeseries results → decision → lifecycle → sandbox. The
sandbox's clock moves a day at a time (no sleeping); every experiment's plan uses the sequential
rule with ship_winner. Under A/A the share shipped or ended won/lost must stay within α; with a
true effect of 2× the fixed-horizon MDE most experiments ship the right variant, early.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from adapters.posthog import PostHogClient
from lifecycle.automation import AutomationService
from lifecycle.service import LifecycleService
from sandbox.app import create_app
from tests.automation.memory import MemoryDecisionLog, MemoryPlanStore, MemoryScheduler
from tests.conftest import SANDBOX_KEY, sandbox_settings

pytestmark = pytest.mark.slow

DAYS = 28
PER_ARM_PER_DAY = 1000
RATE = 0.05
T0 = datetime(2026, 1, 5, 0, 0, tzinfo=UTC)
ALPHA = 0.05


def mde() -> float:
    """The fixed-horizon 80%-power MDE at 28 days (absolute difference of two proportions)."""
    n = DAYS * PER_ARM_PER_DAY
    return 2.8016 * math.sqrt(2 * RATE * (1 - RATE) / n)


@dataclass
class Pipeline:
    client: PostHogClient
    admin: httpx.AsyncClient
    automation: AutomationService
    log: MemoryDecisionLog


@pytest.fixture
async def pipeline() -> AsyncIterator[Pipeline]:
    app = create_app(sandbox_settings(seed=None, clock_start=T0, clock_frozen=True))
    transport = httpx.ASGITransport(app=app)
    async with (
        PostHogClient(
            api_key=SANDBOX_KEY,
            host="http://sandbox.test",
            project_id=1,
            transport=transport,
            rate_limit=False,
        ) as client,
        httpx.AsyncClient(
            transport=transport,
            base_url="http://sandbox.test/_sandbox",
            headers={"Authorization": f"Bearer {SANDBOX_KEY}"},
        ) as admin,
    ):
        log = MemoryDecisionLog()
        automation = AutomationService(
            client, LifecycleService(client), MemoryPlanStore(), MemoryScheduler(), log
        )
        yield Pipeline(client, admin, automation, log)


async def start_experiments(p: Pipeline, count: int, test_rate: float) -> list[int]:
    ids = []
    for index in range(count):
        created = await p.client.create_experiment(
            {
                "name": f"sim {index}",
                "feature_flag_key": f"sim-{index}",
                "metrics": [
                    {
                        "kind": "ExperimentMetric",
                        "metric_type": "funnel",
                        "goal": "increase",
                        "name": "conversion",
                        "series": [{"kind": "EventsNode", "event": "purchase_completed"}],
                    }
                ],
                "allow_unknown_events": True,
            }
        )
        uuid = created.primary_metrics[0]["uuid"]
        config = {
            "seed": 1000 + index,
            "exposures_per_day": PER_ARM_PER_DAY,
            "metrics": {uuid: {"control": {"rate": RATE}, "test": {"rate": test_rate}}},
        }
        (
            await p.admin.put(f"/projects/1/experiments/{created.id}/simulation", json=config)
        ).raise_for_status()
        await p.automation.lifecycle.apply(created.id, "launch", actor="test")
        plan = {
            "stopping": {"rule": "sequential", "alpha": ALPHA},
            "planned_sample": 2 * DAYS * PER_ARM_PER_DAY,
            "end_plan": {"action": "ship_winner"},
        }
        await p.automation.set_plan(created.id, plan, project_id=1, actor="test")
        ids.append(created.id)
    return ids


async def run_days(p: Pipeline) -> dict[int, tuple[int, str | None, str | None]]:
    """Sweep once a day; experiment id → (day it was stopped, action, conclusion)."""
    stopped: dict[int, tuple[int, str | None, str | None]] = {}
    for day in range(1, DAYS + 1):
        now = T0 + timedelta(days=day, minutes=5)
        (await p.admin.put("/clock", json={"set": now.isoformat()})).raise_for_status()
        report = await p.automation.monitor(project_id=1, as_of=now, actor="flow:monitor")
        for conclusion in report.conclusions:
            decision = conclusion.decision
            if (
                decision.action is not None
                and conclusion.result is not None
                and conclusion.result.changed
            ):
                stopped[decision.experiment_id] = (
                    day,
                    decision.arguments.get("variant_key"),
                    decision.conclusion,
                )
    return stopped


async def test_aa_experiments_stay_within_the_alpha_budget(pipeline: Pipeline) -> None:
    ids = await start_experiments(pipeline, 100, RATE)
    stopped = await run_days(pipeline)
    false_positives = [
        eid for eid, (_, _, conclusion) in stopped.items() if conclusion in ("won", "lost")
    ]
    print(
        f"\nA/A: {len(false_positives)} of {len(ids)} experiments shipped or ended won/lost in 28 daily looks"
    )
    assert len(false_positives) <= ALPHA * len(ids)
    looks = [d for d, _ in pipeline.log.decisions if d.trigger == "monitor"]
    assert len(looks) >= 25 * len(ids), "the monitor looked at every running experiment every day"
    held = [d for d in looks if d.evidence.get("held_by", "").startswith("minimum duration")]
    assert held, "no efficacy decision before the minimum duration"
    assert all(d.at < T0 + timedelta(days=7, minutes=6) for d in held)


async def test_a_true_effect_of_twice_the_mde_ships_the_winner_early(pipeline: Pipeline) -> None:
    ids = await start_experiments(pipeline, 40, RATE + 2 * mde())
    stopped = await run_days(pipeline)
    shipped = {
        eid: day
        for eid, (day, variant, conclusion) in stopped.items()
        if variant == "test" and conclusion == "won"
    }
    wrong = [eid for eid, (_, variant, _) in stopped.items() if variant != "test"]
    mean_day = sum(shipped.values()) / max(1, len(shipped))
    print(
        f"\n2× MDE: {len(shipped)} of {len(ids)} shipped 'test' (mean day {mean_day:.1f} of {DAYS}); wrong: {len(wrong)}"
    )
    assert len(shipped) >= 0.9 * len(ids)
    assert not wrong
    assert mean_day < 0.6 * DAYS
    assert min(shipped.values()) >= 7, "never before the minimum duration"
