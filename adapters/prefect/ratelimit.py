"""PostHog's request budget shared by every worker, through a Prefect global concurrency limit.

A Prefect rate limit is a token bucket: ``capacity`` slots that refill at ``per_second``. In any
window of W seconds it admits at most capacity + per_second·W requests, so the bucket is sized
to stay inside both of PostHog's windows (480 per minute, 4,800 per hour by default) with a
margin for requests that arrive later than they were admitted.
"""

from __future__ import annotations

from dataclasses import dataclass

from prefect.concurrency.asyncio import rate_limit

from adapters.prefect.connection import prefect_api

LIMIT_NAME = "posthog-api"


@dataclass(frozen=True)
class Bucket:
    """A token bucket that fits inside PostHog's two sliding windows."""

    capacity: int
    per_second: float

    @classmethod
    def for_budget(
        cls, per_minute: int = 480, per_hour: int = 4800, *, margin: float = 0.9
    ) -> Bucket:
        """Half the minute budget as burst; refill so that an hour stays under the hourly budget."""
        capacity = max(1, int(per_minute * margin) // 2)
        per_second = min(
            (per_minute * margin - capacity) / 60.0,
            (per_hour * margin - capacity) / 3600.0,
        )
        return cls(capacity, max(per_second, 0.01))

    def admits(self, seconds: float) -> float:
        """The most requests this bucket lets through in any window of ``seconds``."""
        return self.capacity + self.per_second * seconds


class PrefectRateLimiter:
    """A :class:`adapters.posthog.ratelimit.Limiter` backed by a Prefect global concurrency limit."""

    def __init__(self, name: str = LIMIT_NAME, bucket: Bucket | None = None) -> None:
        self.name = name
        self.bucket = bucket or Bucket.for_budget()
        self._ready = False

    async def acquire(self) -> None:
        if not self._ready:
            async with prefect_api() as client:
                await client.upsert_global_concurrency_limit_by_name(
                    self.name, self.bucket.capacity, slot_decay_per_second=self.bucket.per_second
                )
            self._ready = True
        await rate_limit(self.name, occupy=1, strict=True)

    def release(self) -> None:
        """Rate-limit slots decay on their own."""
