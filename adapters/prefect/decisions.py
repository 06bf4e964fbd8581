"""Decisions and lifecycle actions recorded in Prefect: markdown artifacts and events.

Every decision becomes a markdown artifact (key ``expctl-decision-<project>-<experiment>``, so the
Prefect UI shows its history) with a table of the evidence, and emits Prefect events on the
resource ``posthog.experiment.<project>.<experiment>``, so users attach Prefect Automations
(Slack, webhooks) without code. Lifecycle actions applied by flows emit their own events
(``expctl.experiment.launched``, ``.ended``, ``.shipped``, ``.paused``...).
"""

from __future__ import annotations

from typing import Any

from prefect.client.schemas.actions import ArtifactCreate
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
from prefect.client.schemas.sorting import ArtifactSort
from prefect.events import emit_event
from prefect.runtime import flow_run as current_run

from adapters.prefect.charts import data_uri, trajectory_svg
from adapters.prefect.connection import prefect_api
from lifecycle.decision import EVENT_PREFIX, Decision
from lifecycle.service import ActionRecord, ActionResult, Outcome

ACTION_EVENTS = {
    "launch": "launched",
    "pause": "paused",
    "resume": "resumed",
    "end": "ended",
    "ship_variant": "shipped",
    "archive": "archived",
    "unarchive": "unarchived",
    "reset": "reset",
    "update": "updated",
    "delete": "deleted",
    "restore": "restored",
}


def decision_key(project_id: int, experiment_id: int) -> str:
    return f"expctl-decision-{project_id}-{experiment_id}"


def resource(project_id: int | None, experiment_id: int, name: str | None = None) -> dict[str, str]:
    """The Prefect event resource of one PostHog experiment."""
    return {
        "prefect.resource.id": f"posthog.experiment.{project_id}.{experiment_id}",
        "prefect.resource.name": name or f"experiment {experiment_id}",
        "posthog.project.id": str(project_id),
        "posthog.experiment.id": str(experiment_id),
    }


class PrefectDecisionLog:
    """:class:`lifecycle.automation.DecisionLog` on Prefect artifacts and events."""

    async def record(self, decision: Decision, result: ActionResult | None) -> None:
        markdown = render(decision, result)
        metadata = {
            "at": decision.at.isoformat(),
            "trigger": decision.trigger,
            "verdict": decision.verdict,
            "rule": decision.rule,
            "reason": decision.reason[:1000],
            "action": decision.action.value if decision.action else "",
            "conclusion": decision.conclusion or "",
            "outcome": result.outcome.value if result else "",
        }
        run_id = current_run.id
        async with prefect_api() as client:
            await client.create_artifact(
                ArtifactCreate(
                    key=decision_key(decision.project_id, decision.experiment_id),
                    type="markdown",
                    description=f"expctl decision for experiment {decision.experiment_id}: {decision.verdict}",
                    data=markdown,
                    metadata_=metadata,
                    flow_run_id=run_id,
                )
            )
        payload = decision.as_dict()
        if result is not None:
            payload["outcome"] = result.outcome.value
        for name in decision.events:
            emit_event(
                event=name,
                resource=resource(
                    decision.project_id, decision.experiment_id, decision.experiment_name
                ),
                payload=payload,
            )

    async def recent(
        self, project_id: int, experiment_id: int, *, limit: int = 5
    ) -> list[dict[str, Any]]:
        async with prefect_api() as client:
            artifacts = await client.read_artifacts(
                artifact_filter=ArtifactFilter(
                    key=ArtifactFilterKey(any_=[decision_key(project_id, experiment_id)])
                ),
                sort=ArtifactSort.CREATED_DESC,
                limit=limit,
            )
        return [
            {
                **(artifact.metadata_ or {}),
                "artifact_id": str(artifact.id),
                "flow_run_id": str(artifact.flow_run_id) if artifact.flow_run_id else None,
            }
            for artifact in artifacts
        ]


def emit_action(record: ActionRecord) -> None:
    """The event of a lifecycle action applied by a flow (a record hook for the service)."""
    if record.outcome is not Outcome.APPLIED:
        return
    name = ACTION_EVENTS.get(record.action, record.action)
    emit_event(
        event=EVENT_PREFIX + name,
        resource=resource(record.project_id, record.experiment_id),
        payload=record.as_dict(),
    )


