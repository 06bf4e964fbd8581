"""SQLite persistence: the state survives a restart (write-through on every mutation)."""

from __future__ import annotations

from pathlib import Path

import httpx

from sandbox import SandboxSettings, create_app
from tests.sandbox.support import AUTH, DRAFT, FROZEN_AT, P


def _client(settings: SandboxSettings) -> tuple[httpx.AsyncClient, object]:
    app = create_app(settings)
    client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://sandbox.test", headers=AUTH
    )
    return client, app


async def test_state_survives_a_restart(tmp_path: Path) -> None:
    settings = SandboxSettings(
        clock_start=FROZEN_AT, clock_frozen=True, data_path=tmp_path / "sandbox.db"
    )
    client, app = _client(settings)
    async with client:
        created = (
            await client.post(f"{P}/", json={"name": "Kept", "feature_flag_key": "kept"})
        ).json()
        await client.post(f"{P}/{DRAFT}/launch/")
        await client.put("/_sandbox/clock", json={"advance_seconds": 3600})
        key = (await client.post("/_sandbox/keys", json={"scopes": ["experiment:read"]})).json()
        await client.put(
            "/_sandbox/projects/1/experiments/2/simulation",
            json={"seed": 99, "exposures_per_day": 10},
        )
    app.state.sandbox.close()  # type: ignore[attr-defined]

    client, app = _client(settings)
    async with client:
        kept = await client.get(f"{P}/{created['id']}/")
        assert kept.status_code == 200
        assert kept.json()["feature_flag"]["key"] == "kept"
        assert (await client.get(f"{P}/{DRAFT}/")).json()["status"] == "running"
        assert (await client.get("/_sandbox/clock")).json()["now"] == "2026-03-15T13:00:00Z"
        reader = {"Authorization": f"Bearer {key['key']}"}
        assert (await client.get(f"{P}/", headers=reader)).status_code == 200
        simulation = (await client.get("/_sandbox/projects/1/experiments/2/simulation")).json()
        assert simulation["seed"] == 99
        another = (
            await client.post(f"{P}/", json={"name": "Next", "feature_flag_key": "next"})
        ).json()
        assert another["id"] == created["id"] + 1
        assert (await client.post("/_sandbox/reset")).json() == {"ok": True, "seed": "demo"}
        assert (await client.get(f"{P}/{created['id']}/")).status_code == 404
    app.state.sandbox.close()  # type: ignore[attr-defined]

    client, app = _client(settings)
    async with client:
        assert (await client.get(f"{P}/{created['id']}/")).status_code == 404
        assert (await client.get(f"{P}/{DRAFT}/")).json()["status"] == "draft"
    app.state.sandbox.close()  # type: ignore[attr-defined]
