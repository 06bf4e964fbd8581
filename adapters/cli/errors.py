"""How the CLI reports failures: one message on stderr and an exit code (1 refused, 2 bad input).

=====================================================  ====  =========================================
error                                                  code  shown as
=====================================================  ====  =========================================
lifecycle refusal, confirmation needed                 1     the reason and the allowed actions
PostHog error (4xx other than 404, 5xx), unreachable   1     PostHog's status and message
no such experiment or plan                             2     what was not found
bad arguments (ours, the client's, a plan's fields)    2     the field and what was expected
missing configuration (no key, bad host)               2     what to set
=====================================================  ====  =========================================
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

import typer

from adapters.cli.output import err_console

P = ParamSpec("P")
R = TypeVar("R")

REFUSED = 1
BAD_INPUT = 2


def fail(message: str, code: int, *, hint: str | None = None) -> typer.Exit:
    """Print ``message`` (and a hint) on stderr; return the Exit to raise."""
    err_console().print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    if hint:
        err_console().print(f"[dim]{hint}[/]", highlight=False, soft_wrap=True)
    return typer.Exit(code)


def translate(error: BaseException) -> typer.Exit | None:
    """The Exit for a known error, or None to let it propagate."""
    from adapters.posthog.errors import (
        APIStatusError,
        ConfigurationError,
        NotFoundError,
        PostHogTransportError,
        RequestValidationError,
    )
    from lifecycle.errors import (
        ConfirmationRequiredError,
        ExperimentNotFoundError,
        InvalidArgumentsError,
        LifecycleDriftError,
        LifecycleFieldError,
        PlanNotFoundError,
        SchedulerUnavailableError,
        TransitionRefusedError,
    )

    if isinstance(error, LifecycleFieldError):
        return fail(str(error), BAD_INPUT)
    if isinstance(error, TransitionRefusedError):
        allowed = ", ".join(error.allowed) or "none"
        return fail(
            f"refused: {error.reason}",
            REFUSED,
            hint=f"status: {error.status}; allowed actions: {allowed}",
        )
    if isinstance(error, ConfirmationRequiredError):
        return fail(str(error), REFUSED, hint="add --confirm to go ahead")
    if isinstance(error, InvalidArgumentsError | RequestValidationError | ConfigurationError):
        return fail(str(error), BAD_INPUT)
    if isinstance(error, ExperimentNotFoundError | PlanNotFoundError):
        return fail(str(error), BAD_INPUT)
    if isinstance(error, NotFoundError):
        return fail(f"not found ({error.url}): {error.detail}", BAD_INPUT)
    if isinstance(error, APIStatusError):
        return fail(f"PostHog answered {error.status_code}: {error}", REFUSED)
    if isinstance(error, PostHogTransportError | SchedulerUnavailableError | LifecycleDriftError):
        return fail(str(error), REFUSED)
    return None


def handles_errors(command: Callable[P, R]) -> Callable[P, R]:
    """Turn known errors of a command into a message and an exit code, never a traceback."""

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except typer.Exit:
            raise
        except KeyboardInterrupt:
            raise typer.Exit(130) from None
        except Exception as error:
            exit_ = translate(error)
            if exit_ is None:
                raise
            raise exit_ from None

    return wrapper
