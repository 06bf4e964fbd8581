"""What the lifecycle needs from PostHog: the gateway protocol and the failures it understands.

The PostHog client in ``adapters/posthog`` implements :class:`ExperimentsGateway` structurally and
raises errors that subclass the markers below, so the lifecycle can react to PostHog's answers
without importing the client.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from lifecycle.snapshot import Experiment, ExperimentPage


class UpstreamError(Exception):
    """A failure reported by (or on the way to) PostHog."""


class UpstreamNotFoundError(UpstreamError):
    """The experiment does not exist, or was soft-deleted."""


class UpstreamRefusedError(UpstreamError):
    """PostHog refused the request (a 400); ``detail`` is PostHog's reason, ``attr`` the field."""

    detail: str
    attr: str | None = None


class UpstreamThrottledError(UpstreamError):
    """PostHog throttled the request before handling it (429); nothing was applied."""

    retry_after: float | None = None


class UpstreamApprovalRequiredError(UpstreamError):
    """The change waits for approval in PostHog; nothing changed yet."""

    change_request_id: str | None = None


class UpstreamOutcomeUnknownError(UpstreamError):
    """The request may or may not have been applied (timeout, dropped connection, 5xx)."""


class ExperimentsGateway(Protocol):
    """The PostHog operations the lifecycle service calls (operation names are the table's)."""

    async def get_experiment(self, id: int, /, *, project_id: int | None = None) -> Experiment:
        """Read one experiment."""
        ...

    async def list_experiments(
        self, query: Mapping[str, Any] | None = None, /, *, project_id: int | None = None
    ) -> ExperimentPage:
        """Read one page of experiments."""
        ...

    async def invoke(
        self,
        operation: str,
        experiment_id: int,
        body: Mapping[str, Any] | None = None,
        /,
        *,
        project_id: int | None = None,
    ) -> Any:
        """Call an experiment operation by name; returns PostHog's JSON."""
        ...

    def describe(
        self,
        operation: str,
        experiment_id: int,
        body: Mapping[str, Any] | None = None,
        /,
        *,
        project_id: int | None = None,
    ) -> dict[str, Any]:
        """What :meth:`invoke` would send (method, path, body), without sending it."""
        ...
