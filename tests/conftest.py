"""Test-wide fixtures: a clean environment, and a sandbox PostHog with a client and services on it."""

from __future__ import annotations

import os
import tempfile

# Prefect reads its settings at import: give the suite its own home, no telemetry, no server of
# the developer's, and a generous start-up timeout for the ephemeral test server.
os.environ["PREFECT_HOME"] = tempfile.mkdtemp(prefix="expctl-tests-prefect-")
os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
os.environ["DO_NOT_TRACK"] = "1"
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")
os.environ.pop("PREFECT_API_URL", None)
os.environ.pop("PREFECT_UI_URL", None)

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from adapters.posthog import PostHogClient
from lifecycle import LifecycleService
from sandbox.app import create_app
from sandbox.settings import SandboxSettings

_OWNED_PREFIXES = ("POSTHOG_", "EXPCTL_")
SANDBOX_KEY = "phx_sandbox"
BASE = "http://sandbox.test"


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    """Remove POSTHOG_* and EXPCTL_* variables for the duration of each test."""
    for name in list(os.environ):
        if name.startswith(_OWNED_PREFIXES):
            monkeypatch.delenv(name)
    monkeypatch.delenv("PREFECT_API_URL", raising=False)


def sandbox_settings(**overrides: Any) -> SandboxSettings:
    """Demo seed, no rate limit, recalculations that complete on the next read."""
    values: dict[str, Any] = {
        "seed": "demo",
        "rate_limit_enabled": False,
        "recalculation_seconds": 0.0,
    }
    values.update(overrides)
    return SandboxSettings(**values)


@pytest.fixture
def sandbox_app() -> FastAPI:
    """A fresh in-process sandbox (demo project 1)."""
    return create_app(sandbox_settings())


@pytest.fixture
async def posthog(sandbox_app: FastAPI) -> AsyncIterator[PostHogClient]:
    """The real client, talking to the in-process sandbox."""
    async with PostHogClient(
        api_key=SANDBOX_KEY,
        host=BASE,
        project_id=1,
        transport=httpx.ASGITransport(app=sandbox_app),
        rate_limit=False,
    ) as client:
        yield client


@pytest.fixture
def lifecycle_service(posthog: PostHogClient) -> LifecycleService:
    return LifecycleService(posthog)


@pytest.fixture
async def admin(sandbox_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """The sandbox's admin API (/_sandbox/...)."""
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=sandbox_app),
        base_url=f"{BASE}/_sandbox",
        headers={"Authorization": f"Bearer {SANDBOX_KEY}"},
    ) as client:
        yield client
