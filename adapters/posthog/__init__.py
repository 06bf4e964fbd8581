"""The outbound PostHog adapter: one typed async client for the experiments API.

The operation table (:mod:`adapters.posthog.operations`) drives it; errors keep PostHog's envelope
(:mod:`adapters.posthog.errors`).
"""

from adapters.posthog.client import PostHogClient, PostHogResponse, PreparedRequest
from adapters.posthog.errors import (
    APIStatusError,
    ApprovalRequiredError,
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    ConflictError,
    MethodNotAllowedError,
    NotFoundError,
    PermissionDeniedError,
    PostHogConnectionError,
    PostHogError,
    PostHogTimeoutError,
    PostHogTransportError,
    RateLimitedError,
    RequestValidationError,
    ResponseDecodeError,
    ServerError,
)
from adapters.posthog.operations import OPERATIONS, OPERATIONS_BY_NAME, Operation, operation_named
from adapters.posthog.ratelimit import Limiter, RateWindow, SlidingWindowLimiter, posthog_windows
from adapters.posthog.retry import RetryPolicy
from adapters.posthog.settings import EU_HOST, US_HOST, PostHogSettings

__all__ = [
    "EU_HOST",
    "OPERATIONS",
    "OPERATIONS_BY_NAME",
    "US_HOST",
    "APIStatusError",
    "ApprovalRequiredError",
    "AuthenticationError",
    "BadRequestError",
    "ConfigurationError",
    "ConflictError",
    "Limiter",
    "MethodNotAllowedError",
    "NotFoundError",
    "Operation",
    "PermissionDeniedError",
    "PostHogClient",
    "PostHogConnectionError",
    "PostHogError",
    "PostHogResponse",
    "PostHogSettings",
    "PostHogTimeoutError",
    "PostHogTransportError",
    "PreparedRequest",
    "RateLimitedError",
    "RateWindow",
    "RequestValidationError",
    "ResponseDecodeError",
    "RetryPolicy",
    "ServerError",
    "SlidingWindowLimiter",
    "operation_named",
    "posthog_windows",
]
