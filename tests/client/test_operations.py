"""Every row of the operation table, sent through the client against a PostHog-like mock transport."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from adapters.posthog import OPERATIONS, PostHogClient
from adapters.posthog.errors import MethodNotAllowedError
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
from tests.client import samples

BASE = "/api/projects/1/experiments"


@dataclass
class Case:
    """One call of a row: the method's arguments, what must go on the wire, what comes back."""

    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    path: str
    response: Any
    parsed: type | None
    status: int = 200
    query: dict[str, str] = field(default_factory=dict)
    body: Any = None


CASES: dict[str, Case] = {
    "list_experiments": Case(
        args=(
            {
                "status": "running",
                "archived": False,
                "order": "-start_date",
                "limit": 10,
                "offset": 20,
                "search": "check",
                "feature_flag_id": 7,
                "created_by_id": 3,
            },
        ),
        kwargs={},
        path=f"{BASE}/",
        query={
            "status": "running",
            "archived": "false",
            "order": "-start_date",
            "limit": "10",
            "offset": "20",
            "search": "check",
            "feature_flag_id": "7",
            "created_by_id": "3",
        },
        response=samples.page([samples.experiment()]),
        parsed=ExperimentPage,
    ),
    "create_experiment": Case(
        args=(
            {
                "name": "Checkout",
                "feature_flag_key": "checkout-button",
                "metrics": [samples.METRIC],
            },
        ),
        kwargs={},
        path=f"{BASE}/",
        body={
            "name": "Checkout",
            "feature_flag_key": "checkout-button",
            "metrics": [samples.METRIC],
        },
        response=samples.experiment(start_date=None, status="draft"),
        status=201,
        parsed=Experiment,
    ),
    "list_eligible_feature_flags": Case(
        args=({"search": "check", "limit": 5, "offset": 0, "active": True, "order": "key"},),
        kwargs={},
        path=f"{BASE}/eligible_feature_flags/",
        query={"search": "check", "limit": "5", "offset": "0", "active": "true", "order": "key"},
        response=samples.ELIGIBLE_FLAGS,
        parsed=EligibleFeatureFlags,
    ),
    "check_flag_implementation": Case(
        args=({"events": [{"id": "$pageview"}]},),
        kwargs={},
        path=f"{BASE}/requires_flag_implementation/",
        query={"events": '[{"id":"$pageview"}]'},
        response={"result": True},
        parsed=FlagImplementationRequirement,
    ),
    "get_experiment_stats": Case(
        args=(), kwargs={}, path=f"{BASE}/stats/", response=samples.STATS, parsed=ExperimentStats
    ),
    "get_experiment": Case(
        args=(42,), kwargs={}, path=f"{BASE}/42/", response=samples.experiment(), parsed=Experiment
    ),
    "update_experiment": Case(
        args=(
            42,
            {"name": "Checkout v2", "feature_flag_key": "checkout-button", "description": "x"},
        ),
        kwargs={},
        path=f"{BASE}/42/",
        body={"name": "Checkout v2", "feature_flag_key": "checkout-button", "description": "x"},
        response=samples.experiment(name="Checkout v2"),
        parsed=Experiment,
    ),
    "patch_experiment": Case(
        args=(42, {"description": "new hypothesis"}),
        kwargs={},
        path=f"{BASE}/42/",
        body={"description": "new hypothesis"},
        response=samples.experiment(description="new hypothesis"),
        parsed=Experiment,
    ),
    "archive_experiment": Case(
        args=(42, {"disable_feature_flag": True}),
        kwargs={},
        path=f"{BASE}/42/archive/",
        body={"disable_feature_flag": True},
        response=samples.experiment(
            archived=True, end_date="2025-03-20T09:00:00Z", status="stopped"
        ),
        parsed=Experiment,
    ),
    "copy_experiment_to_project": Case(
        args=(42, {"target_team_id": 2, "name": "Checkout in project 2"}),
        kwargs={},
        path=f"{BASE}/42/copy_to_project/",
        body={"target_team_id": 2, "name": "Checkout in project 2"},
        response=samples.experiment(id=43, start_date=None, status="draft"),
        status=201,
        parsed=Experiment,
    ),
    "create_exposure_cohort": Case(
        args=(42,),
        kwargs={},
        path=f"{BASE}/42/create_exposure_cohort_for_experiment/",
        body={},
        response=samples.COHORT,
        status=201,
        parsed=ExposureCohort,
    ),
    "duplicate_experiment": Case(
        args=(42, {"feature_flag_key": "checkout-rerun"}),
        kwargs={},
        path=f"{BASE}/42/duplicate/",
        body={"feature_flag_key": "checkout-rerun"},
        response=samples.experiment(id=44, name="Checkout (Copy)", start_date=None, status="draft"),
        status=201,
        parsed=Experiment,
    ),
    "end_experiment": Case(
        args=(42, {"conclusion": "won", "conclusion_comment": "clear winner"}),
        kwargs={},
        path=f"{BASE}/42/end/",
        body={"conclusion": "won", "conclusion_comment": "clear winner"},
        response=samples.experiment(
            end_date="2025-03-20T09:00:00Z", status="stopped", conclusion="won"
        ),
        parsed=Experiment,
    ),
    "launch_experiment": Case(
        args=(42,),
        kwargs={},
        path=f"{BASE}/42/launch/",
        response=samples.experiment(),
        parsed=Experiment,
    ),
    "pause_experiment": Case(
        args=(42,),
        kwargs={},
        path=f"{BASE}/42/pause/",
        response=samples.experiment(status="paused"),
        parsed=Experiment,
    ),
    "recalculate_timeseries": Case(
        args=(42, {"metric": samples.METRIC, "fingerprint": samples.METRIC["fingerprint"]}),
        kwargs={},
        path=f"{BASE}/42/recalculate_timeseries/",
        body={"metric": samples.METRIC, "fingerprint": samples.METRIC["fingerprint"]},
        response=samples.RECALCULATION,
        status=201,
        parsed=TimeseriesRecalculation,
    ),
    "reset_experiment": Case(
        args=(42,),
        kwargs={},
        path=f"{BASE}/42/reset/",
        response=samples.experiment(start_date=None, status="draft"),
        parsed=Experiment,
    ),
    "resume_experiment": Case(
        args=(42,),
        kwargs={},
        path=f"{BASE}/42/resume/",
        response=samples.experiment(),
        parsed=Experiment,
    ),
    "ship_variant": Case(
        args=(42, {"variant_key": "test", "conclusion": "won", "release_to_everyone": True}),
        kwargs={},
        path=f"{BASE}/42/ship_variant/",
        body={"variant_key": "test", "conclusion": "won", "release_to_everyone": True},
        response=samples.experiment(end_date="2025-03-20T09:00:00Z", status="stopped"),
        parsed=Experiment,
    ),
    "get_timeseries_results": Case(
        args=(
            42,
            {"metric_uuid": samples.METRIC["uuid"], "fingerprint": samples.METRIC["fingerprint"]},
        ),
        kwargs={},
        path=f"{BASE}/42/timeseries_results/",
        query={"metric_uuid": samples.METRIC["uuid"], "fingerprint": samples.METRIC["fingerprint"]},
        response=samples.TIMESERIES,
        parsed=TimeseriesResults,
    ),
    "unarchive_experiment": Case(
        args=(42,),
        kwargs={},
        path=f"{BASE}/42/unarchive/",
        response=samples.experiment(end_date="2025-03-20T09:00:00Z", status="stopped"),
        parsed=Experiment,
    ),
    "delete_experiment": Case(
        args=(42,), kwargs={}, path=f"{BASE}/42/", response=None, status=405, parsed=None
    ),
}


