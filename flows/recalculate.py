"""The recalculation flow: recompute every metric's daily results and wait for them, per experiment."""

from __future__ import annotations

from typing import Any

from prefect import flow, task
from prefect.artifacts import acreate_markdown_artifact
from prefect.cache_policies import NO_CACHE

from flows.retries import retry_if_transient
from flows.runtime import Runtime, runtime


@task(
    name="recalculate-experiment",
    retries=2,
    retry_delay_seconds=[5, 30],
    retry_condition_fn=retry_if_transient,
    cache_policy=NO_CACHE,
)
async def recalculate_experiment(
    rt: Runtime, project_id: int, experiment_id: int, max_wait: float
) -> list[dict[str, Any]]:
    """POST recalculate_timeseries for each metric, then poll its results until done (bounded)."""
    outcomes = await rt.automation.recalculate(
        [experiment_id], project_id=project_id, max_wait=max_wait
    )
    return [o.as_dict() for o in outcomes]


@flow(name="recalculate-timeseries", log_prints=True)
async def recalculate_timeseries(
    project_id: int | None = None, experiment_ids: list[int] | None = None, max_wait: float = 300.0
) -> list[dict[str, Any]]:
    """Recalculate the given experiments (default: every running one) and report per metric.

    ``project_id`` defaults to the configured project (POSTHOG_PROJECT_ID; 1 for the sandbox).
    """
    async with runtime() as rt:
        if project_id is None:
            project_id = rt.client.project_id
        if project_id is None:
            raise ValueError("project_id is required: pass it or set POSTHOG_PROJECT_ID")
        ids = experiment_ids
        if ids is None:
            ids = [
                e.id
                async for e in rt.client.iter_experiments(
                    {"status": "running"}, project_id=project_id
                )
            ]
        report: list[dict[str, Any]] = []
        for experiment_id in ids:
            report += await recalculate_experiment(rt, project_id, experiment_id, max_wait)
    await acreate_markdown_artifact(
        key=f"expctl-recalculation-{project_id}",
        description=f"timeseries recalculation of {len(ids)} experiments",
        markdown="\n".join(
            ["| experiment | metric | status | detail |", "|---|---|---|---|"]
            + [
                f"| {r['experiment_id']} | {r['metric_uuid']} | {r['status']} | {r['detail']} |"
                for r in report
            ]
        ),
    )
    print(f"recalculated {len(report)} metrics of {len(ids)} experiments")
    return report
