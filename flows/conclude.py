"""The conclusion flow: at the planned end, decide per the plan and end or ship exactly once."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from flows.retries import retry_if_transient
from flows.runtime import Runtime, runtime


@task(
    name="conclude",
    retries=3,
    retry_delay_seconds=[2, 10, 30],
    retry_condition_fn=retry_if_transient,
    cache_policy=NO_CACHE,
)
async def conclude(
    rt: Runtime, project_id: int, experiment_id: int, as_of: datetime | None, dry_run: bool
) -> dict[str, Any]:
    """Read the results, decide, act, and record the decision with its evidence."""
    conclusion = await rt.automation.conclude(
        experiment_id, project_id=project_id, as_of=as_of, dry_run=dry_run
    )
    return conclusion.as_dict()


@flow(name="conclude-experiment", log_prints=True)
async def conclude_experiment(
    project_id: int, experiment_id: int, as_of: datetime | None = None, dry_run: bool = False
) -> dict[str, Any]:
    """Conclude experiment ``experiment_id`` per its plan's end action (acts once)."""
    async with runtime() as rt:
        outcome = await conclude(rt, project_id, experiment_id, as_of, dry_run)
    decision = outcome["decision"]
    print(f"{decision['verdict']}: {decision['reason']}")
    return outcome
