"""The flows' composition root: PostHog client, lifecycle and automation services, from the environment.

PostHog is the real API when ``POSTHOG_API_KEY`` is set, else the sandbox (adapters.upstream).
Requests share PostHog's budget across workers through a Prefect global concurrency limit,
unless ``EXPCTL_SHARED_RATE_LIMIT=local`` keeps the per-process limiter.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from adapters.posthog import PostHogClient
from adapters.posthog.settings import load_settings
from adapters.prefect.decisions import PrefectDecisionLog, emit_action
from adapters.prefect.plans import PrefectPlanStore
from adapters.prefect.ratelimit import Bucket, PrefectRateLimiter
from adapters.prefect.runs import PrefectScheduler
from adapters.upstream import connect
from lifecycle.automation import AutomationService
from lifecycle.service import LifecycleService


@dataclass(frozen=True)
class Runtime:
    """What a flow run works with."""

    client: PostHogClient
    lifecycle: LifecycleService
    automation: AutomationService


@asynccontextmanager
async def runtime() -> AsyncIterator[Runtime]:
    """Build the services for one flow run and close the PostHog client afterwards."""
    limiter = None
    if os.environ.get("EXPCTL_SHARED_RATE_LIMIT", "prefect").strip().lower() == "prefect":
        settings = load_settings()
        limiter = PrefectRateLimiter(
            bucket=Bucket.for_budget(settings.rate_limit_per_minute, settings.rate_limit_per_hour)
        )
    client = connect(limiter=limiter).client
    lifecycle = LifecycleService(client, on_record=emit_action)
    automation = AutomationService(
        client, lifecycle, PrefectPlanStore(), PrefectScheduler(), PrefectDecisionLog()
    )
    try:
        yield Runtime(client, lifecycle, automation)
    finally:
        await client.aclose()
