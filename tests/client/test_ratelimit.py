"""The limiter spreads a burst to the configured rate and never lets a throttling server answer 429."""

from __future__ import annotations

import asyncio
import time
from collections import deque

import httpx

from adapters.posthog import PostHogClient, RateWindow, SlidingWindowLimiter
from adapters.posthog.retry import RetryPolicy
from tests.client import samples


class ThrottlingServer:
    """Answers like PostHog's DRF throttles: a sliding-window log per window, counted on arrival."""

    def __init__(self, windows: list[tuple[int, float]], latency: float = 0.0) -> None:
        self.windows = [(limit, period, deque[float]()) for limit, period in windows]
        self.latency = latency
        self.arrivals: list[float] = []
        self.throttled = 0

    async def handle(self, request: httpx.Request) -> httpx.Response:
        now = time.monotonic()
        for limit, period, history in self.windows:
            while history and history[0] <= now - period:
                history.popleft()
            if len(history) >= limit:
                self.throttled += 1
                return httpx.Response(
                    429,
                    json={
                        "type": "throttled_error",
                        "code": "throttled",
                        "detail": "x",
                        "attr": None,
                    },
                    headers={"Retry-After": "1"},
                )
        for _, _, history in self.windows:
            history.append(now)
        self.arrivals.append(now)
        await asyncio.sleep(self.latency)
        return httpx.Response(200, json=samples.STATS)


def max_in_window(arrivals: list[float], period: float) -> int:
    arrivals = sorted(arrivals)
    best, start = 0, 0
    for end, t in enumerate(arrivals):
        while arrivals[start] <= t - period:
            start += 1
        best = max(best, end - start + 1)
    return best


async def test_burst_is_spread_to_the_rate_and_never_throttled() -> None:
    # PostHog's 480/min and 4,800/h scaled down 60x in time: 8 per second, 80 per minute.
    server = ThrottlingServer([(8, 1.0), (80, 60.0)], latency=0.02)
    limiter = SlidingWindowLimiter([RateWindow(8, 1.0), RateWindow(80, 60.0)])
    async with PostHogClient(
        api_key="k",
        project_id=1,
        transport=httpx.MockTransport(server.handle),
        limiter=limiter,
        retry=RetryPolicy(max_attempts=1),
    ) as client:
        started = time.monotonic()
        await asyncio.gather(*(client.get_experiment_stats() for _ in range(40)))
        elapsed = time.monotonic() - started
    assert server.throttled == 0
    assert len(server.arrivals) == 40
    assert max_in_window(server.arrivals, 1.0) <= 8
    # 40 requests at 8/s: the 33rd cannot start before 4 full windows have passed.
    assert elapsed >= 4.0
    assert elapsed < 6.0


async def test_requests_in_flight_occupy_their_slot() -> None:
    limiter = SlidingWindowLimiter([RateWindow(2, 0.2)])
    await limiter.acquire()
    await limiter.acquire()
    waiter = asyncio.create_task(limiter.acquire())
    await asyncio.sleep(0.4)
    assert not waiter.done(), "a third request started while two were still in flight"
    limiter.release()
    await asyncio.sleep(0.1)
    assert not waiter.done(), "the slot frees only a full window after the answer"
    await asyncio.wait_for(waiter, timeout=1.0)
    assert limiter.in_flight == 2


async def test_default_client_limiter_is_shared_per_host_and_budget() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=samples.STATS)

    a = PostHogClient(api_key="k", project_id=1, transport=httpx.MockTransport(handler))
    b = PostHogClient(api_key="other", project_id=2, transport=httpx.MockTransport(handler))
    c = PostHogClient(
        api_key="k",
        host="https://eu.posthog.com",
        project_id=1,
        transport=httpx.MockTransport(handler),
    )
    for client in (a, b, c):
        await client.get_experiment_stats()
    assert a._active_limiter() is b._active_limiter()
    assert a._active_limiter() is not c._active_limiter()
    for client in (a, b, c):
        await client.aclose()
