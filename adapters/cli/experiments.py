"""``expctl experiments``: read experiments and move them through their lifecycle.

PostHog is the real API when ``POSTHOG_API_KEY`` is set, else the local sandbox
(``EXPCTL_SANDBOX_URL``, default http://127.0.0.1:8010). Every action goes through the lifecycle
service: asking for a state the experiment is already in is a no-op (exit 0), a refusal exits 1
with the reason and the allowed actions, bad input exits 2.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

import typer

from adapters.cli.errors import handles_errors
from adapters.cli.output import console, print_json, short_time, status, table

if TYPE_CHECKING:
    from adapters.posthog import PostHogClient
    from lifecycle import ActionResult, LifecycleService

T = TypeVar("T")

app = typer.Typer(
    help="Read experiments and launch, pause, resume, end, ship, archive or reset them.",
    no_args_is_help=True,
)

PROJECT = typer.Option(
    None,
    "--project",
    "-p",
    help="PostHog project id (default: POSTHOG_PROJECT_ID, or 1 on the sandbox).",
)
JSON = typer.Option(False, "--json", help="Print JSON instead of tables.")
DRY_RUN = typer.Option(False, "--dry-run", help="Show what would be sent and why; change nothing.")
REASON = typer.Option(None, "--reason", help="Why (kept in the action's record).")


def run(work: Callable[[PostHogClient, LifecycleService], Awaitable[T]]) -> T:
    """Connect to PostHog (or the sandbox), run ``work``, close the connection."""
    from adapters.upstream import connect
    from lifecycle import LifecycleService

    async def main() -> T:
        client = connect().client
        async with client:
            return await work(client, LifecycleService(client))

    import asyncio

    return asyncio.run(main())


@app.command("list")
@handles_errors
def list_experiments(
    status_filter: str = typer.Option(
        None, "--status", help="draft, running, paused, stopped, complete or all."
    ),
    search: str = typer.Option(None, "--search", help="Name contains (case-insensitive)."),
    archived: bool = typer.Option(False, "--archived", help="Only archived experiments."),
    limit: int = typer.Option(100, "--limit", min=1, help="How many to show."),
    project: int = PROJECT,
    as_json: bool = JSON,
) -> None:
    """List experiments with their lifecycle status."""
    from lifecycle import status_of

    query: dict[str, Any] = {"limit": limit}
    if status_filter:
        query["status"] = status_filter
    if search:
        query["search"] = search
    if archived:
        query["archived"] = True
    page = run(lambda client, _: client.list_experiments(query, project_id=project))
    if as_json:
        print_json(page.raw())
        return
    rows = [
        (
            e.id,
            e.name,
            status(status_of(e).value),
            e.feature_flag_key or "",
            short_time(e.start_date),
            short_time(e.end_date),
            e.conclusion or "",
        )
        for e in page.results
    ]
    console().print(
        table(
            f"{page.count} experiments",
            ["id", "name", "status", "flag", "started", "ended", "conclusion"],
            rows,
        )
    )


@app.command("get")
@handles_errors
def get_experiment(
    experiment_id: int = typer.Argument(..., help="Experiment id."),
    project: int = PROJECT,
    as_json: bool = JSON,
) -> None:
    """Show one experiment: status, flag, metrics and what can be done now."""
    from lifecycle import options

    experiment = run(lambda client, _: client.get_experiment(experiment_id, project_id=project))
    if as_json:
        print_json(experiment.raw())
        return
    possible = options(experiment)
    flag = experiment.feature_flag
    details = [
        ("name", experiment.name),
        ("status", status(possible.status.value)),
        (
            "flag",
            f"{flag.key} ({'active' if flag.active else 'inactive'}; variants {', '.join(flag.variant_keys)})"
            if flag
            else "none",
        ),
        ("started", short_time(experiment.start_date)),
        ("ended", short_time(experiment.end_date)),
        ("conclusion", experiment.conclusion or ""),
        ("allowed actions", ", ".join(possible.allowed) or "none"),
    ]
    console().print(table(f"experiment {experiment.id}", ["field", "value"], details))
    metrics = [
        ("primary", m.get("name") or "", m.get("metric_type", ""), m.get("uuid", ""))
        for m in experiment.primary_metrics
    ] + [
        ("secondary", m.get("name") or "", m.get("metric_type", ""), m.get("uuid", ""))
        for m in experiment.secondary_metrics
    ]
    if metrics:
        console().print(table("metrics", ["role", "name", "type", "uuid"], metrics))


@app.command("status")
@handles_errors
def show_status(
    experiment_id: int = typer.Argument(..., help="Experiment id."),
    project: int = PROJECT,
    as_json: bool = JSON,
) -> None:
    """The lifecycle status, the actions possible now, and why each other one is refused."""
    listed = run(lambda _, service: service.options(experiment_id, project_id=project))
    if as_json:
        print_json(listed)
        return
    console().print(f"experiment {experiment_id}: {status(listed['status'])}")
    rows = [(action, "[green]yes[/]", "") for action in listed["allowed_actions"]]
    rows += [(action, "[red]no[/]", reason) for action, reason in listed["refused"].items()]
    console().print(table(None, ["action", "allowed", "why not"], rows))


def _act(
    experiment_id: int,
    action: str,
    arguments: dict[str, Any],
    project: int | None,
    dry_run: bool,
    reason: str | None,
    as_json: bool,
) -> None:
    result = run(
        lambda _, service: service.apply(
            experiment_id,
            action,
            arguments,
            project_id=project,
            dry_run=dry_run,
            actor="cli",
            reason=reason,
        )
    )
    report(result, as_json)


def report(result: ActionResult, as_json: bool) -> None:
    """Print an action's result (exit 1 when it waits for approval)."""
    from lifecycle import Outcome

    if as_json:
        print_json(result.as_dict())
    else:
        colour = {
            "applied": "green",
            "unchanged": "cyan",
            "dry_run": "yellow",
            "approval_required": "magenta",
        }[result.outcome.value]
        console().print(
            f"[{colour}]{result.outcome.value}[/]: experiment {result.record.experiment_id}: {result.message}"
        )
        for warning in result.warnings:
            console().print(f"[yellow]warning:[/] {warning}")
        if result.request is not None and result.outcome is Outcome.DRY_RUN:
            request = result.request
            console().print(
                f"would send: {request['method']} {request['path']}"
                + (f" {request['body']}" if request.get("body") else "")
            )
    if result.outcome is Outcome.APPROVAL_REQUIRED:
        raise typer.Exit(1)


