"""Fixtures for the MCP adapter: one sandbox, client, server and in-memory MCP client for the run,
with the sandbox reset to the demo seed (and its faults and call ledger cleared) before each test."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from fastapi import FastAPI
from mcp import Client

from adapters.mcp.server import ExperimentsServer, build_server
from adapters.posthog import PostHogClient
from lifecycle.service import LifecycleService
from sandbox.app import create_app
from tests.mcp.harness import admin, hold, posthog_client, sandbox_settings


@pytest.fixture(scope="session")
def sandbox() -> FastAPI:
    """The in-process sandbox (demo project 1); every test starts from a fresh seed."""
    return create_app(sandbox_settings())


@pytest.fixture(autouse=True)
async def fresh_sandbox(sandbox: FastAPI) -> None:
    await admin(sandbox, "POST", "/reset", {})
    await admin(sandbox, "DELETE", "/faults")
    await admin(sandbox, "DELETE", "/calls")


@pytest.fixture(scope="session")
async def posthog(sandbox: FastAPI) -> AsyncIterator[PostHogClient]:
    async with posthog_client(sandbox) as client:
        yield client


@pytest.fixture(scope="session")
def service(posthog: PostHogClient) -> LifecycleService:
    return LifecycleService(posthog, max_attempts=1)


@pytest.fixture(scope="session")
def server(posthog: PostHogClient, service: LifecycleService) -> ExperimentsServer:
    return build_server(client=posthog, service=service)


@pytest.fixture(scope="session")
async def mcp(server: ExperimentsServer) -> AsyncIterator[Client]:
    """The SDK's in-memory client on the server."""
    client, close = await hold(Client(server, raise_exceptions=True))
    yield client
    await close()


@pytest.fixture
def calls(sandbox: FastAPI) -> Callable[[], Awaitable[dict[str, Any]]]:
    """What reached the sandbox's experiments API since the test started (``/_sandbox/calls``)."""

    async def read() -> dict[str, Any]:
        ledger: dict[str, Any] = await admin(sandbox, "GET", "/calls")
        return ledger

    return read
