"""Which failures a Prefect task retry can fix: the transient ones, never PostHog's refusals."""

from __future__ import annotations

from typing import Any

from lifecycle.errors import SchedulerUnavailableError
from lifecycle.ports import UpstreamOutcomeUnknownError, UpstreamThrottledError

TRANSIENT = (UpstreamOutcomeUnknownError, UpstreamThrottledError, SchedulerUnavailableError)


def retry_if_transient(task: Any, task_run: Any, state: Any) -> bool:
    """Retry timeouts, dropped connections, 5xx, 429 and an unreachable Prefect; fail fast otherwise.

    Safe because every step that is retried is idempotent end to end: the lifecycle service
    re-reads the experiment and treats "already done" as success.
    """
    error = getattr(state, "data", None)
    return isinstance(error, TRANSIENT)
