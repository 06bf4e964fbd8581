"""PostHog's error answers: the exceptions-hog envelope, the non-envelope bodies, DRF's texts.

Every failure the sandbox answers is an :class:`ApiError`: a status code, a JSON body (or
``None`` for an empty body) and extra headers. The constructors below produce exactly the bodies
PostHog sends (``posthog-experiments-api.md`` §2.4), so handlers never build error JSON by hand.
"""

from __future__ import annotations

import math
from typing import Any

# DRF's default field error texts (rest_framework/fields.py, relations.py, serializers.py).
REQUIRED = "This field is required."
NULL = "This field may not be null."
BLANK = "This field may not be blank."
NOT_A_STRING = "Not a valid string."
NOT_A_BOOLEAN = "Must be a valid boolean."
NOT_AN_INTEGER = "A valid integer is required."
DATETIME_FORMAT = (
    "Datetime has wrong format. Use one of these formats instead: "
    "YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z]."
)
NOT_A_DICT = "Invalid data. Expected a dictionary, but got {datatype}."


def max_length_text(limit: int) -> str:
    """DRF's ``max_length`` text."""
    return f"Ensure this field has no more than {limit} characters."


def invalid_choice_text(value: object) -> str:
    """DRF's ``invalid_choice`` text."""
    return f'"{value}" is not a valid choice.'


def not_a_list_text(value: object) -> str:
    """DRF's ``not_a_list`` text."""
    return f'Expected a list of items but got type "{type(value).__name__}".'


class ApiError(Exception):
    """A finished HTTP answer: status, JSON body (``None`` = empty body) and headers."""

    def __init__(
        self, status: int, body: dict[str, Any] | None, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(body.get("detail") if body else status)
        self.status = status
        self.body = body
        self.headers = headers or {}


def envelope(type_: str, code: str, detail: str, attr: str | None = None) -> dict[str, Any]:
    """The exceptions-hog body ``{type, code, detail, attr}``."""
    return {"type": type_, "code": code, "detail": detail, "attr": attr}


def validation_error(detail: str, attr: str | None = None, code: str = "invalid_input") -> ApiError:
    """A 400 ``validation_error``; exceptions-hog renames DRF's ``invalid`` code ``invalid_input``."""
    return ApiError(
        400,
        envelope("validation_error", "invalid_input" if code == "invalid" else code, detail, attr),
    )


def parse_error(message: str) -> ApiError:
    """DRF's ParseError for a malformed JSON body."""
    return ApiError(
        400, envelope("invalid_request", "parse_error", f"JSON parse error - {message}")
    )


def unsupported_media_type(media_type: str) -> ApiError:
    """DRF's UnsupportedMediaType."""
    return ApiError(
        415,
        envelope(
            "invalid_request",
            "unsupported_media_type",
            f'Unsupported media type "{media_type}" in request.',
        ),
    )


def not_found() -> ApiError:
    """DRF's NotFound."""
    return ApiError(404, envelope("invalid_request", "not_found", "Not found."))


def method_not_allowed(method: str) -> ApiError:
    """DRF's MethodNotAllowed."""
    return ApiError(
        405, envelope("invalid_request", "method_not_allowed", f'Method "{method}" not allowed.')
    )


def not_authenticated() -> ApiError:
    """DRF's NotAuthenticated: no credentials at all."""
    return ApiError(
        401,
        envelope(
            "authentication_error",
            "not_authenticated",
            "Authentication credentials were not provided.",
        ),
        {"WWW-Authenticate": "Bearer"},
    )


def authentication_failed() -> ApiError:
    """PostHog's answer to an unknown personal API key."""
    return ApiError(
        401,
        envelope(
            "authentication_error",
            "authentication_failed",
            "Personal API key found in request Authorization header is invalid.",
        ),
        {"WWW-Authenticate": "Bearer"},
    )


def permission_denied(detail: str) -> ApiError:
    """DRF's PermissionDenied with PostHog's text."""
    return ApiError(403, envelope("authentication_error", "permission_denied", detail))


def throttled(wait_seconds: float) -> ApiError:
    """DRF's Throttled: the detail and Retry-After both use the ceiling of the wait."""
    wait = max(0, math.ceil(wait_seconds))
    unit = "second" if wait == 1 else "seconds"
    detail = f"Request was throttled. Expected available in {wait} {unit}."
    return ApiError(
        429, envelope("throttled_error", "throttled", detail), {"Retry-After": str(wait)}
    )


def server_error(status: int = 500) -> ApiError:
    """An unhandled error as exceptions-hog renders it."""
    return ApiError(status, envelope("server_error", "error", "A server error occurred."))


def plain(status: int, body: dict[str, Any]) -> ApiError:
    """A view's own ``Response`` that bypasses the exception handler."""
    return ApiError(status, body)


class FieldError(Exception):
    """One DRF field error: where (``path``), what (``detail``) and DRF's ``code``."""

    def __init__(
        self, detail: str, code: str = "invalid", path: tuple[str | int, ...] = ()
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.code = code
        self.path = path

    def under(self, *prefix: str | int) -> FieldError:
        """The same error nested below ``prefix``."""
        return FieldError(self.detail, self.code, (*prefix, *self.path))

    def to_api_error(self) -> ApiError:
        """Render as exceptions-hog does: nested keys joined by ``__``."""
        attr = "__".join(str(part) for part in self.path) or None
        if attr == "non_field_errors":
            attr = None
        return validation_error(self.detail, attr, self.code)
