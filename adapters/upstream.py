"""Which PostHog the composition roots talk to: the real one when a key is set, else the sandbox.

* ``POSTHOG_API_KEY`` set → PostHog at ``POSTHOG_HOST`` (default US Cloud).
* otherwise → the local sandbox server at ``EXPCTL_SANDBOX_URL`` (default
  ``http://127.0.0.1:8010``, what ``expctl sandbox`` and ``expctl up`` run), with its own dev key;
* ``in_process=True`` → a fresh sandbox (demo seed) inside this process, no server needed.

The sandbox needs none of the user's secrets. Prefect is ``PREFECT_API_URL``, else the local
server ``expctl up`` starts (:func:`use_local_prefect`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

import httpx

from adapters.posthog import Limiter, PostHogClient

if TYPE_CHECKING:
    from lifecycle.automation import AutomationService
    from lifecycle.service import LifecycleService

LOCAL_PREFECT_API = "http://127.0.0.1:4200/api"
SANDBOX_URL = "http://127.0.0.1:8010"
SANDBOX_KEY = "phx_sandbox"
SANDBOX_PROJECT = 1


@dataclass(frozen=True)
class Upstream:
    """A connected PostHog client and a description safe to print (never the key)."""

    client: PostHogClient
    kind: str
    description: str


def connect(*, in_process: bool = False, limiter: Limiter | None = None) -> Upstream:
    """Build the PostHog client from the environment (see the module docstring)."""
    if in_process:
        from sandbox.app import create_app
        from sandbox.settings import SandboxSettings

        app = create_app(SandboxSettings(seed="demo"))
        client = PostHogClient(
            api_key=SANDBOX_KEY,
            host="http://sandbox.invalid",
            project_id=_project(SANDBOX_PROJECT),
            transport=httpx.ASGITransport(app=app),
            rate_limit=False,
        )
        return Upstream(client, "sandbox", "in-process sandbox (demo project 1)")
    if os.environ.get("POSTHOG_API_KEY", "").strip():
        client = PostHogClient(limiter=limiter)
        project = f"project {client.project_id}" if client.project_id else "no default project"
        return Upstream(client, "posthog", f"PostHog at {client.host} ({project})")
    url = os.environ.get("EXPCTL_SANDBOX_URL", SANDBOX_URL)
    client = PostHogClient(
        api_key=os.environ.get("EXPCTL_SANDBOX_KEY", SANDBOX_KEY),
        host=url,
        project_id=_project(SANDBOX_PROJECT),
        limiter=limiter,
    )
    return Upstream(client, "sandbox", f"sandbox at {client.host} (project {client.project_id})")


def _project(default: int) -> int:
    value = os.environ.get("POSTHOG_PROJECT_ID", "").strip()
    return int(value) if value.isdigit() else default


def use_local_prefect() -> None:
    """Point Prefect at the server ``expctl up`` runs, unless PREFECT_API_URL says otherwise.

    Call it before Prefect is imported: Prefect reads its settings at import.
    """
    os.environ.setdefault("PREFECT_API_URL", LOCAL_PREFECT_API)


def connect_automation(client: PostHogClient, lifecycle: LifecycleService) -> AutomationService:
    """The automation service on Prefect (plans, scheduled runs, decisions) for this client."""
    use_local_prefect()
    from adapters.prefect.decisions import PrefectDecisionLog
    from adapters.prefect.plans import PrefectPlanStore
    from adapters.prefect.runs import PrefectScheduler
    from lifecycle.automation import AutomationService

    return AutomationService(
        client, lifecycle, PrefectPlanStore(), PrefectScheduler(), PrefectDecisionLog()
    )
