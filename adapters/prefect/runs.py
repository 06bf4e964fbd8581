"""Scheduled actions as Prefect flow runs of the expctl deployments, visible in the Prefect UI.

Each run carries the tags ``expctl``, ``expctl-<kind>`` and ``expctl-experiment-<project>-<id>``
so the runs of one experiment can be found, shown and cancelled; an idempotency key per plan
version and kind makes scheduling the same run twice return the same run.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from prefect.client.schemas.filters import (
    FlowRunFilter,
    FlowRunFilterState,
    FlowRunFilterStateType,
    FlowRunFilterTags,
)
from prefect.client.schemas.objects import FlowRun, StateType
from prefect.client.schemas.sorting import FlowRunSort
from prefect.exceptions import ObjectNotFound
from prefect.states import Cancelled, Scheduled

from adapters.prefect.connection import prefect_api, ui_url
from lifecycle.automation import RunKind
from lifecycle.errors import InvalidArgumentsError, SchedulerUnavailableError
from lifecycle.plan import ScheduledRun

DEPLOYMENTS: dict[str, str] = {
    "launch": "launch-experiment/launch-experiment",
    "conclude": "conclude-experiment/conclude-experiment",
    "monitor": "monitor-experiments/monitor-experiments",
    "recalculate": "recalculate-timeseries/recalculate-timeseries",
}
"""Run kind → ``<flow name>/<deployment name>`` (deployments/prefect.yaml declares the same)."""

_WAITING = [StateType.SCHEDULED, StateType.PENDING]


def experiment_tag(project_id: int, experiment_id: int) -> str:
    return f"expctl-experiment-{project_id}-{experiment_id}"


class PrefectScheduler:
    """:class:`lifecycle.automation.Scheduler` on Prefect deployments and flow runs."""

    async def schedule(
        self, kind: RunKind, project_id: int, experiment_id: int, at: datetime, *, key: str
    ) -> ScheduledRun:
        parameters = {"project_id": project_id, "experiment_id": experiment_id}
        tags = ["expctl", f"expctl-{kind}", experiment_tag(project_id, experiment_id)]
        return await self._create(kind, parameters, tags, key, Scheduled(scheduled_time=at))

    async def trigger(
        self, kind: RunKind, parameters: Mapping[str, Any], *, key: str | None = None
    ) -> ScheduledRun:
        tags = ["expctl", f"expctl-{kind}"]
        if "experiment_id" in parameters:
            tags.append(
                experiment_tag(int(parameters["project_id"]), int(parameters["experiment_id"]))
            )
        return await self._create(kind, dict(parameters), tags, key, None)

    async def cancel(self, runs: Sequence[ScheduledRun]) -> None:
        async with prefect_api() as client:
            for run in runs:
                await client.set_flow_run_state(
                    UUID(run.id),
                    Cancelled(message="replaced or cancelled by its expctl plan"),
                    force=True,
                )

    async def pending(self, project_id: int, experiment_id: int) -> list[ScheduledRun]:
        async with prefect_api() as client:
            runs = await client.read_flow_runs(
                flow_run_filter=FlowRunFilter(
                    tags=FlowRunFilterTags(all_=[experiment_tag(project_id, experiment_id)]),
                    state=FlowRunFilterState(type=FlowRunFilterStateType(any_=_WAITING)),
                ),
                sort=FlowRunSort.EXPECTED_START_TIME_ASC,
                limit=50,
            )
        return [_view(run) for run in runs]

    async def read(self, run_id: str) -> ScheduledRun:
        try:
            uuid = UUID(run_id)
        except ValueError:
            raise InvalidArgumentsError(
                f"{run_id!r} is not a flow run id", field="flow_run_id"
            ) from None
        async with prefect_api() as client:
            try:
                run = await client.read_flow_run(uuid)
            except ObjectNotFound:
                raise InvalidArgumentsError(f"no flow run {run_id}", field="flow_run_id") from None
        return _view(run)

    async def _create(
        self,
        kind: RunKind,
        parameters: dict[str, Any],
        tags: list[str],
        key: str | None,
        state: Any,
    ) -> ScheduledRun:
        name = DEPLOYMENTS[kind]
        async with prefect_api() as client:
            try:
                deployment = await client.read_deployment_by_name(name)
            except ObjectNotFound:
                raise SchedulerUnavailableError(
                    f"Prefect has no deployment {name!r}: start the flows with `expctl flows serve` "
                    "(or `expctl up`), or deploy them with `prefect deploy --all` from deployments/"
                ) from None
            run = await client.create_flow_run_from_deployment(
                deployment.id, parameters=parameters, state=state, tags=tags, idempotency_key=key
            )
        return _view(run)


def _view(run: FlowRun) -> ScheduledRun:
    kind = next(
        (
            tag.removeprefix("expctl-")
            for tag in run.tags
            if tag.removeprefix("expctl-") in DEPLOYMENTS
        ),
        "unknown",
    )
    state = run.state
    scheduled_at = None
    if state is not None and state.state_details.scheduled_time is not None:
        scheduled_at = state.state_details.scheduled_time
    elif run.expected_start_time is not None:
        scheduled_at = run.expected_start_time
    return ScheduledRun(
        id=str(run.id),
        kind=kind,
        state=state.name if state is not None and state.name else "Unknown",
        scheduled_at=scheduled_at,
        url=ui_url(f"runs/flow-run/{run.id}"),
    )
