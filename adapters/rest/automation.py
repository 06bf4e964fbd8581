"""expctl's automation routes: plans, evaluation and flow runs, beside the capability's /v1 routes.

=======  =====================================================================  =====================
PUT      /v1/api/projects/{project_id}/experiments/{id}/schedule                set or replace a plan
GET      /v1/api/projects/{project_id}/experiments/{id}/schedule                the plan, next actions,
                                                                                last decisions
DELETE   /v1/api/projects/{project_id}/experiments/{id}/schedule                cancel the plan
GET      /v1/api/projects/{project_id}/experiments/{id}/evaluate                the monitor's decision
                                                                                now, as a dry run
POST     /v1/api/projects/{project_id}/experiments/{id}/flow-runs               start launch, conclude
                                                                                or recalculate now
POST     /v1/api/projects/{project_id}/flow-runs                                start monitor or
                                                                                recalculate (project)
GET      /v1/flow-runs/{flow_run_id}                                            a run's state and link
=======  =====================================================================  =====================

Writes accept ``?dry_run=true`` and are open to read-only tokens only as dry runs.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body
from pydantic import BaseModel, ConfigDict, Field

from adapters.rest.dependencies import CallerDep, MutationDep
from lifecycle.automation import AutomationService
from lifecycle.plan import AutomationPlan

EXPERIMENT = "/v1/api/projects/{project_id}/experiments/{id}"

PLAN_EXAMPLE: dict[str, Any] = {
    "launch_at": "2026-12-01T09:00:00Z",
    "end_after": "P14D",
    "end_plan": {"action": "ship_winner", "fallback": "end_inconclusive"},
    "stopping": {"rule": "sequential", "alpha": 0.05, "min_duration": "P7D"},
    "guardrails": [
        {
            "metric_uuid": "<metric uuid>",
            "bad_direction": "decrease",
            "threshold": 0.02,
            "action": "pause",
        }
    ],
}


class ExperimentRun(BaseModel):
    """Which flow to run now for one experiment."""

    model_config = ConfigDict(extra="forbid")
    kind: Literal["launch", "conclude", "recalculate"] = Field(
        description="launch (once), conclude (per the plan's end action, once) or recalculate timeseries."
    )


class ProjectRun(BaseModel):
    """Which flow to run now for a whole project."""

    model_config = ConfigDict(extra="forbid")
    kind: Literal["monitor", "recalculate"] = Field(
        description="monitor (one sweep over planned experiments) or recalculate (every running experiment)."
    )


def automation_router(automation: AutomationService) -> APIRouter:
    """The automation routes over ``automation``."""
    router = APIRouter(tags=["automation"])

    @router.put(EXPERIMENT + "/schedule", summary="Set or replace an experiment's automation plan")
    async def put_schedule(
        project_id: int,
        id: int,
        mutation: MutationDep,
        plan: Annotated[
            AutomationPlan,
            Body(openapi_examples={"scheduled launch, sequential end": {"value": PLAN_EXAMPLE}}),
        ],
    ) -> dict[str, Any]:
        """Store the plan and replace the runs it implies (a launch at ``launch_at``, the end at
        ``end_at`` or ``end_after`` the real launch), never duplicating them. Returns the plan with
        its next scheduled actions."""
        view = await automation.set_plan(
            id,
            plan,
            project_id=project_id,
            actor=f"rest:{mutation.caller.name}",
            dry_run=mutation.dry_run,
        )
        return view.as_dict()

    @router.get(EXPERIMENT + "/schedule", summary="Show an experiment's automation plan")
    async def get_schedule(project_id: int, id: int, caller: CallerDep) -> dict[str, Any]:
        """The plan, its next scheduled actions (live from Prefect) and its last decisions."""
        return (await automation.show_plan(id, project_id=project_id)).as_dict()

    @router.delete(EXPERIMENT + "/schedule", summary="Cancel an experiment's automation plan")
    async def delete_schedule(project_id: int, id: int, mutation: MutationDep) -> dict[str, Any]:
        """Cancel the plan's scheduled runs and forget it; its recorded decisions stay."""
        view = await automation.cancel_plan(
            id,
            project_id=project_id,
            actor=f"rest:{mutation.caller.name}",
            dry_run=mutation.dry_run,
        )
        return view.as_dict()

    @router.get(EXPERIMENT + "/evaluate", summary="Evaluate an experiment now (dry run)")
    async def evaluate(project_id: int, id: int, caller: CallerDep) -> dict[str, Any]:
        """Run the monitor's rules for this experiment now and return the decision with its
        evidence (per-variant exposures and means, estimate, confidence sequence, always-valid
        p-value, N*, looks, sample-ratio check, what held a decision back). Changes nothing."""
        return (await automation.evaluate(id, project_id=project_id)).as_dict()

    @router.post(
        EXPERIMENT + "/flow-runs", status_code=202, summary="Start a flow run for an experiment"
    )
    async def start_experiment_run(
        project_id: int, id: int, run: ExperimentRun, mutation: MutationDep
    ) -> dict[str, Any]:
        """Start a launch, conclude or recalculate run now; returns its id, state and UI link."""
        if mutation.dry_run:
            await automation.lifecycle.snapshot(id, project_id=project_id)
            return {
                "dry_run": True,
                "would_start": {"kind": run.kind, "project_id": project_id, "experiment_id": id},
            }
        started = await automation.trigger(
            run.kind, id, project_id=project_id, actor=f"rest:{mutation.caller.name}"
        )
        return started.model_dump(mode="json")

    @router.post(
        "/v1/api/projects/{project_id}/flow-runs",
        status_code=202,
        summary="Start a monitor or recalculation run",
    )
    async def start_project_run(
        project_id: int, run: ProjectRun, mutation: MutationDep
    ) -> dict[str, Any]:
        """Start a monitor sweep or a recalculation of every running experiment now."""
        if mutation.dry_run:
            return {"dry_run": True, "would_start": {"kind": run.kind, "project_id": project_id}}
        started = await automation.trigger(
            run.kind, None, project_id=project_id, actor=f"rest:{mutation.caller.name}"
        )
        return started.model_dump(mode="json")

    @router.get("/v1/flow-runs/{flow_run_id}", summary="Read a flow run's state")
    async def read_run(flow_run_id: str, caller: CallerDep) -> dict[str, Any]:
        """The run's kind, state (Scheduled, Running, Completed, Failed...), time and UI link."""
        return (await automation.scheduler.read(flow_run_id)).model_dump(mode="json")

    return router
