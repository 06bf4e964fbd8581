"""Injected faults: before processing (nothing written) and after (written, answer lost)."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import pytest

from sandbox import SandboxSettings
from sandbox.faults import ConnectionDropped, FaultConfig, FaultRule
from sandbox.runtime import SandboxRuntime
from sandbox.server import running_server
from tests.sandbox.support import AUTH, DRAFT, FROZEN_AT, WINNER, P


async def _faults(client: httpx.AsyncClient, *rules: dict[str, Any]) -> None:
    response = await client.put("/_sandbox/faults", json={"rules": list(rules)})
    assert response.status_code == 200, response.text


async def _status(client: httpx.AsyncClient, experiment_id: int) -> str:
    status: str = (await client.get(f"{P}/{experiment_id}/")).json()["status"]
    return status


async def test_latency(client: httpx.AsyncClient) -> None:
    await _faults(client, {"kind": "latency", "latency_ms": 120, "methods": ["GET"]})
    began = time.perf_counter()
    assert (await client.get(f"{P}/{WINNER}/")).status_code == 200
    assert time.perf_counter() - began >= 0.1
    await _faults(client, {"kind": "error", "status": 503})
    assert (await client.get(f"{P}/{WINNER}/")).status_code == 503
    assert (await client.get("/_sandbox/health")).status_code == 200, (
        "admin routes are never faulted"
    )


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_errors_write_nothing(
    client: httpx.AsyncClient, runtime: SandboxRuntime, status: int
) -> None:
    await _faults(
        client, {"kind": "error", "status": status, "count": 1, "path_regex": "/launch/$"}
    )
    failed = await client.post(f"{P}/{DRAFT}/launch/")
    assert failed.status_code == status
    if status == 500:
        assert failed.json() == {
            "type": "server_error",
            "code": "error",
            "detail": "A server error occurred.",
            "attr": None,
        }
    else:
        assert failed.headers["content-type"].startswith("text/html")
    assert await _status(client, DRAFT) == "draft"
    assert (await client.post(f"{P}/{DRAFT}/launch/")).status_code == 200
    calls = (await client.get("/_sandbox/calls")).json()
    assert calls["faulted"] == 1
    assert calls["by_operation"]["experiments_launch_create"]["statuses"] == {
        str(status): 1,
        "200": 1,
    }
    assert runtime.ledger.applied(1, DRAFT) == {"launch": 1}
    remaining = (await client.get("/_sandbox/faults")).json()["rules"][0]["count"]
    assert remaining == 0


async def test_throttle_burst_then_recovery(client: httpx.AsyncClient) -> None:
    await _faults(client, {"kind": "throttle", "count": 2, "retry_after": 3})
    for _ in range(2):
        refused = await client.get(f"{P}/")
        assert refused.status_code == 429
        assert refused.headers["Retry-After"] == "3"
        assert refused.json()["detail"] == "Request was throttled. Expected available in 3 seconds."
    assert (await client.get(f"{P}/")).status_code == 200


async def test_seeded_probability_is_reproducible(app: Any, client: httpx.AsyncClient) -> None:
    rule = {"kind": "error", "status": 503, "probability": 0.5, "seed": 42}
    outcomes = []
    for _ in range(2):
        await _faults(client, rule)
        outcomes.append([(await client.get(f"{P}/stats/")).status_code for _ in range(20)])
    assert outcomes[0] == outcomes[1]
    assert {200, 503} == set(outcomes[0])


async def test_scoping_by_method_and_path(client: httpx.AsyncClient) -> None:
    await _faults(client, {"kind": "error", "methods": ["post"], "path_regex": r"/end/$"})
    assert (await client.get(f"{P}/{WINNER}/")).status_code == 200
    assert (await client.post(f"{P}/{WINNER}/pause/")).status_code == 200
    assert (await client.post(f"{P}/{WINNER}/end/")).status_code == 503
    cleared = await client.delete("/_sandbox/faults")
    assert cleared.json() == {"rules": []}
    assert (await client.post(f"{P}/{WINNER}/end/")).status_code == 200


async def test_drop_in_process_is_a_transport_error(client: httpx.AsyncClient) -> None:
    await _faults(client, {"kind": "drop", "count": 1})
    with pytest.raises(httpx.RemoteProtocolError):
        await client.post(f"{P}/{DRAFT}/launch/")
    assert issubclass(ConnectionDropped, httpx.TransportError)
    assert await _status(client, DRAFT) == "draft"


async def test_bad_fault_config(client: httpx.AsyncClient) -> None:
    response = await client.put("/_sandbox/faults", json={"rules": [{"kind": "meteor"}]})
    assert response.status_code == 400
    assert response.json()["attr"] == "rules__0__kind"


def _settings(**rules: Any) -> SandboxSettings:
    return SandboxSettings(
        clock_start=FROZEN_AT,
        clock_frozen=True,
        faults=FaultConfig(rules=[FaultRule.model_validate(rule) for rule in rules.values()]),
    )


def test_dropped_connection_over_real_http() -> None:
    settings = _settings(drop={"kind": "drop", "count": 1, "path_regex": "/launch/$"})
    with (
        running_server(settings) as server,
        httpx.Client(base_url=server.url, headers=AUTH) as http,
    ):
        with pytest.raises(httpx.TransportError):
            http.post(f"{P}/{DRAFT}/launch/")
        assert http.get(f"{P}/{DRAFT}/").json()["status"] == "draft"
        assert http.post(f"{P}/{DRAFT}/launch/").status_code == 200


def test_commit_then_delay_makes_the_client_time_out() -> None:
    settings = _settings(
        delay={"kind": "delay_after_commit", "latency_ms": 800, "count": 1, "methods": ["POST"]}
    )
    with (
        running_server(settings) as server,
        httpx.Client(base_url=server.url, headers=AUTH) as http,
    ):
        with pytest.raises(httpx.ReadTimeout):
            http.post(f"{P}/{DRAFT}/launch/", timeout=0.2)
        assert http.get(f"{P}/{DRAFT}/").json()["status"] == "running"
        retry = http.post(f"{P}/{DRAFT}/launch/")
        assert retry.json()["detail"] == "Experiment has already been launched."
        assert server.runtime.ledger.applied(1, DRAFT) == {"launch": 1}
        assert server.runtime.ledger.faulted == 1


def test_commit_then_drop() -> None:
    settings = _settings(drop={"kind": "drop_after_commit", "count": 1, "path_regex": "/end/$"})
    with (
        running_server(settings) as server,
        httpx.Client(base_url=server.url, headers=AUTH) as http,
    ):
        with pytest.raises(httpx.TransportError):
            http.post(f"{P}/{WINNER}/end/", json={"conclusion": "won"})
        ended = http.get(f"{P}/{WINNER}/").json()
        assert (ended["status"], ended["conclusion"]) == ("stopped", "won")
        assert server.runtime.ledger.applied(1, WINNER) == {"end": 1}


def test_slow_body_arrives_whole() -> None:
    settings = _settings(slow={"kind": "slow_body", "chunk_bytes": 1024, "chunk_delay_ms": 40})
    with (
        running_server(settings) as server,
        httpx.Client(base_url=server.url, headers=AUTH) as http,
    ):
        began = time.perf_counter()
        response = http.get(f"{P}/{WINNER}/")
        elapsed = time.perf_counter() - began
        chunks = -(-len(response.content) // 1024)
        assert chunks >= 3
        assert elapsed >= 0.04 * (chunks - 1) * 0.9
        assert json.loads(response.content)["id"] == WINNER
