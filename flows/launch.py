"""The launch flow: preflight, launch once, then freeze the plan's metrics and schedule its end."""

from __future__ import annotations

from typing import Any

from prefect import flow, task
from prefect.artifacts import acreate_markdown_artifact
from prefect.cache_policies import NO_CACHE

from flows.retries import retry_if_transient
from flows.runtime import Runtime, runtime
from lifecycle.actions import Action


@task(
    name="check-launch",
    retries=2,
    retry_delay_seconds=[2, 10],
    retry_condition_fn=retry_if_transient,
    cache_policy=NO_CACHE,
)
async def check_launch(rt: Runtime, project_id: int, experiment_id: int) -> dict[str, Any]:
    """The lifecycle's checks and the launch preflight, as a dry run: refusals fail the run here."""
    result = await rt.lifecycle.apply(
        experiment_id,
        Action.LAUNCH,
        project_id=project_id,
        dry_run=True,
        actor="flow:launch-experiment",
    )
    return result.as_dict()


@task(
    name="launch",
    retries=3,
    retry_delay_seconds=[2, 10, 30],
    retry_condition_fn=retry_if_transient,
    cache_policy=NO_CACHE,
)
async def launch(rt: Runtime, project_id: int, experiment_id: int) -> dict[str, Any]:
    """Launch (a no-op when already running) and schedule the planned end."""
    result = await rt.automation.launch(experiment_id, project_id=project_id)
    return result.as_dict()


@flow(name="launch-experiment", log_prints=True)
async def launch_experiment(
    project_id: int, experiment_id: int, dry_run: bool = False
) -> dict[str, Any]:
    """Launch experiment ``experiment_id`` of project ``project_id`` exactly once."""
    async with runtime() as rt:
        checked = await check_launch(rt, project_id, experiment_id)
        for warning in checked["warnings"]:
            print(f"warning: {warning}")
        if dry_run:
            print(checked["message"])
            return checked
        done = await launch(rt, project_id, experiment_id)
        plan = await rt.automation.store.load(project_id, experiment_id)
        end = plan.resolve_end() if plan else None
        await acreate_markdown_artifact(
            key=f"expctl-launch-{project_id}-{experiment_id}",
            description=f"launch of experiment {experiment_id}: {done['outcome']}",
            markdown="\n".join(
                [
                    f"# Launch of experiment {experiment_id} (project {project_id})",
                    "",
                    f"* outcome: **{done['outcome']}** ({done['message']})",
                    f"* status: {done['status_before']} → {done['status_after']}",
                    f"* started at: {done['experiment'].get('start_date')}",
                    f"* planned end: {end.isoformat() if end else 'none'}",
                    *[f"* warning: {w}" for w in done["warnings"]],
                ]
            ),
        )
        print(done["message"])
        return done
