"""The REST adapter in front of an in-process sandbox, reset to the demo seed for each test.

The sandbox runs with a frozen clock and no rate limit (unless a test asks), so two fresh stacks
hold identical data and a call through the adapter can be compared with the same call made
directly. The sandbox's key is distinctive so tests can prove it never leaks.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi import APIRouter, FastAPI

from adapters.posthog import PostHogClient, RetryPolicy
from adapters.rest.app import create_app
from adapters.rest.health import Probe
from adapters.security import TokenVerifier
from lifecycle.service import LifecycleService
from sandbox.app import create_app as create_sandbox
from sandbox.settings import SandboxSettings

POSTHOG_KEY = "phx_rest_tests_5e1f0c_must_never_leak"
FULL = "expctl_full_token_for_tests"
READONLY = "expctl_readonly_token_for_tests"
PROJECT = 1
BASE = f"/v1/api/projects/{PROJECT}/experiments"
CLOCK = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


@dataclass
class Stack:
    """A sandbox, the client and service over it, and the adapter app over those."""

    sandbox: FastAPI
    client: PostHogClient
    service: LifecycleService
    app: FastAPI
    http: httpx.AsyncClient
    """To the adapter, no token by default."""
    direct: httpx.AsyncClient
    """To the sandbox, with the PostHog key."""

    async def call(
        self,
        method: str,
        path: str,
        *,
        token: str | None = FULL,
        **kwargs: Any,
    ) -> httpx.Response:
        """A request to the adapter with ``token`` (``None``: no Authorization header)."""
        headers = dict(kwargs.pop("headers", {}))
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        return await self.http.request(method, path, headers=headers, **kwargs)

    async def calls(self) -> dict[str, Any]:
        """The sandbox's call ledger."""
        answer = await self.direct.get("/_sandbox/calls")
        assert answer.status_code == 200, answer.text
        ledger: dict[str, Any] = answer.json()
        return ledger

    async def forget_calls(self) -> None:
        """Reset the sandbox's call ledger."""
        assert (await self.direct.delete("/_sandbox/calls")).status_code in (200, 204)

    async def faults(self, *rules: Mapping[str, Any]) -> None:
        """Install fault rules in the sandbox."""
        answer = await self.direct.put("/_sandbox/faults", json={"rules": list(rules)})
        assert answer.status_code == 200, answer.text

    async def reset(self) -> None:
        """Back to the fresh demo seed: data, faults and call counts."""
        assert (await self.direct.post("/_sandbox/reset", json={})).status_code == 200
        assert (await self.direct.delete("/_sandbox/faults")).status_code in (200, 204)
        await self.forget_calls()

    async def experiment(self, experiment_id: int) -> dict[str, Any]:
        """PostHog's JSON of one experiment, read directly."""
        answer = await self.direct.get(f"/api/projects/{PROJECT}/experiments/{experiment_id}/")
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        return body


def sandbox_settings(**changes: Any) -> SandboxSettings:
    """The tests' sandbox: frozen clock, no rate limit, the distinctive key."""
    values: dict[str, Any] = {
        "api_key": POSTHOG_KEY,
        "rate_limit_enabled": False,
        "clock_start": CLOCK,
        "clock_frozen": True,
    }
    values.update(changes)
    return SandboxSettings(**values)


@asynccontextmanager
async def build_stack(
    *,
    projects: Collection[int] | None = None,
    probes: tuple[Probe, ...] = (),
    extra_routers: tuple[APIRouter, ...] = (),
    max_body_bytes: int | None = None,
    client_key: str = POSTHOG_KEY,
    client_host: str = "http://sandbox.test",
    transport: httpx.AsyncBaseTransport | None = None,
    client_timeout: float | None = None,
    settings: SandboxSettings | None = None,
    sandbox: FastAPI | None = None,
) -> AsyncIterator[Stack]:
    """A fresh stack (or one over ``sandbox``); the client never retries, so failures show as they are."""
    owned = sandbox is None
    sandbox = sandbox or create_sandbox(settings or sandbox_settings())
    client = PostHogClient(
        api_key=client_key,
        host=client_host,
        project_id=PROJECT,
        transport=transport or httpx.ASGITransport(app=sandbox),
        rate_limit=False,
        retry=RetryPolicy(max_attempts=1),
        timeout=client_timeout,
    )
    service = LifecycleService(client, max_attempts=1)
    extra: dict[str, Any] = {} if max_body_bytes is None else {"max_body_bytes": max_body_bytes}
    app = create_app(
        client=client,
        service=service,
        verifier=TokenVerifier(full_token=FULL, readonly_token=READONLY),
        projects=projects,
        probes=probes,
        extra_routers=extra_routers,
        **extra,
    )
    async with (
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://expctl.test"
        ) as http,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=sandbox),
            base_url="http://sandbox.test",
            headers={"Authorization": f"Bearer {POSTHOG_KEY}"},
        ) as direct,
    ):
        try:
            yield Stack(sandbox, client, service, app, http, direct)
        finally:
            await client.aclose()
            if owned:
                sandbox.state.sandbox.close()


@pytest.fixture(scope="session")
async def shared_stack() -> AsyncIterator[Stack]:
    """One stack for the session (building apps is the slow part); see ``stack``."""
    async with build_stack() as built:
        yield built


@pytest.fixture
async def stack(shared_stack: Stack) -> Stack:
    """The session's stack, reset to the fresh demo seed (no faults, no counted calls)."""
    await shared_stack.reset()
    return shared_stack
