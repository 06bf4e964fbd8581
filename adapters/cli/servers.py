"""``expctl sandbox`` and ``expctl serve rest|mcp``: the long-running servers, one per command."""

from __future__ import annotations

from pathlib import Path

import typer

from adapters.cli.errors import BAD_INPUT, fail

serve_app = typer.Typer(
    help="Run the REST adapter (port 8080) or the MCP adapter (port 9090).", no_args_is_help=True
)


def sandbox(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to bind."),
    port: int = typer.Option(8010, "--port", help="Port to bind."),
    seed: str = typer.Option(
        "demo", "--seed", help="demo (a project in every state) or none (empty)."
    ),
    data: Path = typer.Option(
        None,
        "--data",
        help="SQLite file that keeps the state across restarts (default: memory only).",
    ),
    api_key: str = typer.Option(
        "phx_sandbox", "--api-key", help="The sandbox's own personal API key (scope *)."
    ),
) -> None:
    """Run the sandbox: a faithful local PostHog experiments API (no PostHog account needed)."""
    if seed not in ("demo", "none"):
        raise fail(f"--seed: expected demo or none, got {seed!r}", BAD_INPUT)
    from pydantic import ValidationError

    from sandbox.server import serve
    from sandbox.settings import SandboxSettings

    try:
        settings = SandboxSettings(
            host=host,
            port=port,
            seed="demo" if seed == "demo" else None,
            data_path=data,
            api_key=api_key,
        )
    except ValidationError as error:
        first = error.errors()[0]
        raise fail(
            f"--{'-'.join(str(p) for p in first['loc'])}: {first['msg']}", BAD_INPUT
        ) from None
    serve(settings)


@serve_app.command("rest")
def serve_rest(
    host: str = typer.Option(
        "127.0.0.1", "--host", help="Address to bind (non-loopback needs EXPCTL_API_TOKEN)."
    ),
    port: int = typer.Option(8080, "--port", help="Port to bind."),
    in_process_sandbox: bool = typer.Option(
        False, "--sandbox", help="Use a fresh in-process sandbox instead of PostHog."
    ),
) -> None:
    """The capability's REST surface under /v1, with automation routes; docs at /docs."""
    from adapters.rest.server import serve

    serve(host, port, in_process_sandbox=in_process_sandbox)


@serve_app.command("mcp")
def serve_mcp(
    host: str = typer.Option(
        "127.0.0.1", "--host", help="Address to bind (non-loopback needs EXPCTL_API_TOKEN)."
    ),
    port: int = typer.Option(9090, "--port", help="Port to bind."),
    in_process_sandbox: bool = typer.Option(
        False, "--sandbox", help="Use a fresh in-process sandbox instead of PostHog."
    ),
    stdio: bool = typer.Option(
        False, "--stdio", help="Speak MCP on stdin/stdout (desktop agents) instead of HTTP."
    ),
) -> None:
    """MCP tools for agents over streamable HTTP at /mcp (or stdio)."""
    from adapters.mcp.server import serve

    serve(host, port, in_process_sandbox=in_process_sandbox, stdio=stdio)
