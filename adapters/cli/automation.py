"""``expctl schedule``, ``expctl monitor`` and ``expctl flows``: plans, sweeps and the flow runner.

Plans live in Prefect: ``PREFECT_API_URL`` when set, else the local server ``expctl up`` runs
(http://127.0.0.1:4200/api). Times are UTC, ISO 8601 or relative (``+2m``, ``+1h``, ``+3d``);
durations are ``90s``, ``30m``, ``36h``, ``14d`` or ISO 8601 (``P14D``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

import typer

from adapters.cli.errors import BAD_INPUT, fail, handles_errors
from adapters.cli.output import console, err_console, print_json, short_time, table

if TYPE_CHECKING:
    from lifecycle.automation import AutomationService, PlanView, RunKind

T = TypeVar("T")

schedule_app = typer.Typer(
    help="Set, show, cancel or evaluate an experiment's automation plan.", no_args_is_help=True
)
flows_app = typer.Typer(
    help="Serve the Prefect flows, or start one flow run now.", no_args_is_help=True
)

PROJECT = typer.Option(
    None,
    "--project",
    "-p",
    help="PostHog project id (default: POSTHOG_PROJECT_ID, or 1 on the sandbox).",
)
JSON = typer.Option(False, "--json", help="Print JSON instead of tables.")
DRY_RUN = typer.Option(False, "--dry-run", help="Show what would happen; change nothing.")

_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_AMOUNT = re.compile(r"^(\d+(?:\.\d+)?)\s*([smhdw])$")


def parse_time(value: str, *, field: str) -> datetime:
    """``+2m`` (from now) or an ISO 8601 time (UTC when no offset is given)."""
    text = value.strip()
    if text.startswith("+"):
        return datetime.now(UTC) + parse_duration(text[1:], field=field)
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise fail(
            f"{field}: expected an ISO 8601 time or +<n><s|m|h|d>, got {value!r}", BAD_INPUT
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def parse_duration(value: str, *, field: str) -> timedelta:
    """``90s``, ``30m``, ``36h``, ``14d``, ``2w`` or ISO 8601 (``P14D``)."""
    text = value.strip().lower()
    match = _AMOUNT.match(text)
    if match:
        return timedelta(**{_UNITS[match.group(2)]: float(match.group(1))})
    from pydantic import TypeAdapter, ValidationError

    try:
        return TypeAdapter(timedelta).validate_python(value.strip().upper())
    except ValidationError:
        raise fail(
            f"{field}: expected a duration like 90s, 30m, 36h, 14d or P14D, got {value!r}",
            BAD_INPUT,
        ) from None


def with_automation(
    work: Callable[[AutomationService, int], Awaitable[T]], project: int | None
) -> T:
    """Build the automation service (PostHog client + Prefect adapters), run ``work``, close."""
    from adapters.upstream import connect, connect_automation
    from lifecycle.service import LifecycleService

    async def main() -> T:
        client = connect().client
        async with client:
            service = connect_automation(client, LifecycleService(client))
            project_id = project if project is not None else client.project_id
            if project_id is None:
                raise fail("no project: pass --project or set POSTHOG_PROJECT_ID", BAD_INPUT)
            return await work(service, project_id)

    import asyncio

    return asyncio.run(main())


def build_plan(
    *,
    file: Path | None,
    launch_at: str | None,
    end_at: str | None,
    end_after: str | None,
    end_action: str | None,
    variant: str | None,
    fallback: str | None,
    rule: str | None,
    alpha: float | None,
    min_days: float | None,
    min_exposures: int | None,
    planned_sample: int | None,
    hybrid: bool | None,
    primary_metric: str | None,
    goal: str | None,
    guardrails: list[str],
) -> dict[str, Any]:
    """A plan dict from a JSON file and/or options (options win); the service validates it."""
    plan: dict[str, Any] = {}
    if file is not None:
        try:
            plan = json.loads(file.read_text())
        except (OSError, json.JSONDecodeError) as error:
            raise fail(f"--file: cannot read a JSON plan from {file}: {error}", BAD_INPUT) from None
        if not isinstance(plan, dict):
            raise fail("--file: the plan must be a JSON object", BAD_INPUT)
    if launch_at:
        plan["launch_at"] = parse_time(launch_at, field="--launch-at").isoformat()
    if end_at:
        plan["end_at"] = parse_time(end_at, field="--end-at").isoformat()
    if end_after:
        plan["end_after"] = parse_duration(end_after, field="--end-after").total_seconds()
    end_plan = dict(plan.get("end_plan") or {})
    end_plan.update(
        {
            k: v
            for k, v in {"action": end_action, "variant_key": variant, "fallback": fallback}.items()
            if v is not None
        }
    )
    if end_plan:
        plan["end_plan"] = end_plan
    stopping = dict(plan.get("stopping") or {})
    given = {
        "rule": rule,
        "alpha": alpha,
        "min_exposures_per_variant": min_exposures,
        "hybrid": hybrid,
    }
    stopping.update({k: v for k, v in given.items() if v is not None})
    if min_days is not None:
        stopping["min_duration"] = timedelta(days=min_days).total_seconds()
    if stopping:
        plan["stopping"] = stopping
    if planned_sample is not None:
        plan["planned_sample"] = planned_sample
    if primary_metric:
        plan["primary_metric_uuid"] = primary_metric
    if goal:
        plan["goal"] = goal
    if guardrails:
        plan["guardrails"] = [_guardrail(text) for text in guardrails]
    return plan


def _guardrail(text: str) -> dict[str, Any]:
    """``<metric uuid>:<increase|decrease>[:<threshold>[:<pause|ship_control>[:<min exposures>]]]``."""
    parts = text.split(":")
    if len(parts) < 2 or len(parts) > 5:
        raise fail(
            f"--guardrail: expected <metric uuid>:<increase|decrease>[:threshold[:pause|ship_control[:min exposures]]], got {text!r}",
            BAD_INPUT,
        )
    guardrail: dict[str, Any] = {"metric_uuid": parts[0], "bad_direction": parts[1]}
    try:
        if len(parts) > 2 and parts[2]:
            guardrail["threshold"] = float(parts[2])
        if len(parts) > 3 and parts[3]:
            guardrail["action"] = parts[3]
        if len(parts) > 4 and parts[4]:
            guardrail["min_exposures_per_variant"] = int(parts[4])
    except ValueError:
        raise fail(
            f"--guardrail: threshold must be a number and min exposures an integer in {text!r}",
            BAD_INPUT,
        ) from None
    return guardrail


def show_view(view: PlanView, as_json: bool) -> None:
    """Print a plan with its next actions and last decisions."""
    data = view.as_dict()
    if as_json:
        print_json(data)
        return
    plan = data["plan"]
    heading = f"plan v{data['version']} for experiment {data['experiment_id']} ({data['status']}, set by {data['set_by']})"
    if view.dry_run:
        heading += " — dry run, nothing saved"
    rows = [
        ("launch at", short_time(plan["launch_at"]) or "—"),
        (
            "end",
            short_time(data["end_due_at"])
            or short_time(plan["end_at"])
            or (f"{plan['end_after']} after launch" if plan["end_after"] else "—"),
        ),
        (
            "at the end",
            plan["end_plan"]["action"]
            + (f" {plan['end_plan']['variant_key']}" if plan["end_plan"]["variant_key"] else ""),
        ),
        (
            "early stopping",
            plan["stopping"]["rule"]
            + (
                f" (α {plan['stopping']['alpha']})"
                if plan["stopping"]["rule"] == "sequential"
                else ""
            ),
        ),
        (
            "guardrails",
            ", ".join(
                f"{g['metric_uuid'][:8]}… {g['bad_direction']} → {g['action']}"
                for g in plan["guardrails"]
            )
            or "—",
        ),
        ("looks", str(data["looks"])),
    ]
    console().print(table(heading, ["", ""], rows))
    if data["next_actions"]:
        console().print(
            table(
                "next scheduled actions",
                ["kind", "at (UTC)", "state", "run"],
                [
                    (r["kind"], short_time(r["scheduled_at"]), r["state"], r["url"] or r["id"])
                    for r in data["next_actions"]
                ],
            )
        )
    else:
        console().print("no scheduled actions")
    if data["last_decisions"]:
        console().print(
            table(
                "last decisions",
                ["at", "verdict", "rule", "reason"],
                [
                    (short_time(d.get("at")), d.get("verdict"), d.get("rule"), d.get("reason"))
                    for d in data["last_decisions"]
                ],
            )
        )
    for warning in data["warnings"]:
        err_console().print(f"[yellow]warning:[/] {warning}")


@schedule_app.command("set")
@handles_errors
def set_plan(
    experiment_id: int = typer.Argument(..., help="Experiment id."),
    file: Path = typer.Option(
        None, "--file", "-f", help="A JSON plan (options below override its fields)."
    ),
    launch_at: str = typer.Option(
        None, "--launch-at", help="When to launch: ISO time or +2m / +1h."
    ),
    end_at: str = typer.Option(None, "--end-at", help="When to end: ISO time or +14d."),
    end_after: str = typer.Option(
        None, "--end-after", help="How long after the real launch to end: 14d, 36h, P14D."
    ),
    end_action: str = typer.Option(
        None, "--end-action", help="end, ship_winner, ship_variant or notify."
    ),
    variant: str = typer.Option(
        None, "--variant", help="Variant to ship (with --end-action ship_variant)."
    ),
    fallback: str = typer.Option(
        None, "--fallback", help="ship_winner without a winner: end_inconclusive or ship_control."
    ),
    rule: str = typer.Option(None, "--rule", help="Early stopping: none or sequential."),
    alpha: float = typer.Option(
        None, "--alpha", help="False-positive budget of the sequential test (default 0.05)."
    ),
    min_days: float = typer.Option(
        None, "--min-days", help="No early end before this many days (default 7)."
    ),
    min_exposures: int = typer.Option(
        None,
        "--min-exposures",
        help="No decision before this many exposures per variant (default 100).",
    ),
    planned_sample: int = typer.Option(
        None,
        "--planned-sample",
        help="Planned total exposures: the sequential test's N* (default 5,000).",
    ),
    hybrid: bool = typer.Option(
        None,
        "--hybrid/--no-hybrid",
        help="α/2 during the run, α/2 on one fixed test at the planned end.",
    ),
    primary_metric: str = typer.Option(
        None,
        "--primary-metric",
        help="uuid of the deciding metric (default: the first primary metric).",
    ),
    goal: str = typer.Option(
        None, "--goal", help="increase or decrease (default: the metric's goal)."
    ),
    guardrail: list[str] = typer.Option(
        [],
        "--guardrail",
        help="<metric uuid>:<increase|decrease>[:threshold[:pause|ship_control[:min exposures]]] (repeatable).",
    ),
    project: int = PROJECT,
    dry_run: bool = DRY_RUN,
    as_json: bool = JSON,
) -> None:
    """Set (or replace) an experiment's plan; replaces the runs it implies, never duplicates them."""
    plan = build_plan(
        file=file,
        launch_at=launch_at,
        end_at=end_at,
        end_after=end_after,
        end_action=end_action,
        variant=variant,
        fallback=fallback,
        rule=rule,
        alpha=alpha,
        min_days=min_days,
        min_exposures=min_exposures,
        planned_sample=planned_sample,
        hybrid=hybrid,
        primary_metric=primary_metric,
        goal=goal,
        guardrails=guardrail,
    )
    view = with_automation(
        lambda service, pid: service.set_plan(
            experiment_id, plan, project_id=pid, actor="cli", dry_run=dry_run
        ),
        project,
    )
    show_view(view, as_json)


