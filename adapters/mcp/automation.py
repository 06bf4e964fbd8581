"""expctl's automation tools: plans, evaluation, flow runs, over the automation service.

``experiment-plan-set/show/cancel`` manage a plan (kept in Prefect), ``experiment-evaluate``
runs the monitor's rules now as a dry run and returns the decision with its evidence,
``experiment-flow-run`` starts a launch, conclude, recalculate or monitor run, and ``flow-run-get``
reads a run's state. They share the server's access checks and error translation.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, create_model

from adapters.mcp.arguments import (
    ID,
    PROJECT_ID,
    MutatingArguments,
    ToolArguments,
    experiment_arguments,
)
from adapters.mcp.tools import Invocation, ToolOutput, ToolSpec
from lifecycle.automation import AutomationService, RunKind
from lifecycle.errors import InvalidArgumentsError
from lifecycle.plan import AutomationPlan


def automation_tools(
    automation: AutomationService, *, default_project: int | None
) -> list[ToolSpec[Any]]:
    """The automation tools bound to one service."""

    def project_of(arguments: ToolArguments) -> int:
        project = getattr(arguments, PROJECT_ID, None) or default_project
        if project is None:
            raise InvalidArgumentsError(
                "project_id is required (POSTHOG_PROJECT_ID is not set)", field=PROJECT_ID
            )
        return int(project)

    experiment = experiment_arguments("ExperimentRef", default_project=default_project)
    ref: dict[str, Any] = {
        name: (experiment.model_fields[name].annotation, experiment.model_fields[name])
        for name in (PROJECT_ID, ID)
    }
    plan_fields: dict[str, Any] = {
        **ref,
        "plan": (
            AutomationPlan,
            Field(
                description="The automation plan: launch_at, end_at or end_after, end_plan, stopping, guardrails."
            ),
        ),
    }
    run_fields: dict[str, Any] = {
        PROJECT_ID: ref[PROJECT_ID],
        "kind": (
            RunKind,
            Field(description="Which flow to run now: launch, conclude, recalculate or monitor."),
        ),
        ID: (
            int | None,
            Field(
                default=None, ge=1, description="The experiment (required for launch and conclude)."
            ),
        ),
    }
    run_ref: dict[str, Any] = {
        "flow_run_id": (
            str,
            Field(min_length=1, description="The flow run id returned by experiment-flow-run."),
        ),
    }
    plan_set = create_model("PlanSetArguments", __base__=MutatingArguments, **plan_fields)
    plan_cancel = create_model("PlanCancelArguments", __base__=MutatingArguments, **ref)
    flow_run = create_model("FlowRunArguments", __base__=MutatingArguments, **run_fields)
    run_read = create_model("FlowRunRef", __base__=ToolArguments, **run_ref)

    async def set_plan(arguments: Any, call: Invocation) -> ToolOutput:
        view = await automation.set_plan(
            arguments.id,
            arguments.plan,
            project_id=project_of(arguments),
            actor=call.actor,
            dry_run=arguments.dry_run,
        )
        data = view.as_dict()
        verb = "would set" if arguments.dry_run else "set"
        when = (
            ", ".join(f"{r['kind']} at {r['scheduled_at']}" for r in data["next_actions"])
            or "nothing scheduled"
        )
        return ToolOutput(
            data, f"Plan v{data['version']} {verb} for experiment {arguments.id}: {when}."
        )

    async def show_plan(arguments: Any, call: Invocation) -> ToolOutput:
        view = await automation.show_plan(arguments.id, project_id=project_of(arguments))
        return ToolOutput(view.as_dict())

    async def cancel_plan(arguments: Any, call: Invocation) -> ToolOutput:
        view = await automation.cancel_plan(
            arguments.id,
            project_id=project_of(arguments),
            actor=call.actor,
            dry_run=arguments.dry_run,
        )
        verb = "would be cancelled" if arguments.dry_run else "cancelled"
        return ToolOutput(view.as_dict(), f"Plan of experiment {arguments.id} {verb}.")

    async def evaluate(arguments: Any, call: Invocation) -> ToolOutput:
        decision = await automation.evaluate(arguments.id, project_id=project_of(arguments))
        return ToolOutput(
            decision.as_dict(), f"{decision.verdict} ({decision.rule}): {decision.reason}"
        )

    async def start_run(arguments: Any, call: Invocation) -> ToolOutput:
        if arguments.kind in ("launch", "conclude") and arguments.id is None:
            raise InvalidArgumentsError(f"{arguments.kind} needs the experiment id", field="id")
        if arguments.dry_run:
            planned = {
                "kind": arguments.kind,
                "experiment_id": arguments.id,
                "project_id": project_of(arguments),
            }
            return ToolOutput(
                {"outcome": "dry_run", "would_start": planned},
                f"Dry run: would start a {arguments.kind} run.",
            )
        run = await automation.trigger(
            arguments.kind, arguments.id, project_id=project_of(arguments), actor=call.actor
        )
        data = run.model_dump(mode="json")
        return ToolOutput(
            data, f"{run.kind} run {run.id}: {run.state}" + (f" ({run.url})" if run.url else "")
        )

    async def read_run(arguments: Any, call: Invocation) -> ToolOutput:
        run = await automation.scheduler.read(arguments.flow_run_id)
        return ToolOutput(run.model_dump(mode="json"), f"{run.kind} run {run.id}: {run.state}")

    return [
        ToolSpec(
            name="experiment-plan-set",
            title="Set automation plan",
            description=(
                "Set (or replace) an experiment's automation plan: launch_at, end_at or end_after "
                "(counted from the real launch), end_plan (end, ship_winner with a fallback, "
                "ship_variant, or notify), stopping (rule 'sequential' ends early only on an "
                "always-valid test after min_duration, min exposures and conversions, and a "
                "healthy sample ratio) and guardrails (metric, bad direction, threshold, minimum "
                "exposures, action pause or ship_control). Replaces the scheduled runs it implies, "
                "never duplicates them. Returns the plan with its next scheduled actions."
            ),
            arguments=plan_set,
            handler=set_plan,
            read_only=False,
            idempotent=True,
        ),
        ToolSpec(
            name="experiment-plan-show",
            title="Show automation plan",
            description="Show an experiment's automation plan, its next scheduled actions and its last decisions.",
            arguments=experiment,
            handler=show_plan,
            read_only=True,
            idempotent=True,
        ),
        ToolSpec(
            name="experiment-plan-cancel",
            title="Cancel automation plan",
            description="Cancel an experiment's automation plan and its scheduled runs (recorded decisions stay).",
            arguments=plan_cancel,
            handler=cancel_plan,
            read_only=False,
            destructive=True,
            idempotent=True,
        ),
        ToolSpec(
            name="experiment-evaluate",
            title="Evaluate experiment now",
            description=(
                "Run the monitor's rules for one experiment now, as a dry run: guardrails, the "
                "sequential stopping rule and its guards, the sample-ratio check. Returns the "
                "decision (keep running, end, ship, pause, hold) with its evidence: per-variant "
                "exposures and means, the estimate, the confidence sequence, the always-valid "
                "p-value, N*, looks, and what held a decision back. Changes nothing."
            ),
            arguments=experiment,
            handler=evaluate,
            read_only=True,
            idempotent=True,
        ),
        ToolSpec(
            name="experiment-flow-run",
            title="Start a flow run",
            description=(
                "Start a Prefect flow run now: launch (exactly once) or conclude (per the plan's "
                "end action, exactly once) one experiment, recalculate timeseries, or sweep with "
                "the monitor. Returns the flow run id, its state and its Prefect UI link."
            ),
            arguments=flow_run,
            handler=start_run,
            read_only=False,
        ),
        ToolSpec(
            name="flow-run-get",
            title="Read a flow run",
            description="Read a Prefect flow run's state (Scheduled, Running, Completed, Failed...) and UI link.",
            arguments=run_read,
            handler=read_run,
            read_only=True,
            idempotent=True,
        ),
    ]