@app.command("end")
@handles_errors
def end(
    experiment_id: int = typer.Argument(...),
    conclusion: str = typer.Option(
        None, "--conclusion", help="won, lost, inconclusive, stopped_early or invalid."
    ),
    comment: str = typer.Option(None, "--comment", help="Conclusion comment."),
    project: int = PROJECT,
    dry_run: bool = DRY_RUN,
    reason: str = REASON,
    as_json: bool = JSON,
) -> None:
    """End a running or paused experiment without shipping."""
    arguments = {
        k: v
        for k, v in {"conclusion": conclusion, "conclusion_comment": comment}.items()
        if v is not None
    }
    _act(experiment_id, "end", arguments, project, dry_run, reason, as_json)


@app.command("ship")
@handles_errors
def ship(
    experiment_id: int = typer.Argument(...),
    variant: str = typer.Argument(..., help="The variant key to ship."),
    conclusion: str = typer.Option(
        None, "--conclusion", help="won, lost, inconclusive, stopped_early or invalid."
    ),
    comment: str = typer.Option(None, "--comment", help="Conclusion comment."),
    release_to_everyone: bool = typer.Option(
        False, "--release-to-everyone", help="Also roll the variant out to 100% of users."
    ),
    project: int = PROJECT,
    dry_run: bool = DRY_RUN,
    reason: str = REASON,
    as_json: bool = JSON,
) -> None:
    """Ship a variant to everyone the flag reaches, ending the experiment."""
    arguments: dict[str, Any] = {"variant_key": variant}
    if conclusion is not None:
        arguments["conclusion"] = conclusion
    if comment is not None:
        arguments["conclusion_comment"] = comment
    if release_to_everyone:
        arguments["release_to_everyone"] = True
    _act(experiment_id, "ship_variant", arguments, project, dry_run, reason, as_json)


@app.command("archive")
@handles_errors
def archive(
    experiment_id: int = typer.Argument(...),
    disable_flag: bool = typer.Option(
        False, "--disable-flag", help="Also disable and archive the flag if still active."
    ),
    project: int = PROJECT,
    dry_run: bool = DRY_RUN,
    reason: str = REASON,
    as_json: bool = JSON,
) -> None:
    """Archive an ended experiment."""
    _act(
        experiment_id,
        "archive",
        {"disable_feature_flag": True} if disable_flag else {},
        project,
        dry_run,
        reason,
        as_json,
    )


def _register(action: str, summary: str) -> None:
    """A command for an action that takes no arguments."""

    def command(
        experiment_id: int = typer.Argument(..., help="Experiment id."),
        project: int = PROJECT,
        dry_run: bool = DRY_RUN,
        reason: str = REASON,
        as_json: bool = JSON,
    ) -> None:
        _act(experiment_id, action, {}, project, dry_run, reason, as_json)

    command.__doc__ = summary
    app.command(action)(handles_errors(command))


for _action, _summary in (
    ("launch", "Launch a draft: start date set, flag activated."),
    ("pause", "Pause a running experiment (deactivate its flag)."),
    ("resume", "Resume a paused experiment (reactivate its flag)."),
    ("unarchive", "Unarchive an archived experiment."),
    ("reset", "Reset a launched experiment back to draft."),
):
    _register(_action, _summary)