@schedule_app.command("show")
@handles_errors
def show_plan(
    experiment_id: int = typer.Argument(...), project: int = PROJECT, as_json: bool = JSON
) -> None:
    """The plan, its next scheduled actions and its last decisions."""
    show_view(
        with_automation(
            lambda service, pid: service.show_plan(experiment_id, project_id=pid), project
        ),
        as_json,
    )


@schedule_app.command("cancel")
@handles_errors
def cancel_plan(
    experiment_id: int = typer.Argument(...),
    project: int = PROJECT,
    dry_run: bool = DRY_RUN,
    as_json: bool = JSON,
) -> None:
    """Cancel the plan and its scheduled runs (decisions stay recorded)."""
    view = with_automation(
        lambda service, pid: service.cancel_plan(
            experiment_id, project_id=pid, actor="cli", dry_run=dry_run
        ),
        project,
    )
    if as_json:
        print_json(view.as_dict())
    else:
        console().print(
            f"plan for experiment {experiment_id} {'would be ' if dry_run else ''}cancelled"
        )


@schedule_app.command("evaluate")
@handles_errors
def evaluate(
    experiment_id: int = typer.Argument(...), project: int = PROJECT, as_json: bool = JSON
) -> None:
    """Run the monitor's rules for this experiment now, as a dry run: the decision and its evidence."""
    decision = with_automation(
        lambda service, pid: service.evaluate(experiment_id, project_id=pid), project
    )
    if as_json:
        print_json(decision.as_dict())
        return
    from lifecycle.decision import summary

    console().print(f"[bold]{decision.verdict}[/] ({decision.rule}): {decision.reason}")
    console().print(summary(decision))


