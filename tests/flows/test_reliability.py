"""Reliability under the sandbox's fault injection: flaky PostHog, killed workers, load, bad keys."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from prefect.settings import PREFECT_API_URL

from flows.conclude import conclude_experiment
from flows.launch import launch_experiment
from flows.runtime import runtime
from tests.flows.conftest import Sandbox

pytestmark = [pytest.mark.prefect, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]
DRAFT = 1


async def set_plan(experiment_id: int, plan: dict[str, Any]) -> None:
    async with runtime() as rt:
        await rt.automation.set_plan(experiment_id, plan, project_id=1, actor="test")


async def winner_simulation(sandbox: Sandbox, experiment_id: int) -> None:
    async with runtime() as rt:
        uuid = (await rt.client.get_experiment(experiment_id, project_id=1)).primary_metrics[0][
            "uuid"
        ]
    config = {
        "seed": 9,
        "exposures_per_day": 3000,
        "metrics": {uuid: {"control": {"rate": 0.10}, "test": {"rate": 0.16}}},
    }
    await sandbox.simulate(experiment_id, config)


async def test_a_scheduled_lifecycle_survives_a_flaky_posthog(sandbox: Sandbox) -> None:
    await winner_simulation(sandbox, DRAFT)
    launch_at = datetime.now(UTC) + timedelta(minutes=1)
    await set_plan(
        DRAFT,
        {
            "launch_at": launch_at.isoformat(),
            "end_after": "P14D",
            "end_plan": {"action": "ship_winner"},
        },
    )
    # 20% of answers fail (500, 502 or 503) before anything is written, 429 bursts, 300 ms latency.
    await sandbox.faults(
        {"kind": "latency", "latency_ms": 300},
        {"kind": "error", "status": 500, "probability": 0.07, "seed": 1},
        {"kind": "error", "status": 502, "probability": 0.07, "seed": 2},
        {"kind": "error", "status": 503, "probability": 0.07, "seed": 3},
        {"kind": "throttle", "probability": 0.05, "seed": 4, "retry_after": 1},
    )
    launched = await launch_experiment(project_id=1, experiment_id=DRAFT)
    assert launched["status_after"] == "running"
    await sandbox.clock(advance_seconds=15 * 86400)
    concluded = await conclude_experiment(project_id=1, experiment_id=DRAFT)
    assert concluded["decision"]["verdict"] == "ship", concluded["decision"]["reason"]
    calls = await sandbox.calls()
    assert calls["faulted"] > 0, "the faults fired"
    assert calls["applied"]["1/1"] == {"launch": 1, "ship_variant": 1}
    await sandbox.http.delete("/faults")
    async with runtime() as rt:
        final = await rt.client.get_experiment(DRAFT, project_id=1)
    assert (final.status, final.conclusion) == ("stopped", "won")


async def test_a_launch_killed_mid_flow_and_retried_launches_once(sandbox: Sandbox) -> None:
    # PostHog commits the launch, then holds the answer: the worker is killed while it waits.
    await sandbox.faults(
        {"kind": "delay_after_commit", "latency_ms": 60_000, "path_regex": "/launch/$", "count": 1}
    )
    env = {
        **os.environ,
        "EXPCTL_SANDBOX_URL": sandbox.url,
        "EXPCTL_SHARED_RATE_LIMIT": "local",
        "PREFECT_API_URL": str(PREFECT_API_URL.value()),
    }
    code = "import asyncio; from flows.launch import launch_experiment; asyncio.run(launch_experiment(project_id=1, experiment_id=1))"
    worker = await asyncio.create_subprocess_exec(
        sys.executable, "-c", code, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while not (await sandbox.applied(DRAFT)).get("launch"):
            assert worker.returncode is None, "the worker ended before the launch reached PostHog"
            assert time.monotonic() < deadline, "the launch never reached PostHog"
            await asyncio.sleep(0.2)
        worker.send_signal(signal.SIGKILL)
        await asyncio.wait_for(worker.wait(), 10)
    finally:
        if worker.returncode is None:
            worker.kill()
    await sandbox.http.delete("/faults")
    retried = await launch_experiment(project_id=1, experiment_id=DRAFT)
    assert retried["outcome"] == "unchanged"
    assert retried["status_after"] == "running"
    assert await sandbox.applied(DRAFT) == {"launch": 1}


async def test_two_hundred_concurrent_rest_clients_lose_and_duplicate_nothing(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    # The sandbox and the adapter each get their own process, so the 200 clients here measure them.
    sandbox_port, rest_port = _free_port(), _free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("POSTHOG_", "PREFECT_API"))},
        "EXPCTL_SANDBOX_URL": f"http://127.0.0.1:{sandbox_port}",
        "EXPCTL_API_TOKEN": "expctl_load_token",
        "PREFECT_API_URL": str(PREFECT_API_URL.value()),
    }
    log = (tmp_path / "servers.log").open("w")
    children = [
        await asyncio.create_subprocess_exec(
            sys.executable, "-m", "adapters.cli", *args, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
        )
        for args in (("sandbox", "--port", str(sandbox_port)), ("serve", "rest", "--port", str(rest_port)))
    ]  # fmt: skip
    base = f"http://127.0.0.1:{rest_port}"
    admin = {"Authorization": "Bearer phx_sandbox"}
    outcomes: Counter[tuple[int, str]] = Counter()
    statuses: Counter[int] = Counter()
    try:
        await _wait_healthy(f"http://127.0.0.1:{sandbox_port}/_sandbox/health")
        await _wait_healthy(f"{base}/healthz")
        limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
        async with httpx.AsyncClient(
            base_url=base,
            headers={"Authorization": "Bearer expctl_load_token"},
            limits=limits,
            timeout=120,
        ) as http:
            stop = time.monotonic() + 20

            async def client(index: int) -> None:
                experiment = (2, 3, 4)[index % 3]
                step = 0
                while time.monotonic() < stop:
                    action = ("get", "pause", "get", "resume")[step % 4]
                    step += 1
                    path = f"/v1/api/projects/1/experiments/{experiment}"
                    response = await (
                        http.get(path) if action == "get" else http.post(f"{path}/{action}")
                    )
                    statuses[response.status_code] += 1
                    if action != "get" and response.status_code == 200:
                        outcomes[(experiment, action)] += (
                            response.headers["Expctl-Outcome"] == "applied"
                        )

            await asyncio.gather(*(client(i) for i in range(200)))
        async with httpx.AsyncClient() as direct:
            applied = (
                await direct.get(f"http://127.0.0.1:{sandbox_port}/_sandbox/calls", headers=admin)
            ).json()["applied"]
    finally:
        for child in reversed(children):
            child.terminate()
            try:
                await asyncio.wait_for(child.wait(), 15)
            except TimeoutError:
                child.kill()
                await child.wait()
        log.close()
    print(
        f"\n200 clients, 20 s: {sum(statuses.values())} answers {dict(statuses)}; applied {applied}"
    )
    assert not [s for s in statuses if s >= 500], f"adapter 5xx: {statuses}"
    assert set(statuses) <= {200, 409}, statuses
    for experiment in (2, 3, 4):
        writes = applied.get(f"1/{experiment}", {})
        for action in ("pause", "resume"):
            assert writes.get(action, 0) == outcomes[(experiment, action)], (
                experiment,
                action,
                writes,
                outcomes,
            )
    assert sum(outcomes.values()) > 0
    assert "Traceback" not in (tmp_path / "servers.log").read_text()


async def test_a_key_without_write_scope_changes_nothing_and_says_why(sandbox: Sandbox) -> None:
    created = await sandbox.http.post("/keys", json={"scopes": ["experiment:read"]})
    key = created.json()["key"]
    from adapters.posthog import PostHogClient
    from lifecycle import LifecycleService

    async with PostHogClient(
        api_key=key, host=sandbox.url, project_id=1, rate_limit=False
    ) as client:
        service = LifecycleService(client)
        listed = await client.list_experiments({"limit": 1})
        assert listed.count > 0
        with pytest.raises(Exception, match="API key missing required scope 'experiment:write'"):
            await service.apply(DRAFT, "launch")
    assert await sandbox.applied(DRAFT) == {}


def test_expctl_up_refuses_a_wrong_key_or_a_missing_scope(sandbox: Sandbox, tmp_path: Path) -> None:
    read_only_key = httpx.post(
        f"{sandbox.url}/_sandbox/keys",
        json={"scopes": ["experiment:read"]},
        headers=dict(sandbox.http.headers),
    ).json()["key"]
    base_env = {
        k: v for k, v in os.environ.items() if not k.startswith(("POSTHOG_", "EXPCTL_", "PREFECT_"))
    }
    for key, expected in (
        ("phx_wrong", "PostHog rejected POSTHOG_API_KEY"),
        (read_only_key, "missing required scope 'experiment:write'"),
    ):
        env = {
            **base_env,
            "POSTHOG_API_KEY": key,
            "POSTHOG_HOST": sandbox.url,
            "POSTHOG_PROJECT_ID": "1",
        }
        started = time.monotonic()
        done = subprocess.run(
            [sys.executable, "-m", "adapters.cli", "up", "--data", str(tmp_path / "data"), "--rest-port", str(_free_port()), "--mcp-port", str(_free_port()), "--prefect-port", str(_free_port())],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert done.returncode == 2, done.stdout + done.stderr
        assert expected in done.stderr
        assert key not in done.stdout + done.stderr
        assert time.monotonic() - started < 60, "nothing was started before the key was checked"
        assert not (tmp_path / "data" / "logs").exists()


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _wait_healthy(url: str) -> None:
    async with httpx.AsyncClient() as http:
        for _ in range(300):
            try:
                if (await http.get(url)).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.1)
    raise AssertionError(f"{url} did not come up")
