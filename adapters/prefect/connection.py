"""Reaching Prefect's API: one client context that turns "cannot reach Prefect" into one error."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from prefect.client.orchestration import PrefectClient, get_client
from prefect.exceptions import PrefectHTTPStatusError

from lifecycle.errors import SchedulerUnavailableError


@asynccontextmanager
async def prefect_api() -> AsyncIterator[PrefectClient]:
    """A Prefect client; connection failures become :class:`SchedulerUnavailableError`."""
    try:
        async with get_client() as client:
            yield client
    except (httpx.TransportError, OSError) as error:
        where = os.environ.get("PREFECT_API_URL") or "the local Prefect API"
        raise SchedulerUnavailableError(
            f"Prefect is not reachable at {where} ({type(error).__name__}): start it with "
            "`expctl up` or point PREFECT_API_URL at a running server"
        ) from None
    except PrefectHTTPStatusError as error:
        status = error.response.status_code
        if status >= 500:
            raise SchedulerUnavailableError(f"Prefect's API failed ({status})") from None
        raise


def ui_url(path: str) -> str | None:
    """A link into the Prefect UI, when its address is known."""
    from prefect.settings import PREFECT_API_URL, PREFECT_UI_URL

    base = str(PREFECT_UI_URL.value() or PREFECT_API_URL.value() or "")
    base = base.rstrip("/").removesuffix("/api")
    return f"{base}/{path.lstrip('/')}" if base else None


async def check_prefect() -> str:
    """A readiness check: Prefect's API answers its health check (raises when it does not)."""
    async with prefect_api() as client:
        failure = await client.api_healthcheck()
    if failure is not None:
        raise SchedulerUnavailableError(f"Prefect's API is not healthy: {failure}")
    return "Prefect answers"
