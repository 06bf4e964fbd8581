"""Keeping the client inside PostHog's request budget (480/minute and 4,800/hour per organisation).

PostHog counts a request when it arrives (DRF sliding-window throttles). The limiter counts a
request as occupying its slot from the moment it is sent until its answer is complete, and only
then starts the window: an answer can never be complete before the request arrived, so the
server never sees more requests in a window than the limiter allowed, whatever the latency.

One limiter serves all coroutines of one event loop; :func:`shared_limiter` hands out one per
(loop, host, limits). Across processes (many Prefect workers) plug a limiter backed by a Prefect
global concurrency limit into the client instead: anything with ``acquire``/``release`` works.
"""

from __future__ import annotations

import asyncio
import math
import time
import weakref
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol


class Limiter(Protocol):
    """What the client needs from a rate limiter."""

    async def acquire(self) -> None:
        """Wait until one more request may be sent."""
        ...

    def release(self) -> None:
        """The request's answer is complete (or it failed)."""
        ...


@dataclass(frozen=True)
class RateWindow:
    """At most ``requests`` requests in any ``seconds``-long window."""

    requests: int
    seconds: float


class SlidingWindowLimiter:
    """A sliding-window log over one or more windows, FIFO across waiting coroutines."""

    def __init__(
        self,
        windows: Sequence[RateWindow],
        *,
        clock: Callable[[], float] = time.monotonic,
        margin: float = 0.01,
    ) -> None:
        if not windows:
            raise ValueError("a rate limiter needs at least one window")
        self.windows = tuple(windows)
        self._done: list[deque[float]] = [deque() for _ in self.windows]
        self._in_flight = 0
        self._clock = clock
        self._margin = margin
        self._lock = asyncio.Lock()
        self._released = asyncio.Event()

    @property
    def in_flight(self) -> int:
        return self._in_flight

    async def acquire(self) -> None:
        async with self._lock:
            while True:
                wait = self._wait_needed(self._clock())
                if wait <= 0:
                    self._in_flight += 1
                    return
                self._released.clear()
                try:
                    timeout = None if math.isinf(wait) else wait
                    await asyncio.wait_for(self._released.wait(), timeout=timeout)
                except TimeoutError:
                    pass

    def release(self) -> None:
        now = self._clock()
        self._in_flight = max(0, self._in_flight - 1)
        for done in self._done:
            done.append(now)
        self._released.set()

    def _wait_needed(self, now: float) -> float:
        wait = 0.0
        for window, done in zip(self.windows, self._done, strict=True):
            horizon = now - window.seconds - self._margin
            while done and done[0] <= horizon:
                done.popleft()
            excess = len(done) + self._in_flight - window.requests + 1
            if excess <= 0:
                continue
            if excess > len(done):
                return math.inf  # only an answer still in flight can free a slot
            wait = max(wait, done[excess - 1] + window.seconds + self._margin - now)
        return wait


def posthog_windows(per_minute: int = 480, per_hour: int = 4800) -> tuple[RateWindow, ...]:
    """PostHog's CRUD budget for personal-API-key requests."""
    return (RateWindow(per_minute, 60.0), RateWindow(per_hour, 3600.0))


_SHARED: weakref.WeakKeyDictionary[
    asyncio.AbstractEventLoop, dict[tuple[str, int, int], SlidingWindowLimiter]
] = weakref.WeakKeyDictionary()


def shared_limiter(host: str, per_minute: int, per_hour: int) -> SlidingWindowLimiter:
    """The one limiter for this host and budget in the running event loop."""
    loop = asyncio.get_running_loop()
    limiters = _SHARED.setdefault(loop, {})
    key = (host, per_minute, per_hour)
    if key not in limiters:
        limiters[key] = SlidingWindowLimiter(posthog_windows(per_minute, per_hour))
    return limiters[key]
