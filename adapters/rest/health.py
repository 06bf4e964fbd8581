"""Liveness and readiness: ``GET /healthz`` (the process is up) and ``GET /readyz`` (its parts answer).

Readiness runs every probe concurrently, each bounded by its timeout: PostHog with the server's
key (one cheap read) always, plus the probes the composition root adds (e.g. the Prefect API)::

    async def prefect_answers() -> str:
        async with get_client() as prefect:
            await prefect.api_healthcheck()
        return "Prefect API answers"

    create_app(..., probes=[Probe("prefect", prefect_answers)])

A probe returns a short detail when its part answers and raises when it does not.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from fastapi import APIRouter
from starlette.responses import JSONResponse

from adapters.posthog.client import PostHogClient
from adapters.posthog.operations import LIST_EXPERIMENTS
from adapters.rest.errors import describe
from adapters.rest.models import CheckResult, Health, Readiness


@dataclass(frozen=True)
class Probe:
    """One dependency readiness checks."""

    name: str
    check: Callable[[], Awaitable[str | None]]
    """Returns a short detail when the part answers; raises when it does not."""
    timeout: float = 5.0


class NotConfiguredError(RuntimeError):
    """A probe cannot check its part because the configuration does not say what to check."""


def posthog_probe(client: PostHogClient, project_id: int | None) -> Probe:
    """PostHog answers a one-experiment list of ``project_id`` with the server's key."""

    async def check() -> str:
        if project_id is None:
            raise NotConfiguredError(
                "no project to check the key against: set POSTHOG_PROJECT_ID or EXPCTL_PROJECTS"
            )
        await client.request(LIST_EXPERIMENTS, project_id=project_id, query={"limit": 1})
        return f"PostHog answers for project {project_id}"

    return Probe("posthog", check)


async def run_probe(probe: Probe) -> CheckResult:
    """Run one probe; a failure or a timeout is a failed check, never an exception."""
    started = time.perf_counter()
    try:
        detail = await asyncio.wait_for(probe.check(), probe.timeout)
        ok = True
    except TimeoutError:
        detail, ok = f"no answer within {probe.timeout:g} s", False
    except Exception as error:
        detail, ok = (
            (str(error) if isinstance(error, NotConfiguredError) else describe(error)),
            False,
        )
    elapsed = round((time.perf_counter() - started) * 1000, 1)
    return CheckResult(name=probe.name, ok=ok, detail=detail or "ok", duration_ms=elapsed)


def health_router(probes: Sequence[Probe]) -> APIRouter:
    """``/healthz`` and ``/readyz``; neither needs a token."""
    router = APIRouter(tags=["health"])

    @router.get("/healthz", summary="The process is up.", response_model=Health)
    async def healthz() -> Health:
        return Health()

    @router.get(
        "/readyz",
        summary="PostHog answers with the server's key, and every added probe passes.",
        response_model=Readiness,
        responses={503: {"model": Readiness, "description": "A probe failed."}},
    )
    async def readyz() -> JSONResponse:
        checks = await asyncio.gather(*(run_probe(probe) for probe in probes))
        failed = [check.name for check in checks if not check.ok]
        report = Readiness(
            status="not_ready" if failed else "ready", failed=failed, checks=list(checks)
        )
        return JSONResponse(report.model_dump(mode="json"), 503 if failed else 200)

    return router
