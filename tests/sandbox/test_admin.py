"""The sandbox's admin API (not part of PostHog)."""

from __future__ import annotations

import httpx

from sandbox.runtime import SandboxRuntime
from tests.sandbox.support import APPROVAL, WINNER, P, envelope


async def test_flags_can_be_made_and_changed(client: httpx.AsyncClient) -> None:
    created = await client.post(
        "/_sandbox/projects/1/feature_flags",
        json={
            "key": "admin-made",
            "variants": [
                {"key": "control", "rollout_percentage": 50},
                {"key": "test", "rollout_percentage": 50},
            ],
            "active": True,
            "approval_required": True,
        },
    )
    assert created.status_code == 201
    flag = created.json()
    assert (flag["key"], flag["active"], flag["approval_required"]) == ("admin-made", True, True)
    duplicate = await client.post("/_sandbox/projects/1/feature_flags", json={"key": "admin-made"})
    assert duplicate.json() == envelope(
        "There is already a feature flag with this key.", code="unique", attr="key"
    )
    bad_sum = await client.post(
        "/_sandbox/projects/1/feature_flags",
        json={"key": "bad-sum", "variants": [{"key": "control", "rollout_percentage": 60}]},
    )
    assert bad_sum.json()["attr"] == "filters"
    experiment = await client.post(
        f"{P}/", json={"name": "On admin flag", "feature_flag_key": "admin-made"}
    )
    assert experiment.json()["feature_flag"]["id"] == flag["id"]
    patched = await client.patch(
        f"/_sandbox/projects/1/feature_flags/{flag['id']}",
        json={"active": False, "variants": [{"key": "control", "rollout_percentage": 100}]},
    )
    assert patched.json()["active"] is False
    assert patched.json()["version"] == flag["version"] + 1
    launch = await client.post(f"{P}/{experiment.json()['id']}/launch/")
    assert launch.json()["detail"] == (
        "Feature flag must have at least 2 variants (control and at least one test variant)"
    )
    assert (await client.get("/_sandbox/projects/2/feature_flags/1")).status_code == 404


async def test_approval_gated_ship(client: httpx.AsyncClient, runtime: SandboxRuntime) -> None:
    refused = await client.post(f"{P}/{APPROVAL}/ship_variant/", json={"variant_key": "test"})
    assert refused.status_code == 409
    body = refused.json()
    assert (body["code"], body["status"], body["resource_type"]) == (
        "approval_required",
        "approval_required",
        "feature_flag",
    )
    assert body["detail"] == body["message"]
    assert body["change_request"]["state"] == "pending"
    assert (await client.get(f"{P}/{APPROVAL}/")).json()["status"] == "running"
    flag_id = (await client.get(f"{P}/{APPROVAL}/")).json()["feature_flag"]["id"]
    await client.patch(
        f"/_sandbox/projects/1/feature_flags/{flag_id}", json={"approval_required": False}
    )
    shipped = await client.post(
        f"{P}/{APPROVAL}/ship_variant/",
        json={"variant_key": "test", "release_to_everyone": True, "conclusion": "won"},
    )
    assert shipped.status_code == 200
    filters = shipped.json()["feature_flag"]["filters"]
    assert [v["rollout_percentage"] for v in filters["multivariate"]["variants"]] == [0, 100]
    assert filters["groups"][0]["rollout_percentage"] == 100
    assert filters["groups"][0]["description"].startswith("Added automatically")
    assert shipped.json()["conclusion"] == "won"
    assert runtime.ledger.applied(1, APPROVAL) == {"ship_variant": 1}


async def test_simulation_config(client: httpx.AsyncClient) -> None:
    url = f"/_sandbox/projects/1/experiments/{WINNER}/simulation"
    current = (await client.get(url)).json()
    assert current["seed"] == 11
    config = {
        "seed": 5,
        "exposure_rates": {"control": 100, "test": 300},
        "metrics": {"any": {"control": {"rate": 0.2}}},
    }
    assert (await client.put(url, json=config)).json() == config
    metric = (await client.get(f"{P}/{WINNER}/")).json()["metrics"][0]
    params = {"metric_uuid": metric["uuid"], "fingerprint": metric["fingerprint"]}
    series = (await client.get(f"{P}/{WINNER}/timeseries_results/", params=params)).json()
    last = series["timeseries"][max(series["timeseries"])]
    ratio = last["variant_results"][0]["number_of_samples"] / last["baseline"]["number_of_samples"]
    assert 2.5 < ratio < 3.5
    bad = await client.put(url, json={"metrics": {"m": {"control": {"rate": 2}}}})
    assert bad.status_code == 400
    assert (await client.get("/_sandbox/projects/1/experiments/999/simulation")).status_code == 404


async def test_calls_reset_and_keys(client: httpx.AsyncClient) -> None:
    await client.get(f"{P}/")
    await client.get(f"{P}/nope/bogus/")
    calls = (await client.get("/_sandbox/calls")).json()
    assert calls["total"] == 2
    assert calls["by_operation"]["unknown"]["statuses"] == {"404": 1}
    assert (await client.delete("/_sandbox/calls")).json()["total"] == 0
    made = await client.post("/_sandbox/keys", json={"key": "phx_mine", "scopes": ["*"]})
    assert made.json() == {"key": "phx_mine", "scopes": ["*"], "projects": None, "user_id": 1}
    again = await client.post("/_sandbox/keys", json={"key": "phx_mine", "scopes": ["*"]})
    assert again.status_code == 400
    ada = await client.post("/_sandbox/keys", json={"scopes": ["*"], "user_id": 2})
    headers = {"Authorization": f"Bearer {ada.json()['key']}"}
    created = await client.post(
        f"{P}/", json={"name": "By Ada", "feature_flag_key": "by-ada"}, headers=headers
    )
    assert created.json()["created_by"]["first_name"] == "Ada"


async def test_reset_and_events(client: httpx.AsyncClient) -> None:
    await client.post(f"{P}/{WINNER}/end/")
    assert (await client.post("/_sandbox/reset", json={"seed": None})).json() == {
        "ok": True,
        "seed": None,
    }
    assert (await client.get(f"{P}/")).json()["count"] == 0
    await client.post("/_sandbox/reset")
    assert (await client.get(f"{P}/{WINNER}/")).json()["status"] == "running"
    events = await client.put("/_sandbox/projects/1/events", json={"events": ["only_this"]})
    assert events.json() == {"events": ["only_this"]}
    metric = {
        "kind": "ExperimentMetric",
        "metric_type": "funnel",
        "series": [{"kind": "EventsNode", "event": "$pageview"}],
    }
    refused = await client.post(
        f"{P}/", json={"name": "Events", "feature_flag_key": "events", "metrics": [metric]}
    )
    assert refused.json()["detail"].startswith("Event(s) '$pageview' not found.")


async def test_admin_errors_use_the_envelope(client: httpx.AsyncClient) -> None:
    assert (await client.get("/_sandbox/projects/abc/events")).json()["code"] == "not_found"
    assert (await client.get("/_sandbox/nothing-here")).json()["code"] == "not_found"
    broken = await client.put(
        "/_sandbox/faults", content=b"{", headers={"Content-Type": "application/json"}
    )
    assert broken.json()["code"] == "parse_error"
    wrong = await client.post("/_sandbox/clock")
    assert wrong.status_code == 405
    assert wrong.json()["code"] == "method_not_allowed"
