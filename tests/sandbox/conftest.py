"""Fixtures for the sandbox tests: a seeded app on a frozen clock and an async client on it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from sandbox import SandboxSettings, create_app
from sandbox.runtime import SandboxRuntime
from tests.sandbox.support import AUTH, FROZEN_AT


@pytest.fixture
def sandbox_settings() -> SandboxSettings:
    """Demo seed, frozen clock, default limits, recalculations done at the next read."""
    return SandboxSettings(clock_start=FROZEN_AT, clock_frozen=True, recalculation_seconds=0)


@pytest.fixture
def app(sandbox_settings: SandboxSettings) -> FastAPI:
    """A fresh sandbox app."""
    return create_app(sandbox_settings)


@pytest.fixture
def runtime(app: FastAPI) -> SandboxRuntime:
    """The app's runtime (state, ledger, clock)."""
    runtime: SandboxRuntime = app.state.sandbox
    return runtime


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """An authenticated in-process client."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://sandbox.test", headers=AUTH
    ) as client:
        yield client
