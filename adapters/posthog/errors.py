"""Every error the PostHog client raises, and the one function that maps a response to one.

::

    PostHogError
    ├── ConfigurationError            missing key, malformed host (raised at construction)
    ├── RequestValidationError        our request failed its model before any I/O
    ├── PostHogTransportError         nothing usable came back        (outcome unknown)
    │   ├── PostHogTimeoutError
    │   └── PostHogConnectionError
    ├── APIStatusError                PostHog answered with an error status; keeps its envelope
    │   ├── BadRequestError           400 (PostHog's validation and lifecycle preconditions)
    │   ├── AuthenticationError       401
    │   ├── PermissionDeniedError     403 (e.g. a missing scope)
    │   ├── NotFoundError             404
    │   ├── MethodNotAllowedError     405 (DELETE on an experiment: use soft delete)
    │   ├── ConflictError             409
    │   │   └── ApprovalRequiredError     409 approval_required (ship_variant); carries change_request_id
    │   ├── RateLimitedError          429; carries retry_after
    │   └── ServerError               5xx                              (outcome unknown)
    └── ResponseDecodeError           a success whose body is not what the operation returns

PostHog's error envelope is ``{"type", "code", "detail", "attr"}``; some views answer
``{"detail": ...}`` or ``{"error": ...}`` instead, and a 405 on DELETE has an empty body. All of
them land in the same attributes here.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

import httpx

from lifecycle.ports import (
    UpstreamApprovalRequiredError,
    UpstreamError,
    UpstreamNotFoundError,
    UpstreamOutcomeUnknownError,
    UpstreamRefusedError,
    UpstreamThrottledError,
)


class PostHogError(UpstreamError):
    """Base class of everything the PostHog client raises."""


class ConfigurationError(PostHogError, ValueError):
    """The client cannot be built: a missing API key, a malformed host, a bad setting."""


class RequestValidationError(PostHogError, ValueError):
    """The request does not match the operation's parameters; nothing was sent.

    ``attr`` names the offending field, as PostHog's envelope does.
    """

    def __init__(self, detail: str, *, attr: str | None = None, operation: str | None = None):
        super().__init__(detail)
        self.detail = detail
        self.attr = attr
        self.operation = operation


class PostHogTransportError(PostHogError, UpstreamOutcomeUnknownError):
    """No usable answer arrived: the request may or may not have been applied."""


class PostHogTimeoutError(PostHogTransportError):
    """PostHog did not answer in time."""


class PostHogConnectionError(PostHogTransportError):
    """The connection could not be made, or broke before the answer was complete."""


class ResponseDecodeError(PostHogError):
    """A success answer whose body does not have the shape the operation returns."""


class APIStatusError(PostHogError):
    """PostHog answered with an error status.

    ``type``, ``code``, ``detail`` and ``attr`` are PostHog's envelope fields (``None`` when the
    body did not carry them); ``body`` is the decoded body, or the raw text when it was not JSON.
    """

    status_code: int

    def __init__(
        self,
        status_code: int,
        *,
        detail: str,
        type: str | None = None,
        code: str | None = None,
        attr: str | None = None,
        body: Any = None,
        method: str = "",
        url: str = "",
    ):
        super().__init__(detail)
        self.status_code = status_code
        self.detail = detail
        self.type = type
        self.code = code
        self.attr = attr
        self.body = body
        self.method = method
        self.url = url

    def __str__(self) -> str:
        where = f" ({self.attr})" if self.attr else ""
        return f"{self.detail}{where}"

    def envelope(self) -> dict[str, Any]:
        """The error in PostHog's envelope shape."""
        return {"type": self.type, "code": self.code, "detail": self.detail, "attr": self.attr}


class BadRequestError(APIStatusError, UpstreamRefusedError):
    """400: PostHog rejected the input or a lifecycle precondition failed."""


class AuthenticationError(APIStatusError):
    """401: the personal API key is missing or invalid."""


class PermissionDeniedError(APIStatusError):
    """403: the key lacks a scope or access to the project."""


class NotFoundError(APIStatusError, UpstreamNotFoundError):
    """404: no such experiment (or it was soft-deleted), or no such route."""


class MethodNotAllowedError(APIStatusError):
    """405: PostHog does not allow this method here (hard delete of an experiment)."""


class ConflictError(APIStatusError):
    """409: the change conflicts with the current state."""


class ApprovalRequiredError(ConflictError, UpstreamApprovalRequiredError):
    """409 approval_required: PostHog created a change request instead of applying the change."""

    def __init__(self, status_code: int, **kwargs: Any):
        super().__init__(status_code, **kwargs)
        value = self.body.get("change_request_id") if isinstance(self.body, Mapping) else None
        self.change_request_id = None if value is None else str(value)


class RateLimitedError(APIStatusError, UpstreamThrottledError):
    """429: the organisation's request budget is spent; ``retry_after`` is in seconds."""

    def __init__(self, status_code: int, *, retry_after: float | None = None, **kwargs: Any):
        super().__init__(status_code, **kwargs)
        self.retry_after = retry_after


class ServerError(APIStatusError, UpstreamOutcomeUnknownError):
    """5xx: PostHog failed; a write may or may not have been applied."""


_BY_STATUS: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    405: MethodNotAllowedError,
    409: ConflictError,
    429: RateLimitedError,
}

_DELETE_HINT = (
    "PostHog does not allow hard-deleting experiments (405). "
    'Soft-delete instead: PATCH {"deleted": true} (client.soft_delete_experiment).'
)


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds form; HTTP dates are not used by PostHog)."""
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


def error_from_response(response: httpx.Response) -> APIStatusError:
    """Build the error for a non-success response, keeping PostHog's envelope when present."""
    status = response.status_code
    body: Any
    try:
        body = response.json() if response.content else None
    except (json.JSONDecodeError, UnicodeDecodeError):
        body = response.text
    detail, type_, code, attr = _read_body(body)
    if detail is None:
        detail = _DELETE_HINT if status == 405 and response.request.method == "DELETE" else ""
        detail = detail or f"PostHog answered {status} {response.reason_phrase}".strip()
    fields: dict[str, Any] = {
        "detail": detail,
        "type": type_,
        "code": code,
        "attr": attr,
        "body": body,
        "method": response.request.method,
        "url": str(response.request.url.copy_with(query=None)),
    }
    if status == 409 and isinstance(body, Mapping) and body.get("status") == "approval_required":
        return ApprovalRequiredError(status, **fields)
    if status == 429:
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        return RateLimitedError(status, retry_after=retry_after, **fields)
    if status >= 500:
        return ServerError(status, **fields)
    return _BY_STATUS.get(status, APIStatusError)(status, **fields)


def _read_body(body: Any) -> tuple[str | None, str | None, str | None, str | None]:
    """(detail, type, code, attr) from any of PostHog's error body shapes."""
    if isinstance(body, Mapping):
        detail = body.get("detail", body.get("error", body.get("message")))
        attr = body.get("attr")
        return (
            None if detail is None else str(detail),
            _str_or_none(body.get("type")),
            _str_or_none(body.get("code")),
            _str_or_none(attr),
        )
    if isinstance(body, str) and body.strip():
        return body.strip()[:500], None, None, None
    return None, None, None, None


def _str_or_none(value: Any) -> str | None:
    return None if value is None else str(value)
