"""timeseries_results and recalculate_timeseries (§5.18, §5.19, §8.6)."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from sandbox.runtime import SandboxRuntime
from tests.sandbox.support import DRAFT, ENDED, GUARDRAIL, PAUSED, WINNER, P, envelope


async def _metric(client: httpx.AsyncClient, experiment_id: int, index: int = 0) -> dict[str, Any]:
    body = (await client.get(f"{P}/{experiment_id}/")).json()
    metric: dict[str, Any] = (body["metrics"] + body["metrics_secondary"])[index]
    return metric


async def _series(
    client: httpx.AsyncClient,
    experiment_id: int,
    metric: dict[str, Any],
    fingerprint: str | None = None,
) -> dict[str, Any]:
    params = {"metric_uuid": metric["uuid"], "fingerprint": fingerprint or metric["fingerprint"]}
    response = await client.get(f"{P}/{experiment_id}/timeseries_results/", params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _last(series: dict[str, Any]) -> dict[str, Any]:
    day: dict[str, Any] = series["timeseries"][max(series["timeseries"])]
    return day


async def test_winner_shape_and_cumulative_days(client: httpx.AsyncClient) -> None:
    metric = await _metric(client, WINNER)
    series = await _series(client, WINNER, metric)
    days = list(series["timeseries"])
    assert days[0] == "2026-03-01"
    assert days[-1] == "2026-03-15"
    assert series["status"] == "completed"
    assert series["errors"] is None
    assert series["recalculation_status"] is None
    assert series["computed_at"] == "2026-03-15T12:00:00+00:00"
    assert series["formatted_results"].startswith(
        "Method: bayesian\nVariants: control (baseline), test"
    )
    samples = [day["baseline"]["number_of_samples"] for day in series["timeseries"].values()]
    assert samples == sorted(samples)
    last = _last(series)
    assert last["kind"] == "ExperimentQuery"
    assert last["baseline"]["key"] == "control"
    assert last["baseline"]["validation_failures"] == []
    assert len(last["baseline"]["step_counts"]) == 2
    assert last["baseline"]["step_counts"][-1] == last["baseline"]["sum"]
    test = last["variant_results"][0]
    assert test["key"] == "test"
    assert test["method"] == "bayesian"
    assert test["significant"] is True
    assert test["chance_to_win"] > 0.99
    assert test["credible_interval"][0] > 0
    assert last["insight"] is None
    assert last["breakdown_results"] is None


async def test_guardrail_regression_is_visible(client: httpx.AsyncClient) -> None:
    guardrail = await _metric(client, GUARDRAIL, 1)
    last = _last(await _series(client, GUARDRAIL, guardrail))
    test = last["variant_results"][0]
    assert test["significant"] is True
    assert test["chance_to_win"] < 0.01
    assert last["baseline"]["step_counts"] is None
    assert last["baseline"]["sum_squares"] > last["baseline"]["sum"]


async def test_paused_and_ended_stop_accruing(client: httpx.AsyncClient) -> None:
    paused = await _series(client, PAUSED, await _metric(client, PAUSED))
    values = list(paused["timeseries"].values())
    assert (
        values[-1]["baseline"]["number_of_samples"] == values[-3]["baseline"]["number_of_samples"]
    )
    assert values[-5]["baseline"]["number_of_samples"] < values[-3]["baseline"]["number_of_samples"]
    ended = await _series(client, ENDED, await _metric(client, ENDED))
    assert max(ended["timeseries"]) == "2026-03-09"


async def test_stale_fingerprint_and_bad_requests(client: httpx.AsyncClient) -> None:
    metric = await _metric(client, WINNER)
    stale = await _series(client, WINNER, metric, fingerprint="0" * 64)
    assert stale["status"] == "pending"
    assert set(stale["timeseries"].values()) == {None}
    assert stale["computed_at"] is None
    assert stale["formatted_results"] == "No completed timeseries data (status: pending)."
    missing = await client.get(f"{P}/{WINNER}/timeseries_results/", params={"fingerprint": "x"})
    assert missing.json() == envelope("metric_uuid query parameter is required")
    missing = await client.get(f"{P}/{WINNER}/timeseries_results/", params={"metric_uuid": "x"})
    assert missing.json() == envelope("fingerprint query parameter is required")
    draft_metric = await _metric(client, DRAFT)
    draft = await client.get(
        f"{P}/{DRAFT}/timeseries_results/",
        params={"metric_uuid": draft_metric["uuid"], "fingerprint": draft_metric["fingerprint"]},
    )
    assert draft.json() == envelope("Experiment has not been started yet")


async def test_frequentist_results(client: httpx.AsyncClient) -> None:
    patched = await client.patch(f"{P}/{WINNER}/", json={"stats_config": {"method": "frequentist"}})
    metric = patched.json()["metrics"][0]
    test = _last(await _series(client, WINNER, metric))["variant_results"][0]
    assert test["method"] == "frequentist"
    assert test["p_value"] < 0.05
    assert "chance_to_win" not in test


async def test_recalculation_flow(client: httpx.AsyncClient, runtime: SandboxRuntime) -> None:
    runtime.settings.recalculation_seconds = 60
    metric = await _metric(client, WINNER)
    body = {"metric": metric, "fingerprint": metric["fingerprint"]}
    created = await client.post(f"{P}/{WINNER}/recalculate_timeseries/", json=body)
    assert created.status_code == 201
    request = created.json()
    assert (request["status"], request["metric_uuid"], request["experiment_id"]) == (
        "pending",
        metric["uuid"],
        WINNER,
    )
    again = await client.post(f"{P}/{WINNER}/recalculate_timeseries/", json=body)
    assert again.status_code == 200
    assert again.json()["id"] == request["id"]
    hidden = await _series(client, WINNER, metric)
    assert hidden["status"] == "pending"
    assert hidden["recalculation_status"] == "pending"
    assert hidden["recalculation_created_at"] == request["created_at"]
    assert set(hidden["timeseries"].values()) == {None}
    runtime.state.recalculation_due[request["id"]] = time.monotonic() + 1
    working = await _series(client, WINNER, metric)
    assert working["recalculation_status"] == "in_progress"
    runtime.state.recalculation_due[request["id"]] = 0.0
    done = await _series(client, WINNER, metric)
    assert done["status"] == "completed"
    assert done["recalculation_status"] is None
    fresh = await client.post(f"{P}/{WINNER}/recalculate_timeseries/", json=body)
    assert fresh.status_code == 201
    assert fresh.json()["id"] != request["id"]


async def test_recalculating_a_stale_fingerprint_writes_its_rows(client: httpx.AsyncClient) -> None:
    metric = await _metric(client, WINNER)
    stale = "1" * 64
    await client.post(
        f"{P}/{WINNER}/recalculate_timeseries/", json={"metric": metric, "fingerprint": stale}
    )
    series = await _series(client, WINNER, metric, fingerprint=stale)
    assert series["status"] == "completed"


async def test_failed_recalculation(client: httpx.AsyncClient, runtime: SandboxRuntime) -> None:
    runtime.settings.recalculation_seconds = 60
    metric = await _metric(client, WINNER)
    body = {"metric": metric, "fingerprint": metric["fingerprint"]}
    request = (await client.post(f"{P}/{WINNER}/recalculate_timeseries/", json=body)).json()
    failed = await client.post(f"/_sandbox/recalculations/{request['id']}/fail", json={})
    assert failed.json()["status"] == "failed"
    series = await _series(client, WINNER, metric)
    assert series["status"] == "failed"
    assert set(series["errors"]) == set(series["timeseries"])
    assert set(series["timeseries"].values()) == {None}


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({}, "metric is required"),
        ({"metric": {"uuid": "x"}}, "fingerprint is required"),
    ],
)
async def test_recalculation_refusals(
    client: httpx.AsyncClient, body: dict[str, Any], detail: str
) -> None:
    response = await client.post(f"{P}/{WINNER}/recalculate_timeseries/", json=body)
    assert response.json() == envelope(detail)


async def test_recalculation_needs_a_launch(client: httpx.AsyncClient) -> None:
    response = await client.post(
        f"{P}/{DRAFT}/recalculate_timeseries/", json={"metric": {"uuid": "x"}, "fingerprint": "y"}
    )
    assert response.json() == envelope(
        "Cannot recalculate timeseries for experiment that hasn't started"
    )