def monitor(
    once: bool = typer.Option(False, "--once", help="One sweep, then exit."),
    interval: float = typer.Option(
        3600.0, "--interval", min=1.0, help="Seconds between sweeps (without --once)."
    ),
    project: int = typer.Option(
        None, "--project", "-p", help="Only this project (default: every project with plans)."
    ),
    dry_run: bool = DRY_RUN,
    as_json: bool = JSON,
) -> None:
    """Sweep every experiment with a plan: guardrails, early stops, overdue ends."""
    handles_errors(_monitor)(once, interval, project, dry_run, as_json)


def _monitor(
    once: bool, interval: float, project: int | None, dry_run: bool, as_json: bool
) -> None:
    import time

    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    while True:
        with Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            TimeElapsedColumn(),
            console=err_console(),
            transient=True,
        ) as progress:
            progress.add_task("sweeping experiments with plans…", total=None)
            report = with_automation(
                lambda service, _: service.monitor(
                    project_id=project, dry_run=dry_run, actor="cli:monitor"
                ),
                project or 1,
            )
        data = report.as_dict()
        if as_json:
            print_json(data)
        else:
            rows = [
                (
                    d["decision"]["experiment_id"],
                    d["decision"]["verdict"],
                    d["decision"]["rule"],
                    (d["result"] or {}).get("outcome", "dry run" if dry_run else "—"),
                    d["decision"]["reason"],
                )
                for d in data["decisions"]
            ]
            title = (
                f"monitor sweep at {short_time(data['at'])} UTC{' (dry run)' if dry_run else ''}"
            )
            console().print(
                table(title, ["experiment", "verdict", "rule", "outcome", "reason"], rows)
            )
            for eid, why in data["skipped"].items():
                console().print(f"[dim]skipped {eid}: {why}[/]")
        if once:
            return
        time.sleep(interval)


