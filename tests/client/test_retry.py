"""Retries happen only where safe (GET, PUT, PATCH), only for failures a retry can fix, and stay bounded."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from adapters.posthog import PostHogClient
from adapters.posthog.errors import (
    BadRequestError,
    PostHogTimeoutError,
    RateLimitedError,
    ServerError,
)
from adapters.posthog.retry import RetryPolicy
from tests.client import samples

Step = Callable[[httpx.Request], httpx.Response]


class Script:
    """A transport that answers from a list of steps and records every request."""

    def __init__(self, *steps: Step) -> None:
        self.steps = list(steps)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        step = self.steps.pop(0) if len(self.steps) > 1 else self.steps[0]
        return step(request)


def status(code: int, body: Any = None, **headers: str) -> Step:
    return lambda request: httpx.Response(code, json=body, headers=headers)


def ok(body: Any) -> Step:
    return lambda request: httpx.Response(200, json=body)


def timeout(request: httpx.Request) -> httpx.Response:
    raise httpx.ReadTimeout("timed out", request=request)


THROTTLED = {
    "type": "throttled_error",
    "code": "throttled",
    "detail": "Request was throttled. Expected available in 7 seconds.",
    "attr": None,
}


def policy(sleeps: list[float], **overrides: Any) -> RetryPolicy:
    async def record(seconds: float) -> None:
        sleeps.append(seconds)

    return RetryPolicy(sleep=record, jitter=lambda: 1.0, **overrides)


async def run(script: Script, call: Callable[[PostHogClient], Any], retry: RetryPolicy) -> Any:
    async with PostHogClient(
        api_key="k", project_id=1, transport=httpx.MockTransport(script), retry=retry
    ) as client:
        return await call(client)


async def test_429_honours_retry_after_then_succeeds() -> None:
    sleeps: list[float] = []
    script = Script(status(429, THROTTLED, **{"Retry-After": "7"}), ok(samples.experiment()))
    experiment = await run(script, lambda c: c.get_experiment(42), policy(sleeps))
    assert experiment.id == 42
    assert len(script.requests) == 2
    assert sleeps == [7.0]


async def test_503_then_200_backs_off_exponentially() -> None:
    sleeps: list[float] = []
    script = Script(status(503), status(502), status(504), ok(samples.experiment()))
    await run(script, lambda c: c.get_experiment(42), policy(sleeps, base_delay=0.5))
    assert len(script.requests) == 4
    assert sleeps == [0.5, 1.0, 2.0]


async def test_timeout_then_200_on_patch() -> None:
    sleeps: list[float] = []
    script = Script(timeout, ok(samples.experiment(description="x")))
    experiment = await run(
        script, lambda c: c.patch_experiment(42, {"description": "x"}), policy(sleeps)
    )
    assert experiment.description == "x"
    assert [r.method for r in script.requests] == ["PATCH", "PATCH"]


@pytest.mark.parametrize(
    ("step", "expected"),
    [
        (status(503), ServerError),
        (timeout, PostHogTimeoutError),
        (status(429, THROTTLED, **{"Retry-After": "1"}), RateLimitedError),
    ],
)
async def test_post_actions_are_never_retried(step: Step, expected: type[Exception]) -> None:
    sleeps: list[float] = []
    script = Script(step, ok(samples.experiment()))
    with pytest.raises(expected):
        await run(script, lambda c: c.launch_experiment(42), policy(sleeps))
    assert len(script.requests) == 1
    assert sleeps == []


async def test_client_errors_are_not_retried() -> None:
    sleeps: list[float] = []
    script = Script(
        status(
            400, {"type": "validation_error", "code": "invalid", "detail": "bad", "attr": "name"}
        )
    )
    with pytest.raises(BadRequestError):
        await run(script, lambda c: c.get_experiment(42), policy(sleeps))
    assert len(script.requests) == 1


async def test_500_is_not_retried_even_on_get() -> None:
    script = Script(status(500), ok(samples.experiment()))
    with pytest.raises(ServerError):
        await run(script, lambda c: c.get_experiment(42), policy([]))
    assert len(script.requests) == 1


async def test_attempts_are_bounded() -> None:
    sleeps: list[float] = []
    script = Script(status(503))
    with pytest.raises(ServerError):
        await run(script, lambda c: c.get_experiment(42), policy(sleeps, max_attempts=3))
    assert len(script.requests) == 3
    assert len(sleeps) == 2


async def test_total_wait_is_bounded() -> None:
    sleeps: list[float] = []
    script = Script(status(429, THROTTLED, **{"Retry-After": "120"}), ok(samples.experiment()))
    with pytest.raises(RateLimitedError) as raised:
        await run(script, lambda c: c.get_experiment(42), policy(sleeps, max_total=60))
    assert raised.value.retry_after == 120
    assert len(script.requests) == 1
    assert sleeps == []


def test_default_delay_has_jitter_below_the_ceiling() -> None:
    retry = RetryPolicy(base_delay=1.0, max_delay=4.0)
    error = ServerError(503, detail="x")
    delays = [retry.delay(attempt, error) for attempt in range(1, 8) for _ in range(20)]
    assert all(0 <= d <= 4.0 for d in delays)
    assert len({round(d, 6) for d in delays}) > 10
