"""The composition root of ``expctl serve rest``: reads the environment, builds the app, runs uvicorn.

Environment:

* ``EXPCTL_API_TOKEN`` / ``EXPCTL_READONLY_TOKEN``: bearer tokens (on loopback with neither set,
  a full-access token is generated and printed once; off loopback, start-up refuses);
* ``EXPCTL_PROJECTS``: optional comma-separated allowlist of PostHog project ids;
* ``EXPCTL_MAX_BODY_BYTES``: request body limit (default 1 MiB);
* ``POSTHOG_*`` / ``EXPCTL_SANDBOX_URL``: which PostHog (see :mod:`adapters.upstream`).
"""

from __future__ import annotations

import os
import sys
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, FastAPI

from adapters.posthog.errors import ConfigurationError
from adapters.rest.app import create_app
from adapters.rest.automation import automation_router
from adapters.rest.bodies import DEFAULT_MAX_BODY_BYTES
from adapters.rest.health import Probe
from adapters.security import InsecureBindError, TokenVerifier
from adapters.upstream import Upstream, connect, connect_automation
from lifecycle.service import LifecycleService

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080
EXIT_CONFIGURATION = 2


class StartupError(RuntimeError):
    """The server cannot start with this configuration (exit status 2)."""


@dataclass(frozen=True)
class Assembly:
    """Everything ``serve`` runs: the app, who may call it, and which PostHog it talks to."""

    app: FastAPI
    verifier: TokenVerifier
    upstream: Upstream


def parse_projects(value: str | None) -> frozenset[int] | None:
    """``EXPCTL_PROJECTS`` ("1, 2") as a set of ids; ``None`` when unset or blank."""
    if value is None or not value.strip():
        return None
    ids: set[int] = set()
    for part in value.split(","):
        part = part.strip()
        if not part.isdigit() or int(part) < 1:
            raise StartupError(
                f"EXPCTL_PROJECTS must be comma-separated project ids, got {value!r}"
            )
        ids.add(int(part))
    return frozenset(ids)


def parse_max_body(value: str | None) -> int:
    """``EXPCTL_MAX_BODY_BYTES`` as a positive byte count (default 1 MiB)."""
    if value is None or not value.strip():
        return DEFAULT_MAX_BODY_BYTES
    if not value.strip().isdigit() or int(value) < 1:
        raise StartupError(f"EXPCTL_MAX_BODY_BYTES must be a positive integer, got {value!r}")
    return int(value)


def assemble(
    *,
    host: str = DEFAULT_HOST,
    in_process_sandbox: bool = False,
    probes: Sequence[Probe] = (),
    extra_routers: Sequence[APIRouter] = (),
    environ: Mapping[str, str] | None = None,
) -> Assembly:
    """Build the app from the environment; raises :class:`StartupError` or InsecureBindError."""
    env = os.environ if environ is None else environ
    verifier = TokenVerifier.for_bind(
        host,
        full_token=env.get("EXPCTL_API_TOKEN", "").strip() or None,
        readonly_token=env.get("EXPCTL_READONLY_TOKEN", "").strip() or None,
    )
    projects = parse_projects(env.get("EXPCTL_PROJECTS"))
    max_body = parse_max_body(env.get("EXPCTL_MAX_BODY_BYTES"))
    try:
        upstream = connect(in_process=in_process_sandbox)
    except ConfigurationError as error:
        raise StartupError(str(error)) from None
    client = upstream.client

    @asynccontextmanager
    async def lifespan(_app: Any) -> AsyncIterator[None]:
        yield
        await client.aclose()

    service = LifecycleService(client)
    automation = connect_automation(client, service)
    from adapters.prefect.connection import check_prefect  # after connect_automation set the API

    app = create_app(
        client=client,
        service=service,
        verifier=verifier,
        projects=projects,
        probes=[*probes, Probe("prefect", check_prefect)],
        extra_routers=[*extra_routers, automation_router(automation)],
        max_body_bytes=max_body,
        lifespan=lifespan,
    )
    return Assembly(app, verifier, upstream)


def serve(
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    *,
    in_process_sandbox: bool = False,
    probes: Sequence[Probe] = (),
    extra_routers: Sequence[APIRouter] = (),
    log_level: str = "info",
) -> None:
    """Run the REST adapter until interrupted; exits with status 2 on a configuration error."""
    import uvicorn

    try:
        assembly = assemble(
            host=host,
            in_process_sandbox=in_process_sandbox,
            probes=probes,
            extra_routers=extra_routers,
        )
    except (InsecureBindError, StartupError) as error:
        print(f"expctl serve rest: {error}", file=sys.stderr, flush=True)
        raise SystemExit(EXIT_CONFIGURATION) from None
    print(banner(assembly, host, port), flush=True)
    # Callers pool connections; closing idle ones after uvicorn's default 5 s races with reuse.
    uvicorn.run(
        assembly.app,
        host=host,
        port=port,
        log_level=log_level,
        server_header=False,
        timeout_keep_alive=75,
    )


def banner(assembly: Assembly, host: str, port: int) -> str:
    """What start-up prints: where it serves, which PostHog, and a generated token (once)."""
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{shown}:{port}"
    lines = [
        f"expctl REST API on {url}  (docs: {url}/docs)",
        f"  PostHog: {assembly.upstream.description}",
    ]
    verifier = assembly.verifier
    if verifier.generated and verifier.full_token:
        lines += [
            "  No EXPCTL_API_TOKEN is set: this run's full-access token (shown once):",
            f"    {verifier.full_token}",
            f'  Try: curl -H "Authorization: Bearer {verifier.full_token}" '
            f"{url}/v1/api/projects/1/experiments",
        ]
    return "\n".join(lines)
