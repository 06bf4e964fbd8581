"""Odd input never yields a 500 or a traceback: every refusal is one of PostHog's bodies."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from sandbox import SandboxSettings
from sandbox.experiments import experiment_fields
from tests.sandbox.support import FROZEN_AT, P

ODD: list[Any] = [
    None,
    -1,
    1.5,
    True,
    "",
    [None],
    {"a": 1},
    [{"key": 1}],
    {"feature_flag_variants": [{"key": 5, "split_percent": "a"}, {"key": "control"}]},
    [{"kind": "ExperimentMetric", "metric_type": "funnel", "series": "abc"}],
    {"method": 5, "baseline_variant_key": []},
]
ACTIONS = (
    "launch", "pause", "resume", "end", "ship_variant", "reset", "archive", "unarchive",
    "duplicate", "copy_to_project", "recalculate_timeseries",
    "create_exposure_cohort_for_experiment",
)  # fmt: skip


@pytest.fixture
def sandbox_settings() -> SandboxSettings:
    """No rate limit: this test sends many requests."""
    return SandboxSettings(clock_start=FROZEN_AT, clock_frozen=True, rate_limit_enabled=False)


def _acceptable(response: httpx.Response) -> bool:
    if response.status_code in (200, 201):
        return True
    if response.status_code not in (400, 403, 404, 409):
        return False
    body = response.json()
    return set(body) == {"type", "code", "detail", "attr"} or "detail" in body


async def test_odd_field_values(client: httpx.AsyncClient) -> None:
    failures = []
    for field in experiment_fields():
        for value in ODD:
            for method, url in (("POST", f"{P}/"), ("PATCH", f"{P}/2/"), ("PUT", f"{P}/1/")):
                body = {field.name: value}
                if method != "PATCH":
                    body = {"name": "odd", "feature_flag_key": "odd", **body}
                response = await client.request(method, url, json=body)
                if not _acceptable(response):
                    failures.append((method, url, field.name, value, response.status_code))
    assert failures == []


async def test_odd_action_bodies(client: httpx.AsyncClient) -> None:
    failures = []
    bodies = [
        *ODD,
        *({"variant_key": value, "target_team_id": value, "metric": value} for value in ODD),
        *(
            {"conclusion": value, "disable_feature_flag": value, "fingerprint": value}
            for value in ODD
        ),
    ]
    for action in ACTIONS:
        for body in bodies:
            for experiment_id in (1, 6):
                response = await client.post(f"{P}/{experiment_id}/{action}/", json=body)
                if not _acceptable(response):
                    failures.append((action, experiment_id, body, response.status_code))
    assert failures == []
