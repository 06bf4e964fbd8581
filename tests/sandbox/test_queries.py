"""stats, eligible_feature_flags and requires_flag_implementation (§5.20-§5.22)."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.sandbox.support import WINNER, P, envelope


async def test_velocity_stats(client: httpx.AsyncClient) -> None:
    stats = (await client.get(f"{P}/stats/")).json()
    assert stats == {
        "launched_last_30d": 6,
        "launched_previous_30d": 0,
        "percent_change": 100.0,
        "active_experiments": 5,
        "completed_last_30d": 1,
    }
    await client.post(f"{P}/{WINNER}/end/")
    stats = (await client.get(f"{P}/stats/")).json()
    assert (stats["active_experiments"], stats["completed_last_30d"]) == (4, 2)


async def test_eligible_flags(client: httpx.AsyncClient) -> None:
    body = (await client.get(f"{P}/eligible_feature_flags/")).json()
    keys = [flag["key"] for flag in body["results"]]
    assert body["count"] == len(keys) == 11
    assert "kill-switch-payments" not in keys
    assert "theme-picker" not in keys
    assert "dark-mode-default" not in keys
    assert set(body) == {"results", "count"}
    full = body["results"][0]
    assert {"id", "key", "filters", "active", "created_by", "experiment_set"} <= set(full)
    page = (
        await client.get(f"{P}/eligible_feature_flags/", params={"limit": 2, "offset": 1})
    ).json()
    assert [flag["key"] for flag in page["results"]] == keys[1:3]
    assert page["count"] == 11
    clamped = await client.get(f"{P}/eligible_feature_flags/", params={"limit": 1000})
    assert clamped.status_code == 200
    by_key = (await client.get(f"{P}/eligible_feature_flags/", params={"order": "key"})).json()
    sorted_keys = [flag["key"] for flag in by_key["results"]]
    assert sorted_keys == sorted(sorted_keys)
    active = (await client.get(f"{P}/eligible_feature_flags/", params={"active": "false"})).json()
    assert all(flag["active"] is False for flag in active["results"])
    search = (await client.get(f"{P}/eligible_feature_flags/", params={"search": "ONBOARD"})).json()
    assert {flag["key"] for flag in search["results"]} == {
        "onboarding-checklist",
        "new-onboarding-flow",
    }


@pytest.mark.parametrize("params", [{"limit": "ten"}, {"offset": "1.5"}, {"limit": "-3"}])
async def test_eligible_flags_bad_numbers(
    client: httpx.AsyncClient, params: dict[str, str]
) -> None:
    response = await client.get(f"{P}/eligible_feature_flags/", params=params)
    assert response.status_code == 400
    assert response.json() == {"error": "Invalid limit or offset"}


async def test_eligible_flags_order_allowlist(client: httpx.AsyncClient) -> None:
    response = await client.get(f"{P}/eligible_feature_flags/", params={"order": "-active"})
    assert response.json() == envelope("Invalid order field: '-active'")


async def test_requires_flag_implementation(client: httpx.AsyncClient) -> None:
    async def ask(events: list[dict[str, str]] | None) -> bool:
        params = {"events": json.dumps(events)} if events is not None else {}
        body = (await client.get(f"{P}/requires_flag_implementation/", params=params)).json()
        return bool(body["result"])

    assert await ask(None) is True
    assert await ask([{"id": "add_to_cart"}]) is True
    assert await ask([{"id": "purchase_completed"}]) is False
    assert await ask([{"id": "$feature_flag_called"}]) is False
    other = await client.get("/api/projects/2/experiments/requires_flag_implementation/")
    assert other.json() == {"result": True}