def render(decision: Decision, result: ActionResult | None) -> str:
    """The artifact's markdown: what was decided, why, and the evidence as tables."""
    lines = [
        f"# {decision.experiment_name or 'Experiment'} (#{decision.experiment_id}): {decision.verdict.replace('_', ' ')}",
        "",
        f"**Decision** ({decision.trigger}, rule `{decision.rule}`): {decision.reason}",
        "",
    ]
    if decision.action is not None:
        args = ", ".join(
            f"{k}={v}" for k, v in decision.arguments.items() if k != "conclusion_comment"
        )
        done = f" → **{result.outcome.value}**: {result.message}" if result else " (dry run)"
        lines += [f"**Action**: `{decision.action.value}` ({args}){done}", ""]
    points = decision.evidence.get("trajectory")
    if isinstance(points, list) and points:
        svg = trajectory_svg(
            points, title=f"{decision.experiment_name}: primary metric, day by day"
        )
        if svg:
            lines += [f"![results chart]({data_uri(svg)})", ""]
    sequential = decision.evidence.get("sequential")
    if isinstance(sequential, dict):
        lines += [
            f"## Primary metric: always-valid test (α {sequential['alpha']:g}, N* {sequential['tuning_n']:g}, "
            f"look {decision.evidence.get('looks', '?')}, {sequential['mode']})",
            "",
            "| variant | n | mean | control n | control mean | Δ (abs) | confidence sequence | lift | always-valid p | significant |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        for v in sequential["variants"]:
            lines.append(
                f"| {v['key']} | {v['treatment']['n']} | {_f(v['treatment']['mean'])} | {v['control']['n']} | "
                f"{_f(v['control']['mean'])} | {_f(v['estimate'], '+')} | [{_f(v['lower'], '+')}, {_f(v['upper'], '+')}] | "
                f"{_pct(v['relative_lift'])} | {_f(v['p_value'])} | {'yes' if v['significant'] else 'no'} |"
            )
        lines += ["", f"Verdict: **{sequential['verdict']}** ({sequential['verdict_reason']})", ""]
    fixed = decision.evidence.get("fixed_horizon")
    if isinstance(fixed, dict):
        lines += [
            "## Primary metric: fixed-horizon test at the planned end",
            "",
            "| variant | n | Δ (abs) | interval | p | significant |",
            "|---|---|---|---|---|---|",
        ]
        for key, v in fixed["variants"].items():
            lines.append(
                f"| {key} | {v.get('n', '–')} | {_f(v.get('estimate'), '+')} | [{_f(v.get('lower'), '+')}, {_f(v.get('upper'), '+')}] | "
                f"{_f(v.get('p_value'))} | {'yes' if v.get('significant') else 'no'} |"
            )
        lines.append("")
    guardrails = decision.evidence.get("guardrails")
    if isinstance(guardrails, dict) and guardrails:
        lines += [
            "## Guardrails",
            "",
            "| metric | variant | harmful | bound | threshold | p | tripped |",
            "|---|---|---|---|---|---|---|",
        ]
        for uuid, entry in guardrails.items():
            if "held" in entry:
                lines.append(
                    f"| {uuid} | – | {entry['bad_direction']} | – | – | – | held: {entry['held']} |"
                )
            for key, v in entry.get("variants", {}).items():
                lines.append(
                    f"| {uuid} | {key} | {v['harmful']} | {_f(v['bound'], '+')} | {_f(v['threshold'], '+')} | "
                    f"{_f(v['p_value'])} | {'**yes**' if v['tripped'] else 'no'} |"
                )
        lines.append("")
    srm = decision.evidence.get("srm")
    if isinstance(srm, dict):
        counts = ", ".join(f"{k}: {n}" for k, n in (srm.get("counts") or {}).items())
        state = (
            "MISMATCH"
            if srm.get("flagged")
            else ("ok" if srm.get("checked") else srm.get("reason", "not checked"))
        )
        lines += [f"**Sample ratio**: {state} (p {_f(srm.get('p_value'))}; {counts})", ""]
    if "held_by" in decision.evidence:
        lines += [f"**Held back by**: {decision.evidence['held_by']}", ""]
    return "\n".join(lines)


def _f(value: Any, sign: str = "") -> str:
    if not isinstance(value, int | float):
        return "–"
    return f"{value:{sign}.4g}"


def _pct(value: Any) -> str:
    return f"{value:+.1%}" if isinstance(value, int | float) else "–"
