"""Every error the REST adapter answers, translated in this one module into PostHog's envelope.

The body is always PostHog's shape ``{"type", "code", "detail", "attr"}`` (lifecycle refusals add
``action``, ``status`` and ``allowed_actions``), except where PostHog's own answer is passed
through whole:

==============================================  ======  =========================================
raised                                          status  body
==============================================  ======  =========================================
PostHog error status (APIStatusError)           same    PostHog's body, whole (empty stays empty)
PostHog 401: the server's key was rejected      502     upstream_authentication_failed (logged)
PostHog 429                                     503     upstream_throttled, with Retry-After
PostHog 5xx                                     502     upstream_error, PostHog's detail inside
PostHog timeout                                 504     upstream_timeout
PostHog unreachable / connection broke          502     upstream_unreachable
PostHog answered a body we cannot read          502     upstream_invalid_response
client RequestValidationError                   422     invalid_input, attr = the field
TransitionRefusedError                          409     transition_refused + action, status,
                                                        allowed_actions
LifecycleFieldError                             422     lifecycle_field, attr = the field
ConfirmationRequiredError                       409     confirmation_required, attr = confirm
InvalidArgumentsError                           422     invalid_input, attr = the field
ExperimentNotFoundError                         404     not_found
LifecycleDriftError                             502     lifecycle_drift
FastAPI's request validation (path, query)      422     invalid_input, attr = the parameter
ApiError (ours: 400 parse_error, 401 with       its     its envelope
WWW-Authenticate, 403, 413, 422 ...)
Starlette 404 (no route) / 405 (wrong method)   same    not_found / method_not_allowed (Allow
                                                        lists every method of the path)
anything else                                   500     "A server error occurred." (logged with
                                                        its traceback, never sent)
==============================================  ======  =========================================

Routers added to the app (the automation routes) get all of this by raising: :class:`ApiError`
for their own refusals, or letting client and lifecycle errors propagate.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError as FastAPIValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from adapters.posthog.errors import (
    APIStatusError,
    AuthenticationError,
    PostHogConnectionError,
    PostHogError,
    PostHogTimeoutError,
    RateLimitedError,
    RequestValidationError,
    ResponseDecodeError,
    ServerError,
)
from lifecycle.errors import (
    ConfirmationRequiredError,
    ExperimentNotFoundError,
    InvalidArgumentsError,
    LifecycleDriftError,
    LifecycleError,
    LifecycleFieldError,
    PlanNotFoundError,
    SchedulerUnavailableError,
    TransitionRefusedError,
)
from lifecycle.ports import UpstreamError, UpstreamNotFoundError

logger = logging.getLogger("expctl.rest")

SERVER_ERROR_DETAIL = "A server error occurred."
DEFAULT_RETRY_AFTER = 60
"""Seconds to announce when PostHog throttled without saying how long (its window is a minute)."""

_CODES: dict[int, tuple[str, str]] = {
    400: ("invalid_request", "parse_error"),
    401: ("authentication_error", "not_authenticated"),
    403: ("authentication_error", "permission_denied"),
    404: ("invalid_request", "not_found"),
    405: ("invalid_request", "method_not_allowed"),
    409: ("invalid_request", "conflict"),
    413: ("invalid_request", "request_too_large"),
    415: ("invalid_request", "unsupported_media_type"),
    422: ("validation_error", "invalid_input"),
}


class ApiError(Exception):
    """An answer in PostHog's envelope; raise it from any route or dependency of the app."""

    def __init__(
        self,
        status_code: int,
        detail: str,
        *,
        code: str | None = None,
        type: str | None = None,
        attr: str | None = None,
        headers: Mapping[str, str] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        default_type, default_code = _CODES.get(status_code, ("server_error", "error"))
        self.status_code = status_code
        self.detail = detail
        self.code = code or default_code
        self.type = type or default_type
        self.attr = attr
        self.headers = dict(headers or {})
        self.extra = dict(extra or {})

    def envelope(self) -> dict[str, Any]:
        """The body: PostHog's four keys, then any extra ones."""
        return {**envelope(self.type, self.code, self.detail, self.attr), **self.extra}

    def response(self) -> JSONResponse:
        """This error as a response."""
        return JSONResponse(self.envelope(), self.status_code, headers=self.headers or None)


def envelope(type_: str, code: str, detail: str, attr: str | None = None) -> dict[str, Any]:
    """PostHog's error body ``{type, code, detail, attr}``."""
    return {"type": type_, "code": code, "detail": detail, "attr": attr}


def unauthenticated(detail: str) -> ApiError:
    """401 with the ``WWW-Authenticate: Bearer`` challenge."""
    return ApiError(401, detail, headers={"WWW-Authenticate": "Bearer"})


def forbidden(detail: str, *, attr: str | None = None) -> ApiError:
    """403 permission_denied."""
    return ApiError(403, detail, attr=attr)


def translate(error: BaseException) -> Response:
    """The response for ``error``: the table in the module docstring, in code."""
    if isinstance(error, ApiError):
        return error.response()
    if isinstance(error, PostHogError):
        return _passthrough(error) if _passes_through(error) else _posthog(error).response()
    if isinstance(error, LifecycleError | UpstreamError):
        return _lifecycle(error).response()
    if isinstance(error, FastAPIValidationError):
        return _validation(error).response()
    if isinstance(error, StarletteHTTPException):
        return _http(error).response()
    return ApiError(500, SERVER_ERROR_DETAIL, code="error").response()


def describe(error: BaseException) -> str:
    """One line saying what went wrong, safe to show (used by the readiness report)."""
    if isinstance(error, APIStatusError) and _passes_through(error):
        return f"PostHog answered {error.status_code}: {error.detail}"
    if isinstance(error, PostHogError | LifecycleError | UpstreamError):
        return str(_posthog(error) if isinstance(error, PostHogError) else _lifecycle(error))
    if isinstance(error, TimeoutError):
        return "no answer in time"
    return type(error).__name__


def _passes_through(error: PostHogError) -> bool:
    return isinstance(error, APIStatusError) and not isinstance(
        error, AuthenticationError | RateLimitedError | ServerError
    )


def _passthrough(error: PostHogError) -> Response:
    assert isinstance(error, APIStatusError)
    body = error.body
    if body is None or body == "":
        return Response(status_code=error.status_code)
    if isinstance(body, str):
        return PlainTextResponse(body, error.status_code)
    return JSONResponse(body, error.status_code)


def _posthog(error: PostHogError) -> ApiError:
    if isinstance(error, RequestValidationError):
        return ApiError(422, error.detail, attr=error.attr)
    if isinstance(error, AuthenticationError):
        logger.error(
            "PostHog rejected the server's API key (401) on %s %s", error.method, error.url
        )
        return ApiError(
            502,
            "PostHog rejected this server's PostHog API key (401): the server's operator must fix "
            "its POSTHOG_API_KEY. Nothing was changed.",
            code="upstream_authentication_failed",
            type="server_error",
        )
    if isinstance(error, RateLimitedError):
        seconds = _retry_after(error.retry_after)
        return ApiError(
            503,
            f"PostHog throttled this server ({error.detail}); retry after {seconds} s.",
            code="upstream_throttled",
            type="throttled_error",
            headers={"Retry-After": str(seconds)},
        )
    if isinstance(error, APIStatusError):
        return ApiError(
            502,
            f"PostHog failed with {error.status_code}: {error.detail}",
            code="upstream_error",
            type="server_error",
        )
    if isinstance(error, PostHogTimeoutError):
        return ApiError(504, str(error), code="upstream_timeout", type="server_error")
    if isinstance(error, PostHogConnectionError):
        return ApiError(502, str(error), code="upstream_unreachable", type="server_error")
    if isinstance(error, ResponseDecodeError):
        return ApiError(502, str(error), code="upstream_invalid_response", type="server_error")
    logger.error("PostHog client error: %s: %s", type(error).__name__, error)
    return ApiError(502, "The call to PostHog failed.", code="upstream_error", type="server_error")


def _lifecycle(error: LifecycleError | UpstreamError) -> ApiError:
    if isinstance(error, LifecycleFieldError):
        return ApiError(
            422,
            error.reason,
            code="lifecycle_field",
            attr=sorted(error.fields)[0] if error.fields else None,
        )
    if isinstance(error, TransitionRefusedError):
        return ApiError(
            409,
            error.reason,
            code="transition_refused",
            extra={
                "action": error.action,
                "status": error.status,
                "allowed_actions": list(error.allowed),
            },
        )
    if isinstance(error, ConfirmationRequiredError):
        return ApiError(
            409,
            f"{error} (Over REST: add ?confirm=true.)",
            code="confirmation_required",
            attr="confirm",
        )
    if isinstance(error, InvalidArgumentsError):
        return ApiError(422, error.message, attr=error.field)
    if isinstance(error, ExperimentNotFoundError | UpstreamNotFoundError):
        return ApiError(404, str(error) or "Not found.", code="not_found")
    if isinstance(error, LifecycleDriftError):
        return ApiError(502, str(error), code="lifecycle_drift", type="server_error")
    if isinstance(error, PlanNotFoundError):
        return ApiError(404, str(error), code="plan_not_found")
    if isinstance(error, SchedulerUnavailableError):
        return ApiError(
            503,
            str(error),
            code="scheduler_unavailable",
            type="server_error",
            headers={"Retry-After": "10"},
        )
    logger.error("lifecycle error: %s: %s", type(error).__name__, error)
    if isinstance(error, UpstreamError):
        return ApiError(502, "The call to PostHog failed.", code="upstream_error")
    return ApiError(500, SERVER_ERROR_DETAIL, code="error")


def _validation(error: FastAPIValidationError) -> ApiError:
    problems = list(error.errors())
    if not problems:
        return ApiError(422, "Invalid request.")
    first = problems[0]
    location = [str(part) for part in first.get("loc", ())]
    if first.get("type") == "json_invalid":
        return ApiError(400, "JSON parse error: the request body is not valid JSON.")
    attr = ".".join(location[1:]) if location[:1] in (["path"], ["query"], ["body"]) else None
    attr = attr or ".".join(location) or None
    message = str(first.get("msg", "invalid value")).removeprefix("Value error, ")
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    return ApiError(422, f"{attr}: {message}{more}" if attr else message, attr=attr)


def _http(error: StarletteHTTPException) -> ApiError:
    status = error.status_code
    if status == 404:
        detail = "Not found."
    elif status == 405:
        detail = "Method not allowed."
    else:
        detail = str(error.detail)
    return ApiError(status, detail, headers=error.headers)


def _retry_after(seconds: float | None) -> int:
    if seconds is None or not math.isfinite(seconds):
        return DEFAULT_RETRY_AFTER
    return max(1, math.ceil(seconds))


async def _handle(request: Request, error: Exception) -> Response:
    response = translate(error)
    if isinstance(error, StarletteHTTPException) and error.status_code == 405:
        response.headers["Allow"] = ", ".join(sorted(allowed_methods(request.app, request.scope)))
    return response


def allowed_methods(app: ASGIApp, scope: Scope) -> set[str]:
    """Every method some route of ``app`` serves at this path (Starlette names only the first)."""
    methods: set[str] = set()
    pending = list(getattr(app, "routes", ()))
    while pending:
        route = pending.pop()
        inner = getattr(route, "original_router", None)  # FastAPI's included-router node
        if inner is not None:
            pending.extend(inner.routes)
        elif isinstance(route, BaseRoute) and route.matches(scope)[0] is not Match.NONE:
            methods |= set(getattr(route, "methods", None) or ())
    return methods


def install(app: FastAPI) -> None:
    """Register the translation for every error family, and the catch-all boundary."""
    for family in (
        ApiError,
        UpstreamError,
        LifecycleError,
        FastAPIValidationError,
        StarletteHTTPException,
    ):
        app.add_exception_handler(family, _handle)
    app.add_middleware(ErrorBoundary)


class ErrorBoundary:
    """Turns an unexpected exception into the 500 envelope: logged here, no traceback sent.

    Starlette's own handler for ``Exception`` answers and then re-raises; this boundary answers
    and stops, so servers and test transports see a normal 500.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracked(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracked)
        except Exception as error:
            if not isinstance(error, ApiError):
                logger.exception(
                    "unexpected error on %s %s", scope.get("method", ""), scope.get("path", "")
                )
            if started:
                raise
            await translate(error)(scope, receive, send)
