"""The REST adapter's own response bodies: the error envelope, dry runs, health and readiness.

Success bodies of the ``/v1`` routes are PostHog's (the operation table's response models); these
document everything else in the OpenAPI.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict


class ErrorEnvelope(BaseModel):
    """PostHog's error body; expctl's lifecycle refusals add action, status and allowed_actions."""

    model_config = ConfigDict(extra="allow", use_attribute_docstrings=True)

    type: str | None = None
    """validation_error, invalid_request, authentication_error, throttled_error or server_error."""
    code: str | None = None
    """Machine-readable reason, e.g. not_found, transition_refused, invalid_input."""
    detail: str | None = None
    """What went wrong, for people."""
    attr: str | None = None
    """The offending field or parameter, when there is one."""
    action: str | None = None
    """Lifecycle refusals: the refused action."""
    status: str | None = None
    """Lifecycle refusals: the experiment's current status."""
    allowed_actions: list[str] | None = None
    """Lifecycle refusals: the actions possible from the current status."""


class DryRun(BaseModel):
    """What a mutating route would do with ``?dry_run=true``; nothing was sent to PostHog."""

    model_config = ConfigDict(use_attribute_docstrings=True)

    outcome: Literal["dry_run"] = "dry_run"
    operation: str
    """The operation-table name of the route."""
    message: str
    """What would happen, e.g. "would launch: draft → running"."""
    status_before: str | None = None
    """Lifecycle and update routes: the experiment's status now."""
    status_after: str | None = None
    """Lifecycle routes: the status the action would lead to."""
    request: dict[str, Any] | None = None
    """The PostHog request that would be sent: operation, method, path, query, body."""
    warnings: list[str] = []
    """expctl's launch checks that would not block the action."""
    experiment: dict[str, Any] | None = None
    """Lifecycle and update routes: PostHog's JSON of the experiment as it is now."""


class Health(BaseModel):
    """The process is up."""

    status: Literal["ok"] = "ok"


class CheckResult(BaseModel):
    """One readiness probe's answer."""

    name: str
    ok: bool
    detail: str
    duration_ms: float


class Readiness(BaseModel):
    """Whether every dependency answers: PostHog with the configured key, plus the added probes."""

    status: Literal["ready", "not_ready"]
    failed: list[str]
    """Names of the probes that failed."""
    checks: list[CheckResult]
