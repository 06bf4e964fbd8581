"""Every failure a tool can meet, translated once into an MCP tool error an agent can act on.

Failures are results, not protocol errors (the capability's semantics: upstream errors become
``isError`` results carrying PostHog's message), so the model reads them and can correct itself.
Each result has a one-paragraph text and ``structured_content = {"error": {...}}``:

=====================================  ===========================================================
failure                                tool error
=====================================  ===========================================================
arguments fail the input schema        ``invalid_arguments``: every offending field and why
RequestValidationError (client)        ``invalid_arguments``: PostHog's ``attr``, nothing was sent
InvalidArgumentsError (lifecycle)      ``invalid_arguments``: the field
LifecycleFieldError                    ``lifecycle_field``: the fields and the action to use
TransitionRefusedError                 ``transition_refused``: reason, status, allowed actions/tools
ConfirmationRequiredError              ``confirmation_required``: repeat with ``confirm: true``
ExperimentNotFoundError                ``not_found`` (404)
RateLimitedError (429)                 ``rate_limited``: when to retry
APIStatusError (4xx/5xx)               ``posthog_error``: PostHog's status, message, code and attr
PostHogTransportError                  ``unreachable``: PostHog did not answer; outcome unknown
ResponseDecodeError                    ``bad_response``
ConfigurationError                     ``configuration``
other LifecycleError                   ``lifecycle``: its message
a write by a read-only caller          ``read_only``: only ``dry_run: true`` is allowed
=====================================  ===========================================================

Anything else is a bug: the SDK reports it as a bare "Error executing tool" and logs the
traceback. No text here ever includes the PostHog key: only PostHog's answers and our own words.
"""

from __future__ import annotations

from typing import Any

from mcp.types import CallToolResult, TextContent
from pydantic import ValidationError

from adapters.mcp.tools import LIFECYCLE_TOOLS
from adapters.posthog.errors import (
    APIStatusError,
    ConfigurationError,
    MethodNotAllowedError,
    PostHogError,
    PostHogTransportError,
    RateLimitedError,
    RequestValidationError,
    ResponseDecodeError,
    ServerError,
)
from adapters.posthog.operations import PATCH_EXPERIMENT
from lifecycle.errors import (
    ConfirmationRequiredError,
    ExperimentNotFoundError,
    InvalidArgumentsError,
    LifecycleError,
    LifecycleFieldError,
    TransitionRefusedError,
)


def tool_error(error: Exception) -> CallToolResult | None:
    """The tool error for a failure we anticipate; ``None`` for anything else (a bug)."""
    if isinstance(error, PostHogError):
        return _posthog(error)
    if isinstance(error, LifecycleError):
        return _lifecycle(error)
    return None


def invalid_arguments(tool: str, error: ValidationError) -> CallToolResult:
    """Arguments that do not match the tool's input schema: every offending field, named."""
    problems = []
    for item in error.errors():
        name = ".".join(str(part) for part in item["loc"]) or "(arguments)"
        text = "unknown argument" if item["type"] == "extra_forbidden" else str(item["msg"])
        problems.append({"field": name, "message": text.removeprefix("Value error, ")})
    listed = "; ".join(f"{p['field']}: {p['message']}" for p in problems)
    return _result(
        f"Invalid arguments for {tool}: {listed}.",
        "invalid_arguments",
        field=problems[0]["field"],
        errors=problems,
    )


def write_refused(tool: str, *, why: str) -> CallToolResult:
    """A write asked for by a caller that may only read (and dry-run)."""
    return _result(
        f"{tool} changes PostHog, and {why}: only reads and dry runs are allowed. Call it with "
        "dry_run: true to see what it would do.",
        "read_only",
        tool=tool,
    )


def _posthog(error: PostHogError) -> CallToolResult:
    if isinstance(error, RequestValidationError):
        field = error.attr
        return _result(
            f"Invalid argument: {_naming(field, error.detail)} (nothing was sent).",
            "invalid_arguments",
            field=field,
        )
    if isinstance(error, RateLimitedError):
        when = (
            f"retry in {error.retry_after:g} s"
            if error.retry_after is not None
            else "retry in a minute"
        )
        return _result(
            f"PostHog is rate-limiting this organisation (429: {error.detail}): {when}. "
            "Nothing was applied.",
            "rate_limited",
            status=error.status_code,
            retry_after=error.retry_after,
        )
    if isinstance(error, APIStatusError):
        return _api_status(error)
    if isinstance(error, PostHogTransportError):
        return _result(
            f"PostHog is unreachable: {error}. A change may or may not have been applied: read "
            "the experiment before retrying.",
            "unreachable",
        )
    if isinstance(error, ResponseDecodeError):
        return _result(f"PostHog's answer was not understood: {error}", "bad_response")
    if isinstance(error, ConfigurationError):
        return _result(f"expctl's PostHog connection is misconfigured: {error}", "configuration")
    return _result(f"PostHog call failed: {error}", "posthog_error")


def _api_status(error: APIStatusError) -> CallToolResult:
    text = f"PostHog answered {error.status_code}: {error.detail}"
    if error.attr:
        text += f" (field: {error.attr})"
    if isinstance(error, MethodNotAllowedError) and error.method == "DELETE":
        text += f" Soft-delete with {PATCH_EXPERIMENT.mcp_tool} and deleted: true."
    if isinstance(error, ServerError):
        text += " A change may or may not have been applied: read the experiment before retrying."
    return _result(
        text,
        "posthog_error",
        status=error.status_code,
        code=error.code,
        attr=error.attr,
        detail=error.detail,
    )


def _lifecycle(error: LifecycleError) -> CallToolResult:
    if isinstance(error, LifecycleFieldError):
        return _result(
            f"Refused: {error.reason}.",
            "lifecycle_field",
            field=sorted(error.fields)[0],
            fields=sorted(error.fields),
            allowed_tools=sorted(set(LIFECYCLE_TOOLS.values())),
        )
    if isinstance(error, TransitionRefusedError):
        allowed = error.allowed
        choices = ", ".join(
            f"{action} ({LIFECYCLE_TOOLS.get(action, action)})" for action in allowed
        )
        subject = f" experiment {error.experiment_id}" if error.experiment_id else ""
        return _result(
            f"Refused: {error.action}{subject} while it is {error.status}: "
            f"{error.reason.rstrip('.')}. Allowed now: {choices or 'no lifecycle action'}.",
            "transition_refused",
            **error.as_dict(),
            allowed_tools=[LIFECYCLE_TOOLS[a] for a in allowed if a in LIFECYCLE_TOOLS],
        )
    if isinstance(error, InvalidArgumentsError):
        field = error.field
        return _result(
            f"Invalid argument: {_naming(field, error.message)}.",
            "invalid_arguments",
            field=field,
        )
    if isinstance(error, ConfirmationRequiredError):
        return _result(
            f"Confirmation required: {error} Call again with confirm: true to go ahead.",
            "confirmation_required",
        )
    if isinstance(error, ExperimentNotFoundError):
        return _result(f"Not found (404): {error}", "not_found", status=404)
    return _result(str(error), "lifecycle")


def _result(message: str, kind: str, **details: Any) -> CallToolResult:
    error = {"type": kind, "message": message, **details}
    return CallToolResult(
        content=[TextContent(type="text", text=message)],
        structured_content={"error": error},
        is_error=True,
    )


def _naming(field: str | None, message: str) -> str:
    """``"field: message"``, without naming the field twice when the message already does."""
    if not field or message.startswith(f"{field}: "):
        return message
    return f"{field}: {message}"
