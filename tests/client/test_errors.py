"""Every PostHog error status and body shape becomes the right error, with the envelope kept."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from adapters.posthog import PostHogClient
from adapters.posthog.errors import (
    APIStatusError,
    ApprovalRequiredError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    MethodNotAllowedError,
    NotFoundError,
    PermissionDeniedError,
    PostHogConnectionError,
    PostHogTimeoutError,
    RateLimitedError,
    ResponseDecodeError,
    ServerError,
)
from adapters.posthog.retry import RetryPolicy
from lifecycle.ports import (
    UpstreamApprovalRequiredError,
    UpstreamNotFoundError,
    UpstreamOutcomeUnknownError,
    UpstreamRefusedError,
)


def envelope(type_: str, code: str, detail: str, attr: str | None = None) -> dict[str, Any]:
    return {"type": type_, "code": code, "detail": detail, "attr": attr}


APPROVAL = {
    "code": "approval_required",
    "status": "approval_required",
    "detail": "This change requires approval.",
    "message": "A change request was created.",
    "resource_type": "feature_flag",
    "resource_id": "7",
    "change_request_id": "cr_123",
}

CASES: list[tuple[int, Any, dict[str, str], type[APIStatusError], dict[str, Any]]] = [
    (
        400,
        envelope("validation_error", "invalid_input", "Experiment has already been launched."),
        {},
        BadRequestError,
        {"code": "invalid_input", "attr": None, "detail": "Experiment has already been launched."},
    ),
    (
        400,
        envelope("validation_error", "required", "This field is required.", "variant_key"),
        {},
        BadRequestError,
        {"code": "required", "attr": "variant_key"},
    ),
    (
        400,
        {"detail": "Duplication is not supported for experiments using legacy metrics."},
        {},
        BadRequestError,
        {
            "type": None,
            "detail": "Duplication is not supported for experiments using legacy metrics.",
        },
    ),
    (
        400,
        {"error": "Invalid limit or offset"},
        {},
        BadRequestError,
        {"detail": "Invalid limit or offset"},
    ),
    (
        401,
        envelope(
            "authentication_error",
            "authentication_failed",
            "Personal API key found in request Authorization header is invalid.",
        ),
        {},
        AuthenticationError,
        {"code": "authentication_failed"},
    ),
    (
        403,
        envelope(
            "authentication_error",
            "permission_denied",
            "API key missing required scope 'experiment:write'",
        ),
        {},
        PermissionDeniedError,
        {"detail": "API key missing required scope 'experiment:write'"},
    ),
    (
        403,
        {"detail": "You do not have write access to the target project."},
        {},
        PermissionDeniedError,
        {"detail": "You do not have write access to the target project."},
    ),
    (
        404,
        envelope("invalid_request", "not_found", "Not found."),
        {},
        NotFoundError,
        {"code": "not_found"},
    ),
    (
        404,
        {"detail": "Target team not found."},
        {},
        NotFoundError,
        {"detail": "Target team not found."},
    ),
    (
        405,
        envelope("invalid_request", "method_not_allowed", 'Method "GET" not allowed.'),
        {},
        MethodNotAllowedError,
        {"code": "method_not_allowed"},
    ),
    (
        409,
        APPROVAL,
        {},
        ApprovalRequiredError,
        {"change_request_id": "cr_123", "code": "approval_required"},
    ),
    (
        409,
        envelope("conflict", "conflict", "Version mismatch."),
        {},
        ConflictError,
        {"detail": "Version mismatch."},
    ),
    (
        429,
        envelope(
            "throttled_error",
            "throttled",
            "Request was throttled. Expected available in 12 seconds.",
        ),
        {"Retry-After": "12"},
        RateLimitedError,
        {"retry_after": 12.0},
    ),
    (
        500,
        envelope("server_error", "error", "A server error occurred."),
        {},
        ServerError,
        {"code": "error"},
    ),
    (
        502,
        "<html>Bad Gateway</html>",
        {},
        ServerError,
        {"detail": "<html>Bad Gateway</html>", "type": None},
    ),
    (503, None, {}, ServerError, {"detail": "PostHog answered 503 Service Unavailable"}),
]


def respond(status: int, body: Any, headers: dict[str, str]) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        if body is None:
            return httpx.Response(status, headers=headers)
        if isinstance(body, str):
            return httpx.Response(status, text=body, headers=headers)
        return httpx.Response(status, json=body, headers=headers)

    return httpx.MockTransport(handler)


@pytest.mark.parametrize(("status", "body", "headers", "expected", "fields"), CASES)
async def test_status_and_body_map_to_error(
    status: int,
    body: Any,
    headers: dict[str, str],
    expected: type[APIStatusError],
    fields: dict[str, Any],
) -> None:
    no_retry = RetryPolicy(max_attempts=1)
    async with PostHogClient(
        api_key="phx_secret_value",
        project_id=1,
        transport=respond(status, body, headers),
        retry=no_retry,
    ) as client:
        with pytest.raises(expected) as raised:
            await client.get_experiment(42)
    error = raised.value
    assert type(error) is expected
    assert error.status_code == status
    for name, value in fields.items():
        assert getattr(error, name) == value, name
    assert error.method == "GET"
    assert error.url == "https://us.posthog.com/api/projects/1/experiments/42/"
    assert "phx_secret_value" not in str(error) + repr(error.envelope())


async def test_delete_405_with_empty_body_points_to_soft_delete() -> None:
    async with PostHogClient(api_key="k", project_id=1, transport=respond(405, None, {})) as client:
        with pytest.raises(MethodNotAllowedError) as raised:
            await client.delete_experiment(42)
    assert raised.value.body is None
    assert 'PATCH {"deleted": true}' in raised.value.detail


def test_errors_carry_the_lifecycle_markers() -> None:
    assert issubclass(BadRequestError, UpstreamRefusedError)
    assert issubclass(NotFoundError, UpstreamNotFoundError)
    assert issubclass(ApprovalRequiredError, UpstreamApprovalRequiredError)
    for transient in (ServerError, PostHogTimeoutError, PostHogConnectionError):
        assert issubclass(transient, UpstreamOutcomeUnknownError)
    assert not issubclass(RateLimitedError, UpstreamOutcomeUnknownError)


async def test_transport_failures_become_timeout_and_connection_errors() -> None:
    def timeout(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    def refused(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("[Errno 111] Connection refused", request=request)

    def dropped(request: httpx.Request) -> httpx.Response:
        raise httpx.RemoteProtocolError(
            "peer closed connection without sending complete message body", request=request
        )

    no_retry = RetryPolicy(max_attempts=1)
    for handler, expected in (
        (timeout, PostHogTimeoutError),
        (refused, PostHogConnectionError),
        (dropped, PostHogConnectionError),
    ):
        async with PostHogClient(
            api_key="k", project_id=1, transport=httpx.MockTransport(handler), retry=no_retry
        ) as client:
            with pytest.raises(expected) as raised:
                await client.get_experiment(1)
        assert "us.posthog.com" in str(raised.value)


async def test_success_with_a_body_that_is_not_the_model_is_a_decode_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"unexpected": True})

    async with PostHogClient(
        api_key="k", project_id=1, transport=httpx.MockTransport(handler)
    ) as client:
        with pytest.raises(ResponseDecodeError, match="Experiment"):
            await client.get_experiment(1)


async def test_success_with_non_json_body_is_a_decode_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, text="<html>login</html>")

    async with PostHogClient(
        api_key="k", project_id=1, transport=httpx.MockTransport(handler)
    ) as client:
        with pytest.raises(ResponseDecodeError, match="not JSON"):
            await client.get_experiment(1)
