"""Rate limits: DRF's sliding windows per organisation, the 429 body and Retry-After (§2.2)."""

from __future__ import annotations

import httpx
import pytest

from sandbox import SandboxSettings
from sandbox.runtime import SandboxRuntime
from sandbox.throttle import RateLimitConfig, RateLimiter
from tests.sandbox.support import FROZEN_AT, WINNER, P


@pytest.fixture
def sandbox_settings() -> SandboxSettings:
    """Five requests a minute."""
    return SandboxSettings(
        clock_start=FROZEN_AT, clock_frozen=True, rate_limit_per_minute=5, rate_limit_per_hour=100
    )


async def test_burst_limit(client: httpx.AsyncClient, runtime: SandboxRuntime) -> None:
    for _ in range(3):
        assert (await client.get(f"{P}/{WINNER}/")).status_code == 200
    # Same organisation, other project: the same budget.
    for _ in range(2):
        assert (await client.get("/api/projects/2/experiments/")).status_code == 200
    refused = await client.post(f"{P}/{WINNER}/pause/")
    assert refused.status_code == 429
    body = refused.json()
    assert body["type"] == "throttled_error"
    assert body["code"] == "throttled"
    assert body["attr"] is None
    wait = int(refused.headers["Retry-After"])
    assert 1 <= wait <= 60
    assert body["detail"] == f"Request was throttled. Expected available in {wait} seconds."
    assert (await client.get(f"{P}/{WINNER}/")).json()["code"] == "throttled"
    other_org = await client.get("/api/projects/3/experiments/")
    assert other_org.status_code == 200
    admin = await client.get("/_sandbox/calls")
    assert admin.status_code == 200
    calls = admin.json()
    assert calls["throttled"] == 2
    assert calls["by_operation"]["experiments_pause_create"]["statuses"] == {"429": 1}
    assert runtime.ledger.applied(1, WINNER) == {}


async def test_limits_can_be_changed_and_disabled(client: httpx.AsyncClient) -> None:
    changed = await client.put("/_sandbox/rate_limit", json={"per_minute": 1})
    assert changed.json() == {
        "enabled": True,
        "per_minute": 1,
        "per_hour": 100,
        "minute_seconds": 60.0,
    }
    assert (await client.get(f"{P}/")).status_code == 200
    assert (await client.get(f"{P}/")).status_code == 429
    await client.put("/_sandbox/rate_limit", json={"enabled": False})
    assert all([(await client.get(f"{P}/")).status_code == 200 for _ in range(5)])


def test_drf_wait_and_each_window_logs_what_it_lets_through() -> None:
    now = [0.0]
    limiter = RateLimiter(RateLimitConfig(per_minute=2, per_hour=3), clock=lambda: now[0])
    assert limiter.check(1) is None
    now[0] = 10.0
    assert limiter.check(1) is None
    now[0] = 15.0
    # The minute window is full: wait until 0.0 leaves it. The hour window let it through.
    assert limiter.check(1) == pytest.approx(45.0)
    now[0] = 61.0
    # The minute window has room again, but the hour window now holds 0, 10 and 15.
    assert limiter.check(1) == pytest.approx(3600 - 61)
    assert limiter.check(2) is None


def test_singular_second() -> None:
    from sandbox.errors import throttled

    error = throttled(0.4)
    assert error.body is not None
    assert error.body["detail"] == "Request was throttled. Expected available in 1 second."
    assert error.headers == {"Retry-After": "1"}
