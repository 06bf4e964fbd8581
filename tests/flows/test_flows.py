"""The flows against the sandbox and a Prefect test server, with time injected (no sleeping for days)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from flows.conclude import conclude_experiment
from flows.launch import launch_experiment
from flows.monitor import monitor_experiments
from flows.recalculate import recalculate_timeseries
from flows.runtime import runtime
from lifecycle.automation import AutomationService, PlanView
from lifecycle.errors import InvalidArgumentsError, TransitionRefusedError
from tests.flows.conftest import Sandbox

pytestmark = pytest.mark.prefect

DRAFT, WINNER, AA, GUARDRAIL = 1, 2, 3, 4  # demo seed ids


def soon(**delta: float) -> str:
    return (datetime.now(UTC) + timedelta(**delta)).isoformat()


async def set_plan(experiment_id: int, plan: dict[str, Any]) -> PlanView:
    async with runtime() as rt:
        return await rt.automation.set_plan(experiment_id, plan, project_id=1, actor="test")


async def experiment(experiment_id: int) -> Any:
    async with runtime() as rt:
        return await rt.client.get_experiment(experiment_id, project_id=1)


async def automation_call(work: Any) -> Any:
    async with runtime() as rt:
        return await work(rt.automation)


async def primary_uuid(experiment_id: int) -> str:
    return str((await experiment(experiment_id)).primary_metrics[0]["uuid"])


async def test_scheduled_launch_creates_one_run_at_the_right_time_and_launches(
    sandbox: Sandbox,
) -> None:
    launch_at = datetime.now(UTC) + timedelta(hours=1)
    view = await set_plan(DRAFT, {"launch_at": launch_at.isoformat(), "end_after": "P14D"})
    (run,) = view.next_actions
    assert run.kind == "launch"
    assert run.state == "Scheduled"
    assert run.scheduled_at is not None
    assert abs((run.scheduled_at - launch_at).total_seconds()) < 1
    again = await set_plan(DRAFT, {"launch_at": launch_at.isoformat(), "end_after": "P14D"})
    pending = await automation_call(lambda a: a.scheduler.pending(1, DRAFT))
    assert [r.id for r in pending] == [again.next_actions[0].id], (
        "setting a plan again must not duplicate runs"
    )

    done = await launch_experiment(project_id=1, experiment_id=DRAFT)
    assert done["outcome"] == "applied"
    assert done["status_after"] == "running"
    launched = await experiment(DRAFT)
    assert launched.start_date is not None
    view = await automation_call(lambda a: a.show_plan(DRAFT, project_id=1))
    # end_after resolves from the real start date, and the end is scheduled exactly once.
    assert view.record.resolve_end() == launched.start_date + timedelta(days=14)
    assert [(r.kind, r.scheduled_at) for r in view.next_actions] == [
        ("conclude", launched.start_date + timedelta(days=14))
    ]
    assert [m.role for m in view.record.metrics] == ["primary"]

    rerun = await launch_experiment(project_id=1, experiment_id=DRAFT)
    assert rerun["outcome"] == "unchanged"
    assert await sandbox.applied(DRAFT) == {"launch": 1}
    view = await automation_call(lambda a: a.show_plan(DRAFT, project_id=1))
    assert [r.kind for r in view.next_actions] == ["conclude"]


async def test_plan_change_replaces_the_runs_it_implies(sandbox: Sandbox) -> None:
    first = await set_plan(DRAFT, {"launch_at": soon(hours=1)})
    later = datetime.now(UTC) + timedelta(hours=5)
    second = await set_plan(DRAFT, {"launch_at": later.isoformat()})
    pending = await automation_call(lambda a: a.scheduler.pending(1, DRAFT))
    assert [r.id for r in pending] == [second.next_actions[0].id]
    assert pending[0].scheduled_at is not None
    assert abs((pending[0].scheduled_at - later).total_seconds()) < 1
    cancelled = await automation_call(lambda a: a.scheduler.read(first.next_actions[0].id))
    assert cancelled.state == "Cancelled"
    assert second.record.version == first.record.version + 1
    await automation_call(lambda a: a.cancel_plan(DRAFT, project_id=1, actor="test"))
    assert await automation_call(lambda a: a.scheduler.pending(1, DRAFT)) == []


@pytest.mark.parametrize(
    ("experiment_id", "end_plan", "expected_status", "conclusion", "shipped"),
    [
        (WINNER, {"action": "end"}, "stopped", "won", None),
        (WINNER, {"action": "ship_winner"}, "stopped", "won", "test"),
        (AA, {"action": "end"}, "stopped", "inconclusive", None),
        (AA, {"action": "ship_winner"}, "stopped", "inconclusive", None),
        (
            AA,
            {"action": "ship_winner", "fallback": "ship_control"},
            "stopped",
            "inconclusive",
            "control",
        ),
        (AA, {"action": "ship_variant", "variant_key": "test"}, "stopped", "inconclusive", "test"),
        (WINNER, {"action": "notify"}, "running", None, None),
    ],
)
async def test_conclude_per_end_plan(
    sandbox: Sandbox,
    experiment_id: int,
    end_plan: dict[str, Any],
    expected_status: str,
    conclusion: str | None,
    shipped: str | None,
) -> None:
    await set_plan(experiment_id, {"end_at": soon(days=1), "end_plan": end_plan})
    outcome = await conclude_experiment(project_id=1, experiment_id=experiment_id)
    after = await experiment(experiment_id)
    assert after.status == expected_status, outcome["decision"]["reason"]
    assert after.conclusion == conclusion
    if conclusion is not None:
        assert "expctl (planned_end" in (after.conclusion_comment or "")
        assert "fixed horizon" in (after.conclusion_comment or "")
    assert after.feature_flag is not None
    assert after.feature_flag.shipped_variant() == shipped
    again = await conclude_experiment(project_id=1, experiment_id=experiment_id)
    assert again["decision"]["action"] is None or again["result"]["outcome"] == "unchanged"
    applied = await sandbox.applied(experiment_id)
    assert sum(applied.get(k, 0) for k in ("end", "ship_variant")) == (
        0 if end_plan["action"] == "notify" else 1
    )
    view = await automation_call(lambda a: a.show_plan(experiment_id, project_id=1))
    assert view.decisions, "every decision is recorded"
    assert view.decisions[-1]["trigger"] == "planned_end"


async def test_conclude_ends_lost_when_the_variant_is_worse(sandbox: Sandbox) -> None:
    uuid = await primary_uuid(AA)
    await sandbox.simulate(
        AA,
        {
            "seed": 3,
            "exposures_per_day": 1500,
            "metrics": {uuid: {"control": {"rate": 0.12}, "test": {"rate": 0.08}}},
        },
    )
    await set_plan(
        AA,
        {"end_at": soon(days=1), "end_plan": {"action": "ship_winner", "fallback": "ship_control"}},
    )
    outcome = await conclude_experiment(project_id=1, experiment_id=AA)
    after = await experiment(AA)
    assert after.conclusion == "lost", outcome["decision"]["reason"]
    assert after.feature_flag is not None
    assert after.feature_flag.shipped_variant() == "control"


async def test_guardrail_pauses_only_after_minimum_exposures(sandbox: Sandbox) -> None:
    seen = await experiment(GUARDRAIL)
    revenue = next(m["uuid"] for m in seen.secondary_metrics)
    guardrail = {
        "metric_uuid": revenue,
        "bad_direction": "decrease",
        "min_exposures_per_variant": 10**9,
    }
    await set_plan(GUARDRAIL, {"end_at": soon(days=10), "guardrails": [guardrail]})
    held = await monitor_experiments(project_id=1)
    (entry,) = [d for d in held["decisions"] if d["decision"]["experiment_id"] == GUARDRAIL]
    assert entry["decision"]["verdict"] == "keep_running"
    assert "waiting for 1000000000 exposures" in str(entry["decision"]["evidence"]["guardrails"])
    assert (await experiment(GUARDRAIL)).status == "running"

    await set_plan(
        GUARDRAIL,
        {"end_at": soon(days=10), "guardrails": [{**guardrail, "min_exposures_per_variant": 100}]},
    )
    tripped = await monitor_experiments(project_id=1)
    (entry,) = [d for d in tripped["decisions"] if d["decision"]["experiment_id"] == GUARDRAIL]
    assert entry["decision"]["verdict"] == "pause"
    assert entry["decision"]["rule"] == "guardrail"
    assert "expctl.experiment.guardrail_tripped" in entry["decision"]["events"]
    assert (await experiment(GUARDRAIL)).status == "paused"
    again = await monitor_experiments(project_id=1)
    assert GUARDRAIL not in [d["decision"]["experiment_id"] for d in again["decisions"]]
    assert await sandbox.applied(GUARDRAIL) == {"pause": 1}


async def test_guardrail_can_ship_control(sandbox: Sandbox) -> None:
    seen = await experiment(GUARDRAIL)
    revenue = next(m["uuid"] for m in seen.secondary_metrics)
    await set_plan(
        GUARDRAIL,
        {
            "guardrails": [
                {"metric_uuid": revenue, "bad_direction": "decrease", "action": "ship_control"}
            ]
        },
    )
    await monitor_experiments(project_id=1)
    after = await experiment(GUARDRAIL)
    assert after.status == "stopped"
    assert after.conclusion == "stopped_early"
    assert after.feature_flag is not None
    assert after.feature_flag.shipped_variant() == "control"
    assert "guardrail" in (after.conclusion_comment or "")


async def test_monitor_dry_run_changes_nothing(sandbox: Sandbox) -> None:
    seen = await experiment(GUARDRAIL)
    revenue = next(m["uuid"] for m in seen.secondary_metrics)
    await set_plan(
        GUARDRAIL, {"guardrails": [{"metric_uuid": revenue, "bad_direction": "decrease"}]}
    )
    await sandbox.http.delete("/calls")
    report = await monitor_experiments(project_id=1, dry_run=True)
    (entry,) = report["decisions"]
    assert entry["decision"]["verdict"] == "pause"
    assert entry["result"] is None
    assert (await experiment(GUARDRAIL)).status == "running"
    calls = await sandbox.calls()
    assert calls["applied"] == {}
    assert set(calls["by_operation"]) <= {
        "experiments_list",
        "experiments_retrieve",
        "experiments_timeseries_results_retrieve",
    }


async def test_monitor_reads_lists_in_pages_and_only_the_metrics_plans_need(
    sandbox: Sandbox,
) -> None:
    for experiment_id in (WINNER, AA):
        await set_plan(experiment_id, {"end_at": soon(days=20)})
    await monitor_experiments(
        project_id=1
    )  # the first look freezes the metrics of plans set while running
    await sandbox.http.delete("/calls")
    await monitor_experiments(project_id=1)
    calls = (await sandbox.calls())["by_operation"]
    assert calls["experiments_list"]["count"] == 1
    assert calls["experiments_timeseries_results_retrieve"]["count"] == 2
    assert "experiments_retrieve" not in calls


async def test_retry_after_a_dropped_answer_ships_once(sandbox: Sandbox) -> None:
    await set_plan(WINNER, {"end_at": soon(days=1), "end_plan": {"action": "ship_winner"}})
    await sandbox.faults({"kind": "drop_after_commit", "path_regex": "/ship_variant/$", "count": 1})
    outcome = await conclude_experiment(project_id=1, experiment_id=WINNER)
    assert outcome["result"]["outcome"] == "applied"
    assert await sandbox.applied(WINNER) == {"ship_variant": 1}
    assert (await sandbox.calls())["by_operation"]["experiments_ship_variant_create"]["count"] == 1


async def test_launch_flow_fails_fast_on_a_refusal(sandbox: Sandbox) -> None:
    with pytest.raises(TransitionRefusedError, match="variant with key 'control'"):
        await launch_experiment(project_id=1, experiment_id=9)
    assert (await sandbox.calls())["applied"] == {}


@pytest.mark.parametrize(
    ("plan", "field"),
    [
        ({"stopping": {"alpha": 2}}, "stopping.alpha"),
        ({"end_plan": {"action": "ship_variant"}}, "end_plan"),
        ({"end_plan": {"action": "ship_variant", "variant_key": "purple"}}, "end_plan.variant_key"),
        ({"end_at": "2030-01-01T00:00:00Z", "end_after": "P1D"}, None),
        ({"launch_at": "2030-01-01T00:00:00Z"}, "launch_at"),
        (
            {"guardrails": [{"metric_uuid": "nope", "bad_direction": "increase"}]},
            "guardrails.0.metric_uuid",
        ),
        (
            {"guardrails": [{"metric_uuid": "x", "bad_direction": "sideways"}]},
            "guardrails.0.bad_direction",
        ),
        ({"end_after": "soon"}, "end_after"),
        ({"colour": "red"}, "colour"),
    ],
)
async def test_bad_plans_are_refused_with_the_field_named(
    sandbox: Sandbox, plan: dict[str, Any], field: str | None
) -> None:
    with pytest.raises(InvalidArgumentsError) as raised:
        await set_plan(WINNER, plan)
    assert raised.value.field == field
    assert await automation_call(lambda a: a.scheduler.pending(1, WINNER)) == []


async def test_recalculation_waits_for_every_metric(sandbox: Sandbox) -> None:
    report = await recalculate_timeseries(project_id=1, experiment_ids=[WINNER, DRAFT], max_wait=30)
    statuses = {(r["experiment_id"], r["status"]) for r in report}
    assert statuses == {(WINNER, "completed"), (DRAFT, "skipped")}
    assert len([r for r in report if r["experiment_id"] == WINNER]) == len(
        (await experiment(WINNER)).primary_metrics + (await experiment(WINNER)).secondary_metrics
    )


async def test_a_real_runner_picks_up_a_run_scheduled_seconds_ahead(sandbox: Sandbox) -> None:
    from prefect.runner import Runner

    from deployments.serve import runner_deployments

    await set_plan(DRAFT, {"launch_at": soon(seconds=3)})
    runner = Runner(query_seconds=1, prefetch_seconds=1)
    for deployment in await runner_deployments():
        if deployment.name == "launch-experiment":
            await runner.aadd_deployment(deployment)
    task = asyncio.create_task(runner.start())
    try:
        for _ in range(120):
            if (await experiment(DRAFT)).start_date is not None:
                break
            await asyncio.sleep(1)
    finally:
        await runner.astop()
        task.cancel()
    assert (await experiment(DRAFT)).status == "running"
    assert await sandbox.applied(DRAFT) == {"launch": 1}


def test_automation_service_is_what_flows_run() -> None:
    assert AutomationService.launch.__doc__
    assert launch_experiment.name == "launch-experiment"


async def test_transient_failures_retry_the_task_and_still_act_once(sandbox: Sandbox) -> None:
    await set_plan(WINNER, {"end_at": soon(days=1), "end_plan": {"action": "ship_winner"}})
    await sandbox.faults(
        {"kind": "error", "status": 503, "path_regex": "/ship_variant/$", "count": 3}
    )
    outcome = await conclude_experiment(project_id=1, experiment_id=WINNER)
    assert outcome["result"]["outcome"] == "applied"
    assert await sandbox.applied(WINNER) == {"ship_variant": 1}
    assert (await sandbox.calls())["by_operation"]["experiments_ship_variant_create"]["count"] == 4


def test_retry_condition_retries_only_transient_failures() -> None:
    from prefect.states import Failed

    from adapters.posthog.errors import BadRequestError, PostHogTimeoutError, RateLimitedError
    from flows.retries import retry_if_transient

    def verdict(error: Exception) -> bool:
        return retry_if_transient(None, None, Failed(data=error))

    assert verdict(PostHogTimeoutError("slow"))
    assert verdict(RateLimitedError(429, detail="throttled", retry_after=3))
    assert not verdict(BadRequestError(400, detail="Experiment has already been launched."))
    assert not verdict(TransitionRefusedError("no", action="launch", status="running"))


async def test_flows_share_posthogs_budget_through_a_prefect_limit(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    from prefect.client.orchestration import get_client

    monkeypatch.setenv("EXPCTL_SHARED_RATE_LIMIT", "prefect")
    done = await launch_experiment(project_id=1, experiment_id=DRAFT)
    assert done["outcome"] == "applied"
    async with get_client() as client:
        limit = await client.read_global_concurrency_limit_by_name("posthog-api")
    assert limit.slot_decay_per_second > 0
    # Any window of a minute admits at most capacity + refill·60 ≤ 480 requests.
    assert limit.limit + limit.slot_decay_per_second * 60 <= 480
    assert limit.limit + limit.slot_decay_per_second * 3600 <= 4800
