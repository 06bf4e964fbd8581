"""duplicate, copy_to_project and create_exposure_cohort_for_experiment (§5.9-§5.11)."""

from __future__ import annotations

import httpx

from tests.sandbox.support import DRAFT, LEGACY, NO_CONTROL, WINNER, P, envelope


async def test_duplicate_names_and_shared_flag(client: httpx.AsyncClient) -> None:
    source = (await client.get(f"{P}/{WINNER}/")).json()
    names = []
    for _ in range(3):
        response = await client.post(f"{P}/{WINNER}/duplicate/", json={})
        assert response.status_code == 201
        body = response.json()
        names.append(body["name"])
        assert body["status"] == "draft"
        assert body["feature_flag"]["id"] == source["feature_flag"]["id"]
        assert body["created_by"]["id"] == 1
        source_uuids = {metric["uuid"] for metric in source["metrics"]}
        assert not source_uuids & {metric["uuid"] for metric in body["metrics"]}
        assert body["primary_metrics_ordered_uuids"] == [m["uuid"] for m in body["metrics"]]
    assert names == [
        "Pricing page redesign (Copy)",
        "Pricing page redesign (Copy) 1",
        "Pricing page redesign (Copy) 2",
    ]
    named = await client.post(
        f"{P}/{WINNER}/duplicate/", json={"name": "Rerun", "feature_flag_key": "pricing-rerun"}
    )
    assert named.json()["name"] == "Rerun"
    assert named.json()["feature_flag"]["key"] == "pricing-rerun"
    assert named.json()["feature_flag"]["active"] is False


async def test_shared_flag_is_paused_for_both(client: httpx.AsyncClient) -> None:
    copy = (await client.post(f"{P}/{WINNER}/duplicate/", json={})).json()
    await client.post(f"{P}/{WINNER}/pause/")
    assert (await client.get(f"{P}/{copy['id']}/")).json()["feature_flag"]["active"] is False


async def test_duplicate_refusals(client: httpx.AsyncClient) -> None:
    legacy = await client.post(f"{P}/{LEGACY}/duplicate/", json={})
    assert legacy.status_code == 400
    assert legacy.json() == {
        "detail": "Duplication is not supported for experiments using legacy metrics."
    }
    no_control = await client.post(f"{P}/{NO_CONTROL}/duplicate/", json={})
    assert no_control.status_code == 400
    assert no_control.json()["detail"].startswith(
        "Feature flag variants must contain a variant with key 'control'"
    )


async def test_copy_to_project(client: httpx.AsyncClient) -> None:
    response = await client.post(f"{P}/{WINNER}/copy_to_project/", json={"target_team_id": 2})
    assert response.status_code == 201
    body = response.json()
    assert body["name"] == "Pricing page redesign (Copy)"
    assert body["feature_flag"]["team_id"] == 2
    assert body["status"] == "draft"
    assert (await client.get(f"/api/projects/2/experiments/{body['id']}/")).status_code == 200
    assert (await client.get(f"{P}/{body['id']}/")).status_code == 404
    reused = await client.post(
        f"{P}/{WINNER}/copy_to_project/",
        json={"target_team_id": 2, "feature_flag_key": "beta-dashboard", "name": "Beta copy"},
    )
    assert reused.json()["feature_flag"]["key"] == "beta-dashboard"
    assert reused.json()["feature_flag"]["active"] is True


async def test_copy_refusals(client: httpx.AsyncClient) -> None:
    other_org = await client.post(f"{P}/{WINNER}/copy_to_project/", json={"target_team_id": 3})
    assert other_org.status_code == 404
    assert other_org.json() == {"detail": "Target team not found."}
    missing = await client.post(f"{P}/{WINNER}/copy_to_project/", json={})
    assert missing.json() == envelope(
        "This field is required.", code="required", attr="target_team_id"
    )
    invalid = await client.post(f"{P}/{WINNER}/copy_to_project/", json={"target_team_id": "two"})
    assert invalid.json() == envelope("A valid integer is required.", attr="target_team_id")
    legacy = await client.post(f"{P}/{LEGACY}/copy_to_project/", json={"target_team_id": 2})
    assert legacy.json() == {
        "detail": "Copying is not supported for experiments using legacy metrics."
    }


async def test_exposure_cohort(client: httpx.AsyncClient) -> None:
    response = await client.post(f"{P}/{WINNER}/create_exposure_cohort_for_experiment/")
    assert response.status_code == 201
    cohort = response.json()["cohort"]
    assert cohort["name"] == 'Users exposed to experiment "Pricing page redesign"'
    assert (cohort["is_static"], cohort["is_calculating"]) == (False, True)
    behavioural = cohort["filters"]["properties"]["values"][0]["values"][0]
    assert behavioural["key"] == "$feature_flag_called"
    assert behavioural["event_filters"][0]["value"] == ["pricing-page-redesign"]
    experiment = (await client.get(f"{P}/{WINNER}/")).json()
    assert experiment["exposure_cohort"] == cohort["id"]
    again = await client.post(f"{P}/{WINNER}/create_exposure_cohort_for_experiment/")
    assert again.json() == envelope("Experiment already has an exposure cohort")
    draft = await client.post(f"{P}/{DRAFT}/create_exposure_cohort_for_experiment/")
    assert draft.json() == envelope("Experiment does not have a start date")
