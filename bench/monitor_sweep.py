"""Benchmark: one monitor sweep over 1,000 running experiments with plans, under PostHog's rate limit.

``python -m bench.monitor_sweep [--experiments 1000] [--factor 2]``

The sandbox runs as its own process (real HTTP on loopback) with its rate limit ON, scaled up by
``--factor`` from PostHog's 480/minute and 4,800/hour so the run stays short; the client's limiter
uses the same budget. Every experiment has a plan reading one metric (the monitor's usual case).
Plans live in memory here (the Prefect store adds two reads per sweep, not PostHog calls).

Prints: PostHog API calls per experiment (target ≤ 1 + metrics read), the sweep's wall time
divided by the minimum the rate limit allows (target ≤ 1.1), and the number of 429 answers
(target 0).
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import socket
import subprocess
import sys
import time
from typing import Any

import httpx

from adapters.posthog import PostHogClient, SlidingWindowLimiter, posthog_windows
from lifecycle.automation import AutomationService
from lifecycle.service import LifecycleService
from tests.automation.memory import MemoryDecisionLog, MemoryPlanStore, MemoryScheduler

KEY = "phx_sandbox"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_sandbox(port: int) -> subprocess.Popen[bytes]:
    argv = [sys.executable, "-m", "adapters.cli", "sandbox", "--port", str(port), "--seed", "none"]
    return subprocess.Popen(
        argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=dict(os.environ)
    )


async def wait_ready(url: str) -> None:
    async with httpx.AsyncClient() as http:
        for _ in range(200):
            try:
                if (
                    await http.get(
                        f"{url}/_sandbox/health", headers={"Authorization": f"Bearer {KEY}"}
                    )
                ).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.1)
    raise SystemExit("the sandbox did not start")


async def populate(
    client: PostHogClient, admin: httpx.AsyncClient, automation: AutomationService, count: int
) -> None:
    gate = asyncio.Semaphore(16)

    async def one(index: int) -> None:
        async with gate:
            created = await client.create_experiment(
                {
                    "name": f"bench {index}",
                    "feature_flag_key": f"bench-{index}",
                    "allow_unknown_events": True,
                    "metrics": [
                        {
                            "kind": "ExperimentMetric",
                            "metric_type": "funnel",
                            "series": [{"kind": "EventsNode", "event": "purchase_completed"}],
                        }
                    ],
                }
            )
            await admin.put(
                f"/projects/1/experiments/{created.id}/simulation",
                json={"seed": index, "exposures_per_day": 200},
            )
            await automation.lifecycle.apply(created.id, "launch", actor="bench")
            await automation.set_plan(
                created.id, {"end_after": "P28D"}, project_id=1, actor="bench"
            )

    await asyncio.gather(*(one(i) for i in range(count)))


def minimum_seconds(calls: int, windows: list[tuple[int, float]]) -> float:
    """The least time ``calls`` requests take when each window admits ``limit`` per ``seconds``."""
    return max(math.floor((calls - 1) / limit) * seconds for limit, seconds in windows)


async def main(experiments: int, factor: float) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    sandbox = start_sandbox(port)
    try:
        await wait_ready(url)
        per_minute, per_hour = int(480 * factor), int(4800 * factor)
        async with (
            httpx.AsyncClient(
                base_url=f"{url}/_sandbox", headers={"Authorization": f"Bearer {KEY}"}, timeout=60
            ) as admin,
            PostHogClient(
                api_key=KEY, host=url, project_id=1, rate_limit=False, timeout=60
            ) as setup_client,
        ):
            await admin.put(
                "/rate_limit",
                json={"enabled": False, "per_minute": per_minute, "per_hour": per_hour},
            )
            store, scheduler, log = MemoryPlanStore(), MemoryScheduler(), MemoryDecisionLog()
            setup = AutomationService(
                setup_client, LifecycleService(setup_client), store, scheduler, log
            )
            started = time.perf_counter()
            await populate(setup_client, admin, setup, experiments)
            print(
                f"set up {experiments} running experiments with plans in {time.perf_counter() - started:.1f}s"
            )
            await admin.put(
                "/rate_limit",
                json={"enabled": True, "per_minute": per_minute, "per_hour": per_hour},
            )
            await admin.delete("/calls")
            limiter = SlidingWindowLimiter(posthog_windows(per_minute, per_hour))
            async with PostHogClient(
                api_key=KEY, host=url, project_id=1, limiter=limiter, timeout=60
            ) as client:
                monitor = AutomationService(
                    client, LifecycleService(client), store, scheduler, log, concurrency=32
                )
                started = time.perf_counter()
                report = await monitor.monitor(project_id=1, dry_run=True)
                elapsed = time.perf_counter() - started
            calls: dict[str, Any] = (await admin.get("/calls")).json()
        total = sum(op["count"] for op in calls["by_operation"].values())
        looked = len(report.conclusions)
        floor_s = minimum_seconds(total, [(per_minute, 60.0), (per_hour, 3600.0)])
        ratio = elapsed / floor_s if floor_s else float("nan")
        print(
            f"rate limit: {per_minute}/minute and {per_hour}/hour (PostHog's budget × {factor:g})"
        )
        print(f"experiments looked at: {looked}")
        by_operation = ", ".join(
            f"{name} {op['count']}" for name, op in sorted(calls["by_operation"].items())
        )
        print(f"PostHog API calls: {total} ({by_operation})")
        print(f"calls per experiment: {total / max(1, looked):.3f} (target ≤ 1 + 1 metric = 2)")
        print(
            f"wall time: {elapsed:.1f}s; minimum the rate limit allows: {floor_s:.1f}s; ratio {ratio:.3f} (target ≤ 1.1)"
        )
        print(f"429 answers: {calls['throttled']} (target 0)")
    finally:
        sandbox.terminate()
        sandbox.wait(timeout=10)


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--experiments", type=int, default=1000)
    parser.add_argument(
        "--factor", type=float, default=2.0, help="PostHog's budget is multiplied by this"
    )
    args = parser.parse_args()
    asyncio.run(main(args.experiments, args.factor))


if __name__ == "__main__":
    cli()
