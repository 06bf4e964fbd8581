"""In-memory plan store, scheduler and decision log for tests that take thousands of looks.

The Prefect implementations (adapters/prefect) are exercised by tests/flows against a real Prefect
server; here the statistics pipeline runs sandbox → client → decision → lifecycle → sandbox at a
pace Prefect's API would make minutes long.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from lifecycle.automation import RunKind
from lifecycle.decision import Decision
from lifecycle.plan import PlanRecord, ScheduledRun
from lifecycle.service import ActionResult


class MemoryPlanStore:
    def __init__(self) -> None:
        self.plans: dict[tuple[int, int], PlanRecord] = {}

    async def load(self, project_id: int, experiment_id: int) -> PlanRecord | None:
        found = self.plans.get((project_id, experiment_id))
        return found.model_copy(deep=True) if found else None

    async def save(self, record: PlanRecord) -> None:
        self.plans[(record.project_id, record.experiment_id)] = record.model_copy(deep=True)

    async def delete(self, project_id: int, experiment_id: int) -> None:
        self.plans.pop((project_id, experiment_id), None)

    async def records(self, project_id: int | None = None) -> list[PlanRecord]:
        return [
            r.model_copy(deep=True)
            for (pid, _), r in sorted(self.plans.items())
            if project_id in (None, pid)
        ]


class MemoryScheduler:
    def __init__(self) -> None:
        self.runs: dict[str, tuple[int, int, ScheduledRun]] = {}
        self._ids = itertools.count(1)

    async def schedule(
        self, kind: RunKind, project_id: int, experiment_id: int, at: datetime, *, key: str
    ) -> ScheduledRun:
        run = ScheduledRun(id=key, kind=kind, state="Scheduled", scheduled_at=at)
        self.runs.setdefault(key, (project_id, experiment_id, run))
        return self.runs[key][2]

    async def cancel(self, runs: Sequence[ScheduledRun]) -> None:
        for run in runs:
            pid, eid, old = self.runs[run.id]
            self.runs[run.id] = (pid, eid, old.model_copy(update={"state": "Cancelled"}))

    async def pending(self, project_id: int, experiment_id: int) -> list[ScheduledRun]:
        return [
            r
            for pid, eid, r in self.runs.values()
            if (pid, eid) == (project_id, experiment_id) and r.state == "Scheduled"
        ]

    async def trigger(
        self, kind: RunKind, parameters: Mapping[str, Any], *, key: str | None = None
    ) -> ScheduledRun:
        return ScheduledRun(id=f"run-{next(self._ids)}", kind=kind, state="Pending")

    async def read(self, run_id: str) -> ScheduledRun:
        return self.runs[run_id][2]


class MemoryDecisionLog:
    def __init__(self) -> None:
        self.decisions: list[tuple[Decision, ActionResult | None]] = []

    async def record(self, decision: Decision, result: ActionResult | None) -> None:
        self.decisions.append((decision, result))

    async def recent(
        self, project_id: int, experiment_id: int, *, limit: int = 5
    ) -> list[dict[str, Any]]:
        mine = [
            d.as_dict()
            for d, _ in self.decisions
            if (d.project_id, d.experiment_id) == (project_id, experiment_id)
        ]
        return mine[-limit:][::-1]
