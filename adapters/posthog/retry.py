"""When and how long the client waits before trying a retry-safe request again.

Only operations marked idempotent in the operation table (GET, PUT, PATCH) are retried, and only
after failures that a retry can fix: transport errors, 429 (honouring ``Retry-After``) and
502/503/504. POST actions are never retried here: the lifecycle layer re-reads the experiment and
decides, because PostHog's lifecycle POSTs are not idempotent.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import anyio

from adapters.posthog.errors import (
    PostHogError,
    PostHogTransportError,
    RateLimitedError,
    ServerError,
)

RETRYABLE_SERVER_STATUSES = frozenset({502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded exponential backoff with full jitter.

    ``max_attempts`` counts the first try; ``max_total`` bounds the time spent waiting across all
    retries of one call (a ``Retry-After`` longer than what is left ends the retries).
    """

    max_attempts: int = 4
    base_delay: float = 0.5
    max_delay: float = 8.0
    max_total: float = 60.0
    sleep: Callable[[float], Awaitable[None]] = field(default=anyio.sleep, compare=False)
    jitter: Callable[[], float] = field(default=random.random, compare=False)

    def should_retry(self, error: PostHogError) -> bool:
        """Whether a retry can fix this failure (for a retry-safe operation)."""
        if isinstance(error, PostHogTransportError | RateLimitedError):
            return True
        return isinstance(error, ServerError) and error.status_code in RETRYABLE_SERVER_STATUSES

    def delay(self, attempt: int, error: PostHogError) -> float:
        """Seconds to wait before attempt ``attempt + 1`` (``attempt`` starts at 1)."""
        if isinstance(error, RateLimitedError) and error.retry_after is not None:
            return error.retry_after
        ceiling = min(self.max_delay, self.base_delay * 2.0 ** (attempt - 1))
        return ceiling * self.jitter()