@flows_app.command("serve")
@handles_errors
def serve_flows(limit: int = typer.Option(None, "--limit", help="Most flow runs at once.")) -> None:
    """Serve every deployment (launch, conclude, monitor hourly, recalculate daily) from this process."""
    from adapters.upstream import use_local_prefect

    use_local_prefect()
    import asyncio

    from deployments.serve import serve_flows as serve

    asyncio.run(serve(limit=limit))


@flows_app.command("run")
@handles_errors
def run_flow(
    kind: str = typer.Argument(..., help="launch, conclude, monitor or recalculate."),
    experiment_id: int = typer.Argument(
        None, help="Experiment id (launch, conclude; optional for recalculate)."
    ),
    project: int = PROJECT,
    as_json: bool = JSON,
) -> None:
    """Start a flow run now; prints its id and Prefect UI link."""
    if kind not in ("launch", "conclude", "monitor", "recalculate"):
        raise fail(
            f"kind: expected launch, conclude, monitor or recalculate, got {kind!r}", BAD_INPUT
        )
    run = with_automation(
        lambda service, pid: service.trigger(
            cast(RunKind, kind), experiment_id, project_id=pid, actor="cli"
        ),
        project,
    )
    if as_json:
        print_json(run.model_dump(mode="json"))
    else:
        console().print(
            f"{run.kind} run {run.id}: {run.state}" + (f" — {run.url}" if run.url else "")
        )
