"""Why the lifecycle refuses or fails: one exception per reason, translated once per adapter."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from lifecycle.ports import UpstreamNotFoundError


class LifecycleError(Exception):
    """Base class of the lifecycle's own errors."""


class ExperimentNotFoundError(LifecycleError, UpstreamNotFoundError):
    """The experiment does not exist or was soft-deleted."""


class InvalidArgumentsError(LifecycleError, ValueError):
    """The action's arguments are wrong; ``field`` names the offending one."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        if field and not message.startswith(f"{field}:"):
            message = f"{field}: {message}"
        super().__init__(message)
        self.message = message
        self.field = field


class TransitionRefusedError(LifecycleError):
    """The action is not possible now. ``reason`` is PostHog's text where PostHog has one.

    ``allowed`` lists the actions that are possible from the current status, so a caller (or an
    agent) can correct itself.
    """

    def __init__(
        self,
        reason: str,
        *,
        action: str,
        status: str,
        allowed: Sequence[str] = (),
        experiment_id: int | None = None,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.action = action
        self.status = status
        self.allowed = list(allowed)
        self.experiment_id = experiment_id

    def as_dict(self) -> dict[str, Any]:
        return {
            "reason": self.reason,
            "action": self.action,
            "status": self.status,
            "allowed_actions": self.allowed,
        }


class LifecycleFieldError(TransitionRefusedError):
    """A generic update tried to change a field only a lifecycle action may change."""

    def __init__(self, fields: Mapping[str, str], *, action: str, status: str = "") -> None:
        names = ", ".join(sorted(fields))
        hints = "; ".join(f"{name}: {hint}" for name, hint in sorted(fields.items()))
        super().__init__(
            f"{names} can only change through lifecycle actions ({hints})",
            action=action,
            status=status,
        )
        self.fields = dict(fields)


class ConfirmationRequiredError(LifecycleError):
    """The action is possible but consequential; repeat it with ``confirm=True``."""


class LifecycleDriftError(LifecycleError):
    """PostHog's state after an action disagrees with what the action should have produced."""


class PlanNotFoundError(LifecycleError):
    """The experiment has no automation plan."""


class SchedulerUnavailableError(LifecycleError):
    """The scheduler (Prefect's API) cannot be reached; nothing was scheduled or changed."""
