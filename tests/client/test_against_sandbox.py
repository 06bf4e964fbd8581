"""The client against the sandbox: every operation, every error class, retries, the rate limit."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest

from adapters.posthog import (
    OPERATIONS,
    ApprovalRequiredError,
    AuthenticationError,
    BadRequestError,
    MethodNotAllowedError,
    NotFoundError,
    PermissionDeniedError,
    PostHogClient,
    PostHogConnectionError,
    PostHogTimeoutError,
    RateLimitedError,
    RateWindow,
    RetryPolicy,
    ServerError,
    SlidingWindowLimiter,
)
from adapters.posthog.models import (
    EligibleFeatureFlags,
    Experiment,
    ExperimentPage,
    ExperimentStats,
    ExposureCohort,
    FlagImplementationRequirement,
    TimeseriesRecalculation,
    TimeseriesResults,
)
from sandbox.server import RunningServer, running_server
from tests.conftest import SANDBOX_KEY, sandbox_settings

Call = Callable[[PostHogClient], Awaitable[Any]]


@pytest.fixture(scope="module")
def server() -> Any:
    with running_server(sandbox_settings()) as running:
        yield running


@pytest.fixture
async def admin(server: RunningServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        base_url=f"{server.url}/_sandbox", headers={"Authorization": f"Bearer {SANDBOX_KEY}"}
    ) as http:
        await http.post("/reset", json={})
        await http.delete("/faults")
        await http.put("/rate_limit", json={"enabled": False})
        await http.delete("/calls")
        yield http


@pytest.fixture
async def client(server: RunningServer, admin: httpx.AsyncClient) -> AsyncIterator[PostHogClient]:
    async with PostHogClient(
        api_key=SANDBOX_KEY, host=server.url, project_id=1, rate_limit=False
    ) as posthog:
        yield posthog


async def _metric(client: PostHogClient, experiment_id: int) -> dict[str, Any]:
    return (await client.get_experiment(experiment_id)).primary_metrics[0]


async def _recalculate(c: PostHogClient) -> Any:
    metric = await _metric(c, 2)
    return await c.recalculate_timeseries(
        2, {"metric": metric, "fingerprint": metric["fingerprint"]}
    )


async def _timeseries(c: PostHogClient) -> Any:
    metric = await _metric(c, 2)
    return await c.get_timeseries_results(
        2, {"metric_uuid": metric["uuid"], "fingerprint": metric["fingerprint"]}
    )


CALLS: dict[str, tuple[Call, type | None]] = {
    "list_experiments": (
        lambda c: c.list_experiments({"status": "running", "order": "-start_date"}),
        ExperimentPage,
    ),
    "create_experiment": (
        lambda c: c.create_experiment({"name": "New", "feature_flag_key": "new-flag"}),
        Experiment,
    ),
    "list_eligible_feature_flags": (
        lambda c: c.list_eligible_feature_flags({"limit": 5}),
        EligibleFeatureFlags,
    ),
    "check_flag_implementation": (
        lambda c: c.check_flag_implementation({"events": [{"id": "$pageview"}]}),
        FlagImplementationRequirement,
    ),
    "get_experiment_stats": (lambda c: c.get_experiment_stats(), ExperimentStats),
    "get_experiment": (lambda c: c.get_experiment(2), Experiment),
    "update_experiment": (
        lambda c: c.update_experiment(
            2, {"name": "Renamed", "feature_flag_key": "pricing-page-redesign"}
        ),
        Experiment,
    ),
    "patch_experiment": (lambda c: c.patch_experiment(2, {"description": "new"}), Experiment),
    "delete_experiment": (lambda c: c.delete_experiment(2), None),
    "archive_experiment": (
        lambda c: c.archive_experiment(6, {"disable_feature_flag": False}),
        Experiment,
    ),
    "copy_experiment_to_project": (
        lambda c: c.copy_experiment_to_project(2, {"target_team_id": 2}),
        Experiment,
    ),
    "create_exposure_cohort": (lambda c: c.create_exposure_cohort(2), ExposureCohort),
    "duplicate_experiment": (
        lambda c: c.duplicate_experiment(2, {"feature_flag_key": "pricing-rerun"}),
        Experiment,
    ),
    "end_experiment": (lambda c: c.end_experiment(2, {"conclusion": "won"}), Experiment),
    "launch_experiment": (lambda c: c.launch_experiment(1), Experiment),
    "pause_experiment": (lambda c: c.pause_experiment(2), Experiment),
    "recalculate_timeseries": (_recalculate, TimeseriesRecalculation),
    "reset_experiment": (lambda c: c.reset_experiment(6), Experiment),
    "resume_experiment": (lambda c: c.resume_experiment(5), Experiment),
    "ship_variant": (
        lambda c: c.ship_variant(3, {"variant_key": "test", "conclusion": "won"}),
        Experiment,
    ),
    "get_timeseries_results": (_timeseries, TimeseriesResults),
    "unarchive_experiment": (lambda c: c.unarchive_experiment(7), Experiment),
}


def test_every_operation_has_a_call() -> None:
    assert set(CALLS) == {op.name for op in OPERATIONS}


@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda op: op.name)
async def test_every_operation_against_the_sandbox(client: PostHogClient, operation: Any) -> None:
    call, expected = CALLS[operation.name]
    if expected is None:
        with pytest.raises(MethodNotAllowedError, match="deleted"):
            await call(client)
        return
    result = await call(client)
    assert type(result) is expected
    assert result.raw()


async def _with(server: RunningServer, key: str, call: Call, **options: Any) -> Any:
    async with PostHogClient(
        api_key=key, host=server.url, project_id=1, rate_limit=False, **options
    ) as other:
        return await call(other)


async def test_every_error_class_from_the_sandbox(
    server: RunningServer, client: PostHogClient, admin: httpx.AsyncClient
) -> None:
    with pytest.raises(NotFoundError):
        await client.get_experiment(999)
    with pytest.raises(BadRequestError, match="has already been launched"):
        await client.launch_experiment(2)
    with pytest.raises(MethodNotAllowedError):
        await client.delete_experiment(2)
    with pytest.raises(ApprovalRequiredError) as approval:
        await client.ship_variant(8, {"variant_key": "test"})
    assert approval.value.change_request_id
    with pytest.raises(AuthenticationError):
        await _with(server, "phx_wrong", lambda c: c.get_experiment(2))
    reader = (await admin.post("/keys", json={"scopes": ["experiment:read"]})).json()["key"]
    with pytest.raises(PermissionDeniedError, match="experiment:write"):
        await _with(server, reader, lambda c: c.launch_experiment(1))
    await admin.put("/faults", json={"rules": [{"kind": "error", "status": 500, "count": 1}]})
    with pytest.raises(ServerError):
        await client.get_experiment(2)
    await admin.put("/faults", json={"rules": [{"kind": "throttle", "count": 1, "retry_after": 1}]})
    with pytest.raises(RateLimitedError) as throttled:
        await _with(
            server, SANDBOX_KEY, lambda c: c.get_experiment(2), retry=RetryPolicy(max_attempts=1)
        )
    assert throttled.value.retry_after == 1
    await admin.put(
        "/faults", json={"rules": [{"kind": "latency", "latency_ms": 1500, "count": 1}]}
    )
    with pytest.raises(PostHogTimeoutError):
        await _with(
            server,
            SANDBOX_KEY,
            lambda c: c.get_experiment(2),
            timeout=0.3,
            retry=RetryPolicy(max_attempts=1),
        )
    await admin.put("/faults", json={"rules": [{"kind": "drop", "count": 1}]})
    with pytest.raises(PostHogConnectionError):
        await _with(
            server, SANDBOX_KEY, lambda c: c.get_experiment(2), retry=RetryPolicy(max_attempts=1)
        )


async def test_reads_are_retried_through_injected_faults(
    client: PostHogClient, admin: httpx.AsyncClient
) -> None:
    await admin.put(
        "/faults",
        json={
            "rules": [
                {"kind": "error", "status": 503, "count": 2},
                {"kind": "drop", "count": 1, "methods": ["PATCH"]},
            ]
        },
    )
    assert (await client.get_experiment(2)).id == 2
    assert (
        await client.patch_experiment(2, {"description": "after a dropped connection"})
    ).description == "after a dropped connection"
    calls = (await admin.get("/calls")).json()["by_operation"]
    assert calls["experiments_retrieve"]["count"] == 3
    assert calls["experiments_partial_update"]["count"] == 2


async def test_writes_are_not_retried_by_the_client(
    client: PostHogClient, admin: httpx.AsyncClient
) -> None:
    await admin.put("/faults", json={"rules": [{"kind": "error", "status": 503, "count": 1}]})
    with pytest.raises(ServerError):
        await client.launch_experiment(1)
    assert (await admin.get("/calls")).json()["by_operation"]["experiments_launch_create"][
        "count"
    ] == 1


async def test_a_burst_of_1000_never_meets_the_sandboxs_rate_limit(
    server: RunningServer, admin: httpx.AsyncClient
) -> None:
    # PostHog's budget, 480 per "minute" and 4,800 per "hour", with the minute shortened to 2 s.
    await admin.put(
        "/rate_limit",
        json={"enabled": True, "per_minute": 480, "per_hour": 4800, "minute_seconds": 2.0},
    )
    limiter = SlidingWindowLimiter([RateWindow(480, 2.0), RateWindow(4800, 120.0)])
    async with PostHogClient(
        api_key=SANDBOX_KEY,
        host=server.url,
        project_id=1,
        limiter=limiter,
        retry=RetryPolicy(max_attempts=1),
    ) as posthog:
        started = time.monotonic()
        await asyncio.gather(*(posthog.get_experiment_stats() for _ in range(1000)))
        elapsed = time.monotonic() - started
    calls = (await admin.get("/calls")).json()
    assert calls["throttled"] == 0
    assert calls["by_operation"]["experiments_stats_retrieve"]["count"] == 1000
    assert elapsed >= 4.0, "1,000 requests at 480 per 2 s cannot take less than two windows"
