"""GET /experiments/: pagination envelope, filters and orderings (§2.1, §5.1)."""

from __future__ import annotations

import httpx
import pytest

from tests.sandbox.support import (
    APPROVAL,
    ARCHIVED,
    DRAFT,
    ENDED,
    LEGACY,
    PAUSED,
    WINNER,
    P,
    envelope,
)

VISIBLE = 8  # the demo's non-archived experiments


async def _ids(client: httpx.AsyncClient, **params: str) -> list[int]:
    response = await client.get(f"{P}/", params=params)
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["results"]]


async def test_envelope_and_absolute_links(client: httpx.AsyncClient) -> None:
    first = (await client.get(f"{P}/", params={"limit": 3, "search": ""})).json()
    assert first["count"] == VISIBLE
    assert len(first["results"]) == 3
    assert first["previous"] is None
    assert (
        first["next"] == "http://sandbox.test/api/projects/1/experiments/?limit=3&offset=3&search="
    )
    second = (await client.get(first["next"])).json()
    assert second["previous"] == "http://sandbox.test/api/projects/1/experiments/?limit=3&search="
    third = (await client.get(second["next"])).json()
    assert third["next"] is None
    assert (
        third["previous"]
        == "http://sandbox.test/api/projects/1/experiments/?limit=3&offset=3&search="
    )
    seen = [item["id"] for page in (first, second, third) for item in page["results"]]
    assert len(seen) == len(set(seen)) == VISIBLE


async def test_default_page_and_bad_numbers(client: httpx.AsyncClient) -> None:
    body = (await client.get(f"{P}/", params={"limit": "abc", "offset": "-4"})).json()
    assert len(body["results"]) == VISIBLE
    assert body["next"] is None
    beyond = (await client.get(f"{P}/", params={"offset": 50})).json()
    assert beyond["results"] == []
    assert beyond["count"] == VISIBLE
    # DRF drops the offset when the previous page starts at 0.
    assert beyond["previous"] == "http://sandbox.test/api/projects/1/experiments/?limit=100"


async def test_items_are_experiment_basic(client: httpx.AsyncClient) -> None:
    item = (await client.get(f"{P}/", params={"limit": 1})).json()["results"][0]
    assert "metrics" not in item
    assert "stats_config" not in item
    assert {"id", "name", "feature_flag", "status", "is_legacy", "parameters"} <= set(item)


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"status": "running"}, {WINNER, 3, 4, APPROVAL}),
        ({"status": "PAUSED"}, {PAUSED}),
        ({"status": "draft"}, {DRAFT, 9}),
        ({"status": "complete"}, {ENDED}),
        ({"status": "sideways"}, None),
        ({"status": "all"}, None),
        ({"archived": "true"}, {ARCHIVED, LEGACY}),
        ({"archived": "TRUE", "status": "stopped"}, {ARCHIVED, LEGACY}),
        ({"archived": "no"}, None),
        ({"created_by_id": "2"}, {WINNER, 4}),
        ({"created_by_id": "[2]"}, {WINNER, 4}),
        ({"created_by_id": "1,2"}, None),
        ({"search": "PRICING"}, {WINNER}),
        ({"event": "signup_completed"}, {3, 4, ENDED, 9}),
    ],
)
async def test_filters(
    client: httpx.AsyncClient, params: dict[str, str], expected: set[int] | None
) -> None:
    ids = await _ids(client, **params)
    if expected is None:
        assert len(ids) == VISIBLE
    else:
        assert set(ids) == expected


async def test_feature_flag_filter(client: httpx.AsyncClient) -> None:
    flag_id = (await client.get(f"{P}/{WINNER}/")).json()["feature_flag"]["id"]
    assert await _ids(client, feature_flag_id=str(flag_id)) == [WINNER]
    bad = await client.get(f"{P}/", params={"feature_flag_id": "one"})
    assert bad.json() == envelope("feature_flag_id must be an integer")


async def test_orderings(client: httpx.AsyncClient) -> None:
    assert await _ids(client) == await _ids(client, order="-created_at")
    by_name = await _ids(client, order="name")
    names = [
        (await client.get(f"{P}/{experiment_id}/")).json()["name"].casefold()
        for experiment_id in by_name
    ]
    assert names == sorted(names)
    by_status = await _ids(client, order="status")
    assert set(by_status[:2]) == {DRAFT, 9}
    assert by_status[-1] == ENDED
    by_duration = await _ids(client, order="-duration")
    assert by_duration[:2] == [9, DRAFT] or set(by_duration[:2]) == {9, DRAFT}
    assert by_duration[2] == ENDED
    ascending = await _ids(client, order="duration")
    assert set(ascending[-2:]) == {DRAFT, 9}
    by_creator = await _ids(client, order="created_by")
    assert set(by_creator[:2]) == {WINNER, 4}
    start = await _ids(client, order="start_date")
    assert set(start[-2:]) == {DRAFT, 9}
    bad = await client.get(f"{P}/", params={"order": "popularity"})
    assert bad.json() == envelope("Invalid order field: 'popularity'")
