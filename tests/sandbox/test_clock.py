"""The injectable domain clock and its admin routes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from sandbox.clock import Clock
from tests.sandbox.support import DRAFT, WINNER, P


async def test_admin_clock(client: httpx.AsyncClient) -> None:
    assert (await client.get("/_sandbox/clock")).json() == {
        "now": "2026-03-15T12:00:00Z",
        "frozen": True,
    }
    moved = await client.put("/_sandbox/clock", json={"advance_seconds": 86400})
    assert moved.json() == {"now": "2026-03-16T12:00:00Z", "frozen": True}
    launched = (await client.post(f"{P}/{DRAFT}/launch/")).json()
    assert launched["start_date"] == "2026-03-16T12:00:00Z"
    frozen = await client.put("/_sandbox/clock", json={"set": "2026-04-01T08:00:00+02:00"})
    assert frozen.json() == {"now": "2026-04-01T06:00:00Z", "frozen": True}
    running = await client.put("/_sandbox/clock", json={"run": True})
    assert running.json()["frozen"] is False
    now = datetime.fromisoformat(running.json()["now"])
    assert abs((now - datetime(2026, 4, 1, 6, tzinfo=UTC)).total_seconds()) < 5
    for bad in ({}, {"set": "soon"}, {"run": False}, {"set": "2026-01-01", "run": True}):
        assert (await client.put("/_sandbox/clock", json=bad)).status_code == 400


async def test_timeseries_follow_the_clock(client: httpx.AsyncClient) -> None:
    metric = (await client.get(f"{P}/{WINNER}/")).json()["metrics"][0]
    params = {"metric_uuid": metric["uuid"], "fingerprint": metric["fingerprint"]}
    before = (await client.get(f"{P}/{WINNER}/timeseries_results/", params=params)).json()
    await client.put("/_sandbox/clock", json={"advance_seconds": 2 * 86400})
    after = (await client.get(f"{P}/{WINNER}/timeseries_results/", params=params)).json()
    assert len(after["timeseries"]) == len(before["timeseries"]) + 2
    shared_day = max(before["timeseries"])
    assert (
        after["timeseries"][shared_day]["baseline"]["number_of_samples"]
        > before["timeseries"][shared_day]["baseline"]["number_of_samples"]
    )
    earlier_day = min(before["timeseries"])
    assert after["timeseries"][earlier_day] == before["timeseries"][earlier_day]


def test_clock_modes() -> None:
    start = datetime(2030, 1, 1, tzinfo=UTC)
    clock = Clock(start)
    assert not clock.frozen
    assert abs((clock.now() - start).total_seconds()) < 5
    clock.freeze_at(start)
    clock.advance(60)
    assert clock.now() == start + timedelta(seconds=60)
    clock.run()
    assert abs((clock.now() - (start + timedelta(seconds=60))).total_seconds()) < 5
    real = Clock()
    assert abs((real.now() - datetime.now(UTC)).total_seconds()) < 5
