"""One valid call per operation-table row against the demo seed, as the adapter and as PostHog take it."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from adapters.posthog.operations import OPERATIONS_BY_NAME, Operation
from tests.rest.conftest import PROJECT

Json = dict[str, Any]
Given = Json | Callable[[Json], Json] | None


def _first_metric(experiment: Json) -> Json:
    metric: Json = experiment["metrics"][0]
    return metric


@dataclass(frozen=True)
class Case:
    """A call of one row; ``query``/``body`` may be built from the experiment's current JSON."""

    operation: str
    id: int | None = None
    query: Given = None
    body: Given = None
    extra_query: dict[str, str] = field(default_factory=dict)

    @property
    def row(self) -> Operation[Any]:
        return OPERATIONS_BY_NAME[self.operation]

    @property
    def method(self) -> str:
        return self.row.method

    def rest_path(self) -> str:
        return self.row.rest_path.replace("{project-id}", str(PROJECT)).replace(
            "{id}", str(self.id)
        )

    def posthog_path(self) -> str:
        return self.row.path.format(project_id=PROJECT, id=self.id)

    def params(self, experiment: Json) -> dict[str, str]:
        """The query string, encoded as PostHog takes it (JSON for lists and objects)."""
        values = _given(self.query, experiment)
        encoded = {name: _encode(value) for name, value in values.items()}
        return {**encoded, **self.extra_query}

    def json(self, experiment: Json) -> Json | None:
        return None if self.body is None else _given(self.body, experiment)


def _given(value: Given, experiment: Json) -> Json:
    if value is None:
        return {}
    return value(experiment) if callable(value) else dict(value)


def _encode(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


CASES: dict[str, Case] = {
    case.operation: case
    for case in (
        Case(
            "list_experiments",
            query={"status": "running", "limit": 2, "order": "-start_date", "archived": False},
        ),
        Case("create_experiment", body={"name": "Trial", "feature_flag_key": "trial-flag"}),
        Case("list_eligible_feature_flags", query={"limit": 5, "order": "key"}),
        Case("check_flag_implementation", query={"events": [{"id": "$pageview"}]}),
        Case("get_experiment_stats"),
        Case("get_experiment", id=2),
        Case(
            "update_experiment",
            id=1,
            body={"name": "Renamed", "feature_flag_key": "checkout-button-copy"},
        ),
        Case("patch_experiment", id=1, body={"description": "A sharper hypothesis."}),
        Case("delete_experiment", id=1),
        Case("archive_experiment", id=6, body={}),
        Case("copy_experiment_to_project", id=1, body={"target_team_id": 2}),
        Case("create_exposure_cohort", id=2, body={}),
        Case("duplicate_experiment", id=1, body={"name": "Again", "feature_flag_key": "again"}),
        Case("end_experiment", id=2, body={"conclusion": "won", "conclusion_comment": "Clear."}),
        Case("launch_experiment", id=1),
        Case("pause_experiment", id=2),
        Case(
            "recalculate_timeseries",
            id=2,
            body=lambda e: {
                "metric": _first_metric(e),
                "fingerprint": _first_metric(e)["fingerprint"],
            },
        ),
        Case("reset_experiment", id=2),
        Case("resume_experiment", id=5),
        Case("ship_variant", id=2, body={"variant_key": "test", "conclusion": "won"}),
        Case(
            "get_timeseries_results",
            id=2,
            query=lambda e: {
                "metric_uuid": _first_metric(e)["uuid"],
                "fingerprint": _first_metric(e)["fingerprint"],
            },
        ),
        Case("unarchive_experiment", id=7),
    )
}
"""Every row, keyed by operation name."""

CONTEXT_EXPERIMENT = 2
"""The experiment whose JSON builds the metric-dependent queries and bodies."""

_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def scrub_uuids(value: Any) -> Any:
    """``value`` with freshly generated uuids (copies, recalculations) replaced by one token."""
    if isinstance(value, dict):
        return {key: scrub_uuids(item) for key, item in value.items()}
    if isinstance(value, list):
        return [scrub_uuids(item) for item in value]
    if isinstance(value, str) and _UUID.match(value):
        return "<uuid>"
    return value
