"""PUT/PATCH rules, soft delete and restore, and the DELETE refusal (§5.4-§5.6)."""

from __future__ import annotations

from typing import Any

import httpx

from tests.sandbox.support import ARCHIVED, NO_CONTROL, PAUSED, WINNER, P, envelope, mean


async def _draft(client: httpx.AsyncClient, name: str = "Editable", **extra: Any) -> dict[str, Any]:
    response = await client.post(
        f"{P}/", json={"name": name, "feature_flag_key": name.lower(), **extra}
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_patch_changes_fields_and_version(client: httpx.AsyncClient) -> None:
    draft = await _draft(client)
    response = await client.patch(
        f"{P}/{draft['id']}/", json={"name": "Renamed", "description": "why"}
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["name"], body["description"]) == ("Renamed", "why")
    assert body["version"] == draft["version"] + 1
    same_key = await client.patch(f"{P}/{draft['id']}/", json={"feature_flag_key": "editable"})
    assert same_key.status_code == 200


async def test_keys_that_cannot_be_updated(client: httpx.AsyncClient) -> None:
    draft = await _draft(client)
    other_key = await client.patch(f"{P}/{draft['id']}/", json={"feature_flag_key": "other"})
    assert other_key.json() == envelope("Can't update keys: get_feature_flag_key on Experiment")
    typed = await client.patch(f"{P}/{draft['id']}/", json={"type": "web", "feature_flag_key": "x"})
    assert typed.json() == envelope("Can't update keys: get_feature_flag_key, type on Experiment")
    props = await client.patch(
        f"{P}/{draft['id']}/", json={"filters": {"properties": [{"key": "a"}]}}
    )
    assert props.json() == envelope("Experiments do not support global filter properties")


async def test_put_needs_name_and_key_and_resets_archived(client: httpx.AsyncClient) -> None:
    missing = await client.put(f"{P}/{ARCHIVED}/", json={"name": "No key"})
    assert missing.json() == envelope(
        "This field is required.", code="required", attr="feature_flag_key"
    )
    put = await client.put(
        f"{P}/{ARCHIVED}/",
        json={"name": "Legacy navigation", "feature_flag_key": "legacy-navigation"},
    )
    assert put.status_code == 200
    # DRF fills the serializer default archived=False on a full update.
    assert put.json()["archived"] is False


async def test_variants_of_a_launched_experiment_are_frozen(client: httpx.AsyncClient) -> None:
    three = {
        "feature_flag_variants": [
            {"key": "control", "split_percent": 34},
            {"key": "test", "split_percent": 33},
            {"key": "more", "split_percent": 33},
        ]
    }
    refused = await client.patch(f"{P}/{WINNER}/", json={"parameters": three})
    assert refused.json() == envelope("Can't update feature_flag_variants on Experiment")
    draft = await _draft(client)
    synced = await client.patch(f"{P}/{draft['id']}/", json={"parameters": three})
    assert synced.status_code == 200
    variants = synced.json()["feature_flag"]["filters"]["multivariate"]["variants"]
    assert [variant["key"] for variant in variants] == ["control", "test", "more"]
    assert synced.json()["feature_flag"]["version"] == 2


async def test_soft_delete_and_restore(client: httpx.AsyncClient) -> None:
    draft = await _draft(client)
    detail = f"{P}/{draft['id']}/"
    assert (await client.patch(detail, json={"deleted": True})).json()["deleted"] is True
    assert (await client.get(detail)).status_code == 404
    assert (await client.post(f"{detail}launch/")).status_code == 404
    listed = (await client.get(f"{P}/", params={"search": "Editable"})).json()
    assert listed["count"] == 0
    assert (await client.patch(detail, json={"name": "x"})).status_code == 404
    restored = await client.patch(detail, json={"deleted": False})
    assert restored.status_code == 200
    assert restored.json()["deleted"] is False
    assert (await client.get(detail)).status_code == 200


async def test_restore_needs_the_flag(client: httpx.AsyncClient) -> None:
    draft = await _draft(client)
    detail = f"{P}/{draft['id']}/"
    await client.patch(detail, json={"deleted": True})
    flag_id = draft["feature_flag"]["id"]
    await client.patch(f"/_sandbox/projects/1/feature_flags/{flag_id}", json={"deleted": True})
    refused = await client.patch(detail, json={"deleted": False})
    assert refused.json() == envelope(
        "Cannot restore experiment: the linked feature flag has been deleted. "
        "Restore the feature flag first, then restore the experiment."
    )


async def test_start_date_on_a_draft_launches(client: httpx.AsyncClient) -> None:
    draft = await _draft(client)
    launched = await client.patch(
        f"{P}/{draft['id']}/", json={"start_date": "2026-03-14T00:00:00Z"}
    )
    assert launched.status_code == 200
    assert launched.json()["status"] == "running"
    assert launched.json()["feature_flag"]["active"] is True
    refused = await client.patch(f"{P}/{NO_CONTROL}/", json={"start_date": "2026-03-14T00:00:00Z"})
    assert refused.json() == envelope("Feature flag must have a variant with key 'control'")


async def test_end_date_and_archived_are_direct(client: httpx.AsyncClient) -> None:
    ended = await client.patch(f"{P}/{PAUSED}/", json={"end_date": "2026-03-15T00:00:00Z"})
    assert ended.json()["status"] == "stopped"
    assert ended.json()["feature_flag"]["active"] is False
    draft = await _draft(client)
    archived = await client.patch(f"{P}/{draft['id']}/", json={"archived": True})
    assert archived.json()["archived"] is True
    assert archived.json()["status"] == "draft"


async def test_metric_edits_keep_ordering_and_fingerprints(client: httpx.AsyncClient) -> None:
    draft = await _draft(client, metrics=[mean()])
    first = draft["metrics"][0]
    added = await client.patch(
        f"{P}/{draft['id']}/", json={"metrics": [first, mean(name="Second")]}
    )
    body = added.json()
    assert body["primary_metrics_ordered_uuids"] == [metric["uuid"] for metric in body["metrics"]]
    assert body["metrics"][0]["fingerprint"] == first["fingerprint"]
    switched = (
        await client.patch(f"{P}/{draft['id']}/", json={"stats_config": {"method": "frequentist"}})
    ).json()
    assert switched["metrics"][0]["fingerprint"] != first["fingerprint"]
    missing = await client.patch(
        f"{P}/{draft['id']}/", json={"primary_metrics_ordered_uuids": [first["uuid"]]}
    )
    second = body["metrics"][1]["uuid"]
    assert missing.json() == envelope(
        f"primary_metrics_ordered_uuids is missing UUIDs: ['{second}']. "
        "This is likely a frontend bug - please refresh and try again."
    )
    null = await client.patch(f"{P}/{draft['id']}/", json={"primary_metrics_ordered_uuids": None})
    assert null.json() == envelope(
        "primary_metrics_ordered_uuids is null but primary metrics exist. "
        "This is likely a frontend bug - please refresh and try again."
    )


async def test_delete_is_refused_with_an_empty_body(client: httpx.AsyncClient) -> None:
    for experiment_id in (WINNER, 999_999):
        response = await client.delete(f"{P}/{experiment_id}/")
        assert response.status_code == 405
        assert response.content == b""
    assert (await client.get(f"{P}/{WINNER}/")).status_code == 200
