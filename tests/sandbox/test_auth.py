"""Personal API keys: 401s, scopes, project allowlists (§1)."""

from __future__ import annotations

from typing import Any

import httpx

from tests.sandbox.support import ENDED, WINNER, P


async def _key(client: httpx.AsyncClient, **body: Any) -> dict[str, str]:
    response = await client.post("/_sandbox/keys", json=body)
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json()['key']}"}


def _denied(detail: str) -> dict[str, Any]:
    return {
        "type": "authentication_error",
        "code": "permission_denied",
        "detail": detail,
        "attr": None,
    }


async def test_missing_and_unknown_keys(client: httpx.AsyncClient) -> None:
    for headers in ({"Authorization": ""}, {"Authorization": "Basic abc"}):
        response = await client.get(f"{P}/", headers=headers)
        assert response.status_code == 401
        assert response.json() == {
            "type": "authentication_error",
            "code": "not_authenticated",
            "detail": "Authentication credentials were not provided.",
            "attr": None,
        }
    unknown = await client.get(f"{P}/", headers={"Authorization": "Bearer phx_nope"})
    assert unknown.status_code == 401
    assert unknown.json() == {
        "type": "authentication_error",
        "code": "authentication_failed",
        "detail": "Personal API key found in request Authorization header is invalid.",
        "attr": None,
    }


async def test_scopes(client: httpx.AsyncClient) -> None:
    reader = await _key(client, scopes=["experiment:read"])
    assert (await client.get(f"{P}/{WINNER}/", headers=reader)).status_code == 200
    refused = await client.post(f"{P}/{WINNER}/pause/", headers=reader)
    assert refused.status_code == 403
    assert refused.json() == _denied("API key missing required scope 'experiment:write'")
    assert (await client.get(f"{P}/{WINNER}/", headers=reader)).json()["status"] == "running"
    flags = await client.get(f"{P}/eligible_feature_flags/", headers=reader)
    assert flags.json() == _denied("API key missing required scope 'feature_flag:read'")
    writer = await _key(client, scopes=["experiment:write", "feature_flag:write"])
    assert (await client.get(f"{P}/", headers=writer)).status_code == 200
    assert (await client.get(f"{P}/eligible_feature_flags/", headers=writer)).status_code == 200


async def test_archive_disabling_the_flag_needs_flag_write(client: httpx.AsyncClient) -> None:
    experiments_only = await _key(client, scopes=["experiment:write"])
    refused = await client.post(
        f"{P}/{ENDED}/archive/", json={"disable_feature_flag": True}, headers=experiments_only
    )
    assert refused.json() == _denied("API key missing required scope 'feature_flag:write'")
    plain = await client.post(f"{P}/{ENDED}/archive/", json={}, headers=experiments_only)
    assert plain.status_code == 200
    assert plain.json()["feature_flag"]["active"] is True


async def test_archive_side_effects_on_the_flag(client: httpx.AsyncClient) -> None:
    archived = await client.post(f"{P}/{ENDED}/archive/", json={"disable_feature_flag": "true"})
    assert archived.status_code == 200
    flag_id = archived.json()["feature_flag"]["id"]
    assert archived.json()["feature_flag"]["active"] is False
    flag = await client.get(f"/_sandbox/projects/1/feature_flags/{flag_id}")
    assert flag.json()["archived"] is True
    await client.post(f"{P}/{ENDED}/unarchive/")
    flag = await client.get(f"/_sandbox/projects/1/feature_flags/{flag_id}")
    assert (flag.json()["archived"], flag.json()["active"]) == (False, False)


async def test_approval_gated_flag_cannot_be_disabled_by_archive(client: httpx.AsyncClient) -> None:
    flag_id = (await client.get(f"{P}/{ENDED}/")).json()["feature_flag"]["id"]
    await client.patch(
        f"/_sandbox/projects/1/feature_flags/{flag_id}", json={"approval_required": True}
    )
    refused = await client.post(f"{P}/{ENDED}/archive/", json={"disable_feature_flag": True})
    assert refused.status_code == 403
    assert refused.json()["detail"].startswith("Disabling this feature flag requires approval.")
    assert (await client.get(f"{P}/{ENDED}/")).json()["archived"] is False


async def test_project_allowlist(client: httpx.AsyncClient) -> None:
    scoped = await _key(client, scopes=["*"], projects=[2])
    refused = await client.get(f"{P}/", headers=scoped)
    assert refused.status_code == 403
    assert refused.json() == _denied("API key does not have access to the requested project '1'")
    assert (await client.get("/api/projects/2/experiments/", headers=scoped)).status_code == 200
    current = await client.get("/api/projects/@current/experiments/", headers=scoped)
    assert current.status_code == 200


async def test_admin_needs_the_star_scope(client: httpx.AsyncClient) -> None:
    reader = await _key(client, scopes=["experiment:read", "experiment:write"])
    refused = await client.get("/_sandbox/calls", headers=reader)
    assert refused.status_code == 403
    assert (await client.get("/_sandbox/calls", headers={"Authorization": ""})).status_code == 401
    assert (await client.get("/_sandbox/health", headers={"Authorization": ""})).json() == {
        "ok": True
    }
