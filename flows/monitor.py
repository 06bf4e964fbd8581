"""The monitor flow: one sweep over every planned experiment — guardrails, early stops, overdue ends."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from prefect import flow, task
from prefect.artifacts import acreate_markdown_artifact
from prefect.cache_policies import NO_CACHE

from flows.retries import retry_if_transient
from flows.runtime import Runtime, runtime


@task(
    name="sweep",
    retries=2,
    retry_delay_seconds=[10, 60],
    retry_condition_fn=retry_if_transient,
    cache_policy=NO_CACHE,
)
async def sweep(
    rt: Runtime, project_id: int | None, as_of: datetime | None, dry_run: bool
) -> dict[str, Any]:
    """List running experiments page by page and look at each one that has a plan."""
    report = await rt.automation.monitor(project_id=project_id, as_of=as_of, dry_run=dry_run)
    return report.as_dict()


@flow(name="monitor-experiments", log_prints=True)
async def monitor_experiments(
    project_id: int | None = None, as_of: datetime | None = None, dry_run: bool = False
) -> dict[str, Any]:
    """Apply every active plan's stopping rules and guardrails once (``dry_run``: change nothing)."""
    async with runtime() as rt:
        report = await sweep(rt, project_id, as_of, dry_run)
    rows = [
        f"| {d['decision']['project_id']} | {d['decision']['experiment_id']} | {d['decision']['verdict']} | "
        f"{d['decision']['rule']} | {(d['result'] or {}).get('outcome', 'dry run' if dry_run else '-')} | "
        f"{d['decision']['reason'].replace('|', '/')} |"
        for d in report["decisions"]
    ]
    await acreate_markdown_artifact(
        key=f"expctl-monitor-{project_id if project_id is not None else 'all'}",
        description=f"monitor sweep: {len(rows)} experiments{' (dry run)' if dry_run else ''}",
        markdown="\n".join(
            [
                f"# Monitor sweep at {report['at']}{' (dry run)' if dry_run else ''}",
                "",
                "| project | experiment | verdict | rule | outcome | reason |",
                "|---|---|---|---|---|---|",
                *rows,
                "",
                *[f"* skipped {eid}: {why}" for eid, why in report["skipped"].items()],
            ]
        ),
    )
    acted = sum(1 for d in report["decisions"] if d["decision"]["action"])
    print(
        f"looked at {len(rows)} experiments; {acted} decisions act{' (dry run)' if dry_run else ''}"
    )
    return report
