"""Requests are strict: bad input is refused with the field named, before anything is sent."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from adapters.posthog import PostHogClient
from adapters.posthog.errors import RequestValidationError


def never(request: httpx.Request) -> httpx.Response:
    raise AssertionError(f"nothing may be sent, got {request.method} {request.url}")


@pytest.mark.parametrize(
    ("method", "args", "attr", "message"),
    [
        ("create_experiment", ({"name": "x"},), "feature_flag_key", "Field required"),
        (
            "create_experiment",
            ({"name": "x", "feature_flag_key": "k", "colour": "red"},),
            "colour",
            "unknown field",
        ),
        (
            "create_experiment",
            ({"name": "", "feature_flag_key": "k"},),
            "name",
            "at least 1 character",
        ),
        (
            "create_experiment",
            ({"name": "x" * 401, "feature_flag_key": "k"},),
            "name",
            "at most 400",
        ),
        ("list_experiments", ({"status": "finished"},), "status", "'draft'"),
        ("list_experiments", ({"order": "colour"},), "order", "'-created_at'"),
        ("list_experiments", ({"limit": 0},), "limit", "greater than or equal to 1"),
        ("list_experiments", ({"archived": "maybe"},), "archived", "boolean"),
        ("end_experiment", (1, {"conclusion": "great"}), "conclusion", "'won'"),
        ("ship_variant", (1, {}), "variant_key", "Field required"),
        (
            "ship_variant",
            (1, {"variant_key": "test", "conclusion_comment": "x" * 4001}),
            "conclusion_comment",
            "at most 4000",
        ),
        ("copy_experiment_to_project", (1, {"target_team_id": "two"}), "target_team_id", "integer"),
        (
            "recalculate_timeseries",
            (1, {"metric": {"kind": "ExperimentMetric"}, "fingerprint": "f"}),
            "metric",
            "uuid",
        ),
        ("get_timeseries_results", (1, {"metric_uuid": "u"}), "fingerprint", "Field required"),
        ("list_eligible_feature_flags", ({"limit": 500},), "limit", "less than or equal to 100"),
        ("get_experiment", (0,), "id", "positive integer"),
        ("get_experiment", ("42",), "id", "positive integer"),
        ("get_experiment", (True,), "id", "positive integer"),
        ("patch_experiment", (1, ["not", "an", "object"]), None, "expected a JSON object"),
    ],
)
async def test_bad_input_is_refused_before_io(
    method: str, args: tuple[Any, ...], attr: str | None, message: str
) -> None:
    async with PostHogClient(
        api_key="k", project_id=1, transport=httpx.MockTransport(never)
    ) as client:
        with pytest.raises(RequestValidationError) as raised:
            await getattr(client, method)(*args)
    assert raised.value.attr == attr
    assert message in str(raised.value)


async def test_only_fields_the_caller_set_are_sent() -> None:
    import json

    bodies: list[Any] = []

    def handler(request: httpx.Request) -> httpx.Response:
        bodies.append(json.loads(request.content))
        return httpx.Response(200, json={"id": 1})

    async with PostHogClient(
        api_key="k", project_id=1, transport=httpx.MockTransport(handler)
    ) as client:
        await client.end_experiment(1, {"conclusion": None, "conclusion_comment": "done"})
        await client.end_experiment(1)
    assert bodies == [{"conclusion": None, "conclusion_comment": "done"}, {}]


def test_prepare_describes_without_sending() -> None:
    client = PostHogClient(api_key="k", project_id=3, transport=httpx.MockTransport(never))
    described = client.describe("ship_variant", 42, {"variant_key": "test"})
    assert described == {
        "operation": "ship_variant",
        "method": "POST",
        "path": "/api/projects/3/experiments/42/ship_variant/",
        "query": None,
        "body": {"variant_key": "test"},
    }
