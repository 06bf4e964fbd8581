"""Concurrent writers: exactly one launch applies, the others get PostHog's refusal."""

from __future__ import annotations

import asyncio
from collections import Counter

import httpx

from sandbox import SandboxSettings
from sandbox.runtime import SandboxRuntime
from sandbox.server import running_server
from tests.sandbox.support import AUTH, DRAFT, FROZEN_AT, P


async def test_fifty_concurrent_launches_in_process(
    client: httpx.AsyncClient, runtime: SandboxRuntime
) -> None:
    responses = await asyncio.gather(*(client.post(f"{P}/{DRAFT}/launch/") for _ in range(50)))
    assert Counter(response.status_code for response in responses) == {200: 1, 400: 49}
    refusals = {response.json()["detail"] for response in responses if response.status_code == 400}
    assert refusals == {"Experiment has already been launched."}
    assert runtime.ledger.applied(1, DRAFT) == {"launch": 1}


async def test_fifty_concurrent_launches_over_http() -> None:
    settings = SandboxSettings(clock_start=FROZEN_AT, clock_frozen=True)
    with running_server(settings) as server:
        limits = httpx.Limits(max_connections=50)
        async with httpx.AsyncClient(base_url=server.url, headers=AUTH, limits=limits) as http:
            responses = await asyncio.gather(
                *(http.post(f"{P}/{DRAFT}/launch/") for _ in range(50))
            )
        assert Counter(response.status_code for response in responses) == {200: 1, 400: 49}
        assert server.runtime.ledger.applied(1, DRAFT) == {"launch": 1}
        calls = server.runtime.ledger.snapshot()["by_operation"]["experiments_launch_create"]
        assert calls == {"count": 50, "statuses": {"200": 1, "400": 49}, "methods": {"POST": 50}}
