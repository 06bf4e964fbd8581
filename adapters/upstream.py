"""Which PostHog the composition roots talk to: the real one when a key is set, else the sandbox.

* ``POSTHOG_API_KEY`` set → PostHog at ``POSTHOG_HOST`` (default US Cloud).
* otherwise → the local sandbox server at ``EXPCTL_SANDBOX_URL`` (default
  ``http://127.0.0.1:8010``, what ``expctl sandbox`` and ``expctl up`` run), with its own dev key;
* ``in_process=True`` → a fresh sandbox (demo seed) inside this process, no server needed.

The sandbox needs none of the user's secrets.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import httpx

from adapters.posthog import Limiter, PostHogClient

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
