"""``expctl flows serve``: serve every deployment of ``prefect.yaml`` from one process.

The deployments are read from ``deployments/prefect.yaml`` (the one place they are declared), so
serving locally and ``prefect deploy`` to a work pool run the same flows on the same schedules.
``EXPCTL_MONITOR_CRON`` / ``EXPCTL_RECALCULATE_CRON`` override the two cron schedules.
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from typing import Any

import yaml

PREFECT_YAML = Path(__file__).with_name("prefect.yaml")
CRON_OVERRIDES = {
    "monitor-experiments": "EXPCTL_MONITOR_CRON",
    "recalculate-timeseries": "EXPCTL_RECALCULATE_CRON",
}


def declared() -> list[dict[str, Any]]:
    """The deployments as prefect.yaml declares them."""
    document = yaml.safe_load(PREFECT_YAML.read_text())
    return list(document["deployments"])


async def runner_deployments() -> list[Any]:
    """One RunnerDeployment per declared deployment, with its schedules."""
    from prefect.schedules import Cron

    deployments = []
    for spec in declared():
        module_path, flow_name = spec["entrypoint"].split(":")
        module = importlib.import_module(module_path.removesuffix(".py").replace("/", "."))
        flow = getattr(module, flow_name)
        schedules = []
        for schedule in spec.get("schedules", []):
            cron = os.environ.get(CRON_OVERRIDES.get(spec["name"], ""), "") or schedule["cron"]
            schedules.append(Cron(cron, timezone=schedule.get("timezone", "UTC")))
        deployments.append(
            await flow.ato_deployment(
                name=spec["name"],
                description=spec.get("description"),
                tags=spec.get("tags"),
                schedules=schedules or None,
            )
        )
    return deployments


async def serve_flows(limit: int | None = None) -> None:
    """Serve all deployments until interrupted or terminated (needs a Prefect server: PREFECT_API_URL)."""
    import asyncio
    import contextlib
    import signal

    from prefect.flows import aserve

    serving = asyncio.ensure_future(aserve(*(await runner_deployments()), limit=limit))
    # The runner does not stop on SIGTERM by itself; a supervisor must be able to stop it.
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, serving.cancel)
    with contextlib.suppress(asyncio.CancelledError):
        await serving
