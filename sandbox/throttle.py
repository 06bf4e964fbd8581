"""PostHog's rate limits: DRF ``SimpleRateThrottle`` sliding-window logs, per organisation.

Two windows, burst (default 480/minute) and sustained (default 4,800/hour), both keyed by
organisation so every key and project of an organisation shares them. As in DRF, each window
decides on its own: a window that lets a request through records it, a window that refuses it
does not. The wait a refused request is told is DRF's ``wait()``: the time until the oldest
logged request leaves the window, divided by the requests that will then be available; with both
windows refusing, the longer wait wins. Time is real (``time.monotonic``).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

from pydantic import BaseModel, ConfigDict, Field


class RateLimitConfig(BaseModel):
    """The ``/_sandbox/rate_limit`` body."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    per_minute: int = Field(default=480, ge=1)
    per_hour: int = Field(default=4800, ge=1)
    minute_seconds: float = Field(default=60.0, gt=0)
    """How long a "minute" of the limits lasts (the hour is 60 of them): shorter for fast tests."""


class _Window:
    def __init__(self, limit: int, duration: float) -> None:
        self.limit = limit
        self.duration = duration
        self.history: dict[int, deque[float]] = {}

    def allow(self, key: int, now: float) -> float | None:
        """Record and allow (``None``), or refuse with DRF's wait."""
        history = self.history.setdefault(key, deque())
        while history and history[0] <= now - self.duration:
            history.popleft()
        if len(history) >= self.limit:
            remaining = self.duration - (now - history[0]) if history else self.duration
            available = self.limit - len(history) + 1
            return remaining / available if available > 0 else remaining
        history.append(now)
        return None


class RateLimiter:
    """Both windows for every organisation."""

    def __init__(
        self, config: RateLimitConfig, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._clock = clock
        self.config = config
        self._windows: list[_Window] = []
        self.configure(config)

    def configure(self, config: RateLimitConfig) -> None:
        """Adopt new limits (the logs start empty)."""
        self.config = config.model_copy()
        minute = config.minute_seconds
        self._windows = [_Window(config.per_minute, minute), _Window(config.per_hour, 60 * minute)]

    def check(self, organization_id: int) -> float | None:
        """``None`` when the request may proceed, else the seconds to wait."""
        if not self.config.enabled:
            return None
        now = self._clock()
        waits = [
            wait
            for wait in (window.allow(organization_id, now) for window in self._windows)
            if wait is not None
        ]
        return max(waits) if waits else None
