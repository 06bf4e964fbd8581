"""The ``expctl`` entry point: the command tree; each command imports its heavy parts lazily."""

from __future__ import annotations

import typer

from adapters.cli import automation, experiments, servers, stack

app = typer.Typer(
    name="expctl",
    help="Run PostHog experiments through their whole life: schedule, launch, end, ship, guard.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(experiments.app, name="experiments")
app.add_typer(automation.schedule_app, name="schedule")
app.add_typer(automation.flows_app, name="flows")
app.command("monitor")(automation.monitor)
app.add_typer(servers.serve_app, name="serve")
app.command("sandbox")(servers.sandbox)
app.command("up")(stack.up)


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        typer.echo(f"expctl {version('expctl')}")
        raise typer.Exit()


@app.callback()
def main_options(
    show_version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """expctl: scheduled launches, statistically sound endings and guardrails for PostHog experiments."""


def main() -> None:
    """Console-script entry point."""
    app()
