"""Flow tests: one Prefect test server for the session, a real sandbox server, clean plans per test."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from prefect.testing.utilities import prefect_test_harness

from sandbox.server import RunningServer, running_server
from tests.conftest import SANDBOX_KEY, sandbox_settings


@pytest.fixture(scope="session")
def prefect_server() -> Iterator[None]:
    """Prefect's ephemeral test server (about 17 s to start), shared by every flow test."""
    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture(scope="session")
def live_sandbox() -> Iterator[RunningServer]:
    """The sandbox over real HTTP: flows build their own client from the environment."""
    with running_server(sandbox_settings()) as server:
        yield server


@pytest.fixture(scope="session")
async def deployed(prefect_server: None) -> None:
    """Register the four deployments on the test server (what `expctl flows serve` does)."""
    from deployments.serve import runner_deployments

    for deployment in await runner_deployments():
        await deployment.apply()


class Sandbox:
    """The sandbox's admin API, for arranging and checking a test."""

    def __init__(self, server: RunningServer) -> None:
        self.url = server.url
        self.http = httpx.AsyncClient(
            base_url=f"{server.url}/_sandbox", headers={"Authorization": f"Bearer {SANDBOX_KEY}"}
        )

    async def applied(self, experiment_id: int, project_id: int = 1) -> dict[str, int]:
        calls = (await self.http.get("/calls")).json()
        return dict(calls["applied"].get(f"{project_id}/{experiment_id}", {}))

    async def calls(self) -> dict[str, Any]:
        return (await self.http.get("/calls")).json()

    async def faults(self, *rules: dict[str, Any]) -> None:
        (await self.http.put("/faults", json={"rules": list(rules)})).raise_for_status()

    async def simulate(
        self, experiment_id: int, config: dict[str, Any], project_id: int = 1
    ) -> None:
        url = f"/projects/{project_id}/experiments/{experiment_id}/simulation"
        (await self.http.put(url, json=config)).raise_for_status()

    async def simulation(self, experiment_id: int, project_id: int = 1) -> dict[str, Any]:
        return (
            await self.http.get(f"/projects/{project_id}/experiments/{experiment_id}/simulation")
        ).json()

    async def clock(self, **change: Any) -> dict[str, Any]:
        if change:
            (await self.http.put("/clock", json=change)).raise_for_status()
        return (await self.http.get("/clock")).json()


@pytest.fixture
async def sandbox(
    live_sandbox: RunningServer, deployed: None, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Sandbox]:
    """A freshly seeded sandbox the flows reach through EXPCTL_SANDBOX_URL; no plans left over."""
    monkeypatch.setenv("EXPCTL_SANDBOX_URL", live_sandbox.url)
    monkeypatch.setenv("EXPCTL_SHARED_RATE_LIMIT", "local")
    admin = Sandbox(live_sandbox)
    # Back to real time (a test may have moved the clock), then reseed relative to it.
    await admin.clock(set=datetime.now(UTC).isoformat())
    await admin.clock(run=True)
    (await admin.http.post("/reset")).raise_for_status()
    await admin.http.delete("/faults")
    await admin.http.delete("/calls")
    from adapters.prefect.plans import PrefectPlanStore
    from adapters.prefect.runs import PrefectScheduler

    store, scheduler = PrefectPlanStore(), PrefectScheduler()
    for record in await store.records():
        await scheduler.cancel(await scheduler.pending(record.project_id, record.experiment_id))
        await store.delete(record.project_id, record.experiment_id)
    yield admin
    await admin.http.aclose()
