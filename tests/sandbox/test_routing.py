"""URL resolution, methods, ids and projects."""

from __future__ import annotations

import httpx
import pytest

from tests.sandbox.support import WINNER, P

NOT_FOUND = {"type": "invalid_request", "code": "not_found", "detail": "Not found.", "attr": None}


@pytest.mark.parametrize(
    "path",
    [
        f"{P}",
        f"{P}/{WINNER}",
        f"{P}/{WINNER}/launch",
        f"{P}/{WINNER}/bogus/",
        f"{P}/{WINNER}/launch/extra/",
        "/api/projects/1/experiment/",
    ],
)
async def test_unknown_routes_and_missing_slashes(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path, headers={"Authorization": ""})
    assert response.status_code == 404
    assert response.json() == NOT_FOUND


@pytest.mark.parametrize(
    "path",
    [
        f"{P}/999999/",
        f"{P}/abc/",
        f"{P}/2.5/launch/",
        "/api/projects/99/experiments/",
        "/api/projects/3/experiments/2/",
    ],
)
async def test_unknown_objects(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path)
    assert response.status_code == 404
    assert response.json() == NOT_FOUND


async def test_wrong_methods(client: httpx.AsyncClient) -> None:
    response = await client.get(f"{P}/{WINNER}/launch/")
    assert response.status_code == 405
    assert response.json() == {
        "type": "invalid_request",
        "code": "method_not_allowed",
        "detail": 'Method "GET" not allowed.',
        "attr": None,
    }
    assert response.headers["allow"] == "POST, OPTIONS"
    post_detail = await client.post(f"{P}/{WINNER}/")
    assert post_detail.json()["detail"] == 'Method "POST" not allowed.'
    put_list = await client.put(f"{P}/", json={})
    assert put_list.status_code == 405
    options = await client.options(f"{P}/")
    assert options.status_code == 200
    head = await client.head(f"{P}/{WINNER}/")
    assert head.status_code == 200


async def test_current_project_alias(client: httpx.AsyncClient) -> None:
    response = await client.get(f"/api/projects/@current/experiments/{WINNER}/")
    assert response.status_code == 200


async def test_action_bodies_are_parsed_like_drf(client: httpx.AsyncClient) -> None:
    broken = await client.post(
        f"{P}/{WINNER}/launch/", content=b"{", headers={"Content-Type": "application/json"}
    )
    assert broken.status_code == 400
    assert broken.json()["code"] == "parse_error"
    untyped = await client.post(f"{P}/{WINNER}/end/", content=b"{", headers={"Content-Type": ""})
    assert untyped.status_code == 200
    assert untyped.json()["status"] == "stopped"