def test_every_row_has_a_case() -> None:
    assert set(CASES) == {op.name for op in OPERATIONS}


@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda op: op.name)
async def test_row_sends_and_parses(operation: Any) -> None:
    case = CASES[operation.name]
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if case.response is None:
            return httpx.Response(case.status)
        return httpx.Response(case.status, json=case.response)

    async with PostHogClient(
        api_key="phx_test",
        host="https://eu.posthog.com",
        project_id=1,
        transport=httpx.MockTransport(handler),
    ) as client:
        method = getattr(client, operation.name)
        if case.parsed is None:
            with pytest.raises(MethodNotAllowedError) as raised:
                await method(*case.args, **case.kwargs)
            assert "deleted" in raised.value.detail
        else:
            result = await method(*case.args, **case.kwargs)
            assert type(result) is case.parsed
            assert result.raw() == case.response

    (request,) = seen
    assert request.method == operation.method
    assert request.url.host == "eu.posthog.com"
    assert request.url.path == case.path
    assert dict(request.url.params) == case.query
    assert request.headers["authorization"] == "Bearer phx_test"
    if operation.body is None:
        assert request.content == b""
    else:
        assert json.loads(request.content) == case.body


async def test_iter_experiments_walks_every_page() -> None:
    experiments = [samples.experiment(id=i) for i in range(1, 251)]
    offsets: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        offset = int(request.url.params["offset"])
        limit = int(request.url.params["limit"])
        offsets.append(request.url.params["offset"])
        chunk = experiments[offset : offset + limit]
        more = offset + limit < len(experiments)
        nxt = (
            f"https://us.posthog.com{BASE}/?limit={limit}&offset={offset + limit}" if more else None
        )
        return httpx.Response(200, json=samples.page(chunk, count=len(experiments), next=nxt))

    async with PostHogClient(
        api_key="k", project_id=1, transport=httpx.MockTransport(handler)
    ) as client:
        ids = [e.id async for e in client.iter_experiments({"status": "running"}, page_size=100)]
    assert ids == list(range(1, 251))
    assert offsets == ["0", "100", "200"]


async def test_soft_delete_and_restore_patch_the_deleted_flag() -> None:
    bodies: list[Any] = []

    def handler(request: httpx.Request) -> httpx.Response:
        bodies.append((request.method, json.loads(request.content)))
        return httpx.Response(200, json=samples.experiment(deleted=True))

    async with PostHogClient(
        api_key="k", project_id=1, transport=httpx.MockTransport(handler)
    ) as client:
        await client.soft_delete_experiment(42)
        await client.restore_experiment(42)
    assert bodies == [("PATCH", {"deleted": True}), ("PATCH", {"deleted": False})]


async def test_response_keeps_unknown_fields_and_typed_ones() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=samples.experiment())

    async with PostHogClient(
        api_key="k", project_id=1, transport=httpx.MockTransport(handler)
    ) as client:
        experiment = await client.get_experiment(42)
    assert experiment.feature_flag is not None
    assert experiment.feature_flag.variant_keys == ["control", "test"]
    assert experiment.model_extra is not None
    assert experiment.model_extra["a_field_posthog_added_later"] == {"kept": True}
    assert experiment.primary_metrics[0]["uuid"] == samples.METRIC["uuid"]


async def test_project_id_per_call_overrides_the_default() -> None:
    paths: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        paths.append(request.url.path)
        return httpx.Response(200, json=samples.STATS)

    async with PostHogClient(
        api_key="k", project_id=1, transport=httpx.MockTransport(handler)
    ) as client:
        await client.get_experiment_stats(project_id=5)
        await client.get_experiment_stats()
    assert paths == ["/api/projects/5/experiments/stats/", "/api/projects/1/experiments/stats/"]
