"""Automation plans stored as Prefect variables, so they survive every restart with no extra database.

Each plan is two variables (Prefect caps a variable at 5,000 characters): ``expctl-plan-<project>-
<experiment>`` holds what the user set (the plan, version, status, scheduled runs) and
``expctl-state-<project>-<experiment>`` what expctl learned while running it (frozen metrics,
running p-values, looks). Both carry the plan's version; a state from another version is ignored.
"""

from __future__ import annotations

import json
from typing import Any

from prefect.client.schemas.actions import VariableCreate, VariableUpdate
from prefect.client.schemas.filters import VariableFilter, VariableFilterName, VariableFilterTags
from prefect.client.schemas.objects import Variable
from prefect.exceptions import ObjectAlreadyExists

from adapters.prefect.connection import prefect_api
from lifecycle.errors import LifecycleError
from lifecycle.plan import PlanRecord

PLAN_TAG = "expctl-plan"
MAX_VALUE = 5000
_STATE_FIELDS = ("metrics", "running_p", "looks")


def plan_name(project_id: int, experiment_id: int) -> str:
    return f"expctl-plan-{project_id}-{experiment_id}"


def state_name(project_id: int, experiment_id: int) -> str:
    return f"expctl-state-{project_id}-{experiment_id}"


class PlanTooLargeError(LifecycleError):
    """A plan or its state does not fit in a Prefect variable."""


class PrefectPlanStore:
    """:class:`lifecycle.automation.PlanStore` on Prefect variables."""

    async def load(self, project_id: int, experiment_id: int) -> PlanRecord | None:
        async with prefect_api() as client:
            plan = await client.read_variable_by_name(plan_name(project_id, experiment_id))
            if plan is None:
                return None
            state = await client.read_variable_by_name(state_name(project_id, experiment_id))
        return _record(plan, state)

    async def save(self, record: PlanRecord) -> None:
        data = record.model_dump(mode="json")
        state = {key: data.pop(key) for key in _STATE_FIELDS}
        state["version"] = record.version
        tags = [PLAN_TAG, f"project-{record.project_id}"]
        async with prefect_api() as client:
            await _put(client, plan_name(record.project_id, record.experiment_id), data, tags)
            await _put(
                client, state_name(record.project_id, record.experiment_id), state, ["expctl-state"]
            )

    async def delete(self, project_id: int, experiment_id: int) -> None:
        async with prefect_api() as client:
            for name in (
                plan_name(project_id, experiment_id),
                state_name(project_id, experiment_id),
            ):
                if await client.read_variable_by_name(name) is not None:
                    await client.delete_variable_by_name(name)

    async def records(self, project_id: int | None = None) -> list[PlanRecord]:
        tags = [PLAN_TAG] + ([f"project-{project_id}"] if project_id is not None else [])
        plans: list[Variable] = []
        states: dict[str, Variable] = {}
        async with prefect_api() as client:
            plans = await _filter(client, VariableFilter(tags=VariableFilterTags(all_=tags)))
            for variable in await _filter(
                client, VariableFilter(name=VariableFilterName(like_="expctl-state-%"))
            ):
                states[variable.name] = variable
        records = []
        for plan in plans:
            suffix = plan.name.removeprefix("expctl-plan-")
            records.append(_record(plan, states.get(f"expctl-state-{suffix}")))
        return sorted(records, key=lambda r: (r.project_id, r.experiment_id))


def _record(plan: Variable, state: Variable | None) -> PlanRecord:
    data: dict[str, Any] = dict(plan.value) if isinstance(plan.value, dict) else {}
    if (
        state is not None
        and isinstance(state.value, dict)
        and state.value.get("version") == data.get("version")
    ):
        data.update({key: state.value[key] for key in _STATE_FIELDS if key in state.value})
    return PlanRecord.model_validate(data)


async def _put(client: Any, name: str, value: dict[str, Any], tags: list[str]) -> None:
    size = len(json.dumps(value))
    if size > MAX_VALUE:
        raise PlanTooLargeError(
            f"{name} needs {size} characters but a Prefect variable holds {MAX_VALUE}: use fewer "
            "guardrails or variants in one plan"
        )
    if await client.read_variable_by_name(name) is None:
        try:
            await client.create_variable(VariableCreate(name=name, value=value, tags=tags))
            return
        except ObjectAlreadyExists:
            pass  # created concurrently: fall through to update
    await client.update_variable(VariableUpdate(name=name, value=value, tags=tags))


async def _filter(client: Any, variable_filter: VariableFilter) -> list[Variable]:
    found: list[Variable] = []
    offset = 0
    while True:
        response = await client._client.post(
            "/variables/filter",
            json={
                "variables": variable_filter.model_dump(mode="json", exclude_unset=True),
                "limit": 200,
                "offset": offset,
            },
        )
        response.raise_for_status()
        page = [Variable.model_validate(item) for item in response.json()]
        found.extend(page)
        if len(page) < 200:
            return found
        offset += len(page)
