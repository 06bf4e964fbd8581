"""Request and response bodies of PostHog's experiments API.

Requests are strict: an unknown or mistyped field is refused before anything is sent. Responses
are tolerant (PostHog adds fields often) and keep the exact JSON for pass-through. The experiment
snapshot, the results and the lifecycle actions' bodies live in ``lifecycle/`` (the domain reads
and writes them) and are re-exported here.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from lifecycle.actions import ArchiveExperiment, EndExperiment, ShipVariant
from lifecycle.results import TimeseriesResults
from lifecycle.snapshot import ApiModel, Conclusion, Experiment, ExperimentPage

__all__ = [
    "ApiModel",
    "ArchiveExperiment",
    "Conclusion",
    "CopyExperimentToProject",
    "DuplicateExperiment",
    "EligibleFeatureFlags",
    "EligibleFeatureFlagsQuery",
    "EmptyBody",
    "EndExperiment",
    "Experiment",
    "ExperimentCreate",
    "ExperimentPage",
    "ExperimentPatch",
    "ExperimentStats",
    "ExperimentStatusFilter",
    "ExperimentUpdate",
    "ExposureCohort",
    "FlagImplementationQuery",
    "FlagImplementationRequirement",
    "ListExperimentsQuery",
    "RecalculateTimeseries",
    "RequestModel",
    "ShipVariant",
    "TimeseriesRecalculation",
    "TimeseriesResults",
    "TimeseriesResultsQuery",
]

ExperimentOrder = Literal[
    "created_at", "-created_at", "created_by", "-created_by", "updated_at", "-updated_at",
    "name", "-name", "start_date", "-start_date", "end_date", "-end_date",
    "duration", "-duration", "status", "-status",
]  # fmt: skip
"""PostHog's allowlist for ordering experiments ('-' for descending)."""
FlagOrder = Literal["created_at", "-created_at", "key", "-key", "name", "-name"]
"""PostHog's allowlist for ordering eligible flags ('-' for descending)."""


class RequestModel(BaseModel):
    """Base of every request: unknown fields are an error, not silently dropped."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True, populate_by_name=True)


class ExperimentStatusFilter(StrEnum):
    """Values of the list endpoint's ``status`` filter (``complete`` is PostHog's alias of ``stopped``)."""

    DRAFT = "draft"
    RUNNING = "running"
    PAUSED = "paused"
    STOPPED = "stopped"
    COMPLETE = "complete"
    ALL = "all"


PageLimit = Annotated[int, Field(ge=1)]
PageOffset = Annotated[int, Field(ge=0)]
Id = Annotated[int, Field(ge=1)]


class ListExperimentsQuery(RequestModel):
    """Filters of ``GET /experiments/``."""

    archived: bool | None = None
    """True: archived experiments only. Absent or false: non-archived only."""
    created_by_id: Id | None = None
    """Only experiments created by this user id."""
    feature_flag_id: Id | None = None
    """Only experiments linked to this feature flag id."""
    limit: PageLimit | None = None
    """Page size (PostHog's default is 100)."""
    offset: PageOffset | None = None
    """Index of the first result."""
    order: ExperimentOrder | None = None
    """created_at, created_by, updated_at, name, start_date, end_date, duration or status; '-' for descending."""
    search: str | None = None
    """Case-insensitive substring of the experiment name."""
    status: ExperimentStatusFilter | None = None
    """draft, running (flag active), paused (flag inactive), stopped, complete (= stopped) or all."""


class EligibleFeatureFlagsQuery(RequestModel):
    """Filters of ``GET /experiments/eligible_feature_flags/``."""

    search: str | None = None
    """Case-insensitive substring of the flag key or name."""
    limit: Annotated[int, Field(ge=1, le=100)] | None = None
    """Page size, 1 to 100 (PostHog's default is 20)."""
    offset: PageOffset | None = None
    """Index of the first result."""
    active: bool | None = None
    """Only active (true) or inactive (false) flags."""
    created_by_id: Id | None = None
    """Only flags created by this user id."""
    order: FlagOrder | None = None
    """created_at, key or name; '-' for descending (default -created_at)."""
    evaluation_runtime: Literal["server", "client", "all"] | None = None
    """Only flags evaluated in this runtime."""
    has_evaluation_contexts: bool | None = None
    """Only flags that have (true) or lack (false) evaluation contexts."""


class FlagImplementationQuery(RequestModel):
    """Which events to sample for ``$feature/`` properties (legacy insight filter)."""

    events: list[dict[str, Any]] | None = None
    """Event filters, e.g. [{"id": "$pageview"}]."""
    actions: list[dict[str, Any]] | None = None
    """Action filters, e.g. [{"id": 12}]."""


class TimeseriesResultsQuery(RequestModel):
    """Which metric's stored daily results to read."""

    metric_uuid: Annotated[str, Field(min_length=1)]
    """The metric's uuid (from the experiment's metrics)."""
    fingerprint: Annotated[str, Field(min_length=1)]
    """The metric's current fingerprint (results under an older fingerprint are not found)."""


class _ExperimentFields(RequestModel):
    """Fields shared by create and update."""

    description: Annotated[str, Field(max_length=3000)] | None = None
    """The hypothesis and expected outcomes."""
    type: Literal["web", "product"] | None = None
    """"product" (default) or "web"."""
    parameters: dict[str, Any] | None = None
    """Deprecated flag config keys (feature_flag_variants, rollout_percentage...) and notes."""
    feature_flag: dict[str, Any] | None = None
    """Flag configuration for a new flag (newest PostHog)."""
    filters: dict[str, Any] | None = None
    """Legacy filters."""
    secondary_metrics: list[Any] | None = None
    """Legacy secondary metrics."""
    metrics: list[dict[str, Any]] | None = None
    """Primary metrics, each {"kind": "ExperimentMetric", "metric_type": ...}."""
    metrics_secondary: list[dict[str, Any]] | None = None
    """Secondary metrics."""
    saved_metrics_ids: list[dict[str, Any]] | None = None
    """Shared metrics: [{"id": 1, "metadata": {"type": "primary"}}]."""
    holdout_id: int | None = None
    """Holdout group to exclude."""
    exposure_criteria: dict[str, Any] | None = None
    """Exposure event and test-account filtering."""
    stats_config: dict[str, Any] | None = None
    """{"method": "bayesian" | "frequentist", ...}."""
    scheduling_config: dict[str, Any] | None = None
    """Free-form scheduling configuration."""
    running_time_calculation: dict[str, Any] | None = None
    """Running-time calculator state."""
    excluded_variants: list[str] | None = None
    """Variant keys left out of the analysis."""
    only_count_matured_users: bool | None = None
    """Count only users whose conversion window has elapsed."""
    primary_metrics_ordered_uuids: list[str] | None = None
    """Display order of the primary metrics."""
    secondary_metrics_ordered_uuids: list[str] | None = None
    """Display order of the secondary metrics."""
    start_date: datetime | None = None
    """Lifecycle field: set by launch (expctl refuses it outside lifecycle actions)."""
    end_date: datetime | None = None
    """Lifecycle field: set by end (expctl refuses it outside lifecycle actions)."""
    archived: bool | None = None
    """Lifecycle field: set by archive/unarchive."""
    conclusion: Conclusion | None = None
    """Lifecycle field: set by end/ship_variant."""
    conclusion_comment: Annotated[str, Field(max_length=4000)] | None = None
    """Lifecycle field: set by end/ship_variant."""


class ExperimentCreate(_ExperimentFields):
    """Body of ``POST /experiments/``."""

    name: Annotated[str, Field(min_length=1, max_length=400)]
    """Name of the experiment."""
    feature_flag_key: Annotated[str, Field(min_length=1, max_length=400)]
    """Key of the flag to link (reused if it exists, created inactive otherwise)."""
    allow_unknown_events: bool | None = None
    """Skip the check that metric events have been ingested."""


class ExperimentUpdate(_ExperimentFields):
    """Body of ``PUT /experiments/{id}/`` (name and the current flag key are required)."""

    name: Annotated[str, Field(min_length=1, max_length=400)]
    """Name of the experiment."""
    feature_flag_key: Annotated[str, Field(min_length=1, max_length=400)]
    """Must equal the current key: PostHog cannot relink a flag."""
    deleted: bool | None = None
    """Soft delete (true) or restore (false)."""
    update_feature_flag_params: bool | None = None
    """Push parameter changes to the flag of a launched experiment."""


class ExperimentPatch(_ExperimentFields):
    """Body of ``PATCH /experiments/{id}/``: any subset of the fields."""

    name: Annotated[str, Field(min_length=1, max_length=400)] | None = None
    """Name of the experiment."""
    feature_flag_key: Annotated[str, Field(min_length=1, max_length=400)] | None = None
    """Must equal the current key if sent."""
    deleted: bool | None = None
    """Soft delete (true) or restore (false)."""
    update_feature_flag_params: bool | None = None
    """Push parameter changes to the flag of a launched experiment."""


class EmptyBody(RequestModel):
    """An action that takes no input."""


class CopyExperimentToProject(RequestModel):
    """Body of ``POST /experiments/{id}/copy_to_project/``."""

    target_team_id: Id
    """Project id to copy into (same organisation)."""
    feature_flag_key: Annotated[str, Field(min_length=1)] | None = None
    """Flag key in the target project (default: the source flag's key)."""
    name: Annotated[str, Field(min_length=1, max_length=400)] | None = None
    """Name of the copy (default: "<name> (Copy)")."""


class DuplicateExperiment(RequestModel):
    """Body of ``POST /experiments/{id}/duplicate/``."""

    feature_flag_key: Annotated[str, Field(min_length=1)] | None = None
    """Flag key for the duplicate (default: share the source's flag)."""
    name: Annotated[str, Field(min_length=1, max_length=400)] | None = None
    """Name of the duplicate (default: "<name> (Copy)")."""


class RecalculateTimeseries(RequestModel):
    """Body of ``POST /experiments/{id}/recalculate_timeseries/``."""

    metric: dict[str, Any]
    """The metric object, including its uuid."""
    fingerprint: Annotated[str, Field(min_length=1)]
    """The metric's current fingerprint."""

    @field_validator("metric")
    @classmethod
    def _metric_has_uuid(cls, value: dict[str, Any]) -> dict[str, Any]:
        if not value.get("uuid"):
            raise ValueError("the metric must carry its uuid")
        return value


class ExperimentStats(ApiModel):
    """Body of ``GET /experiments/stats/``: launch velocity over the last 30 days."""

    launched_last_30d: int = 0
    launched_previous_30d: int = 0
    percent_change: float = 0.0
    active_experiments: int = 0
    completed_last_30d: int = 0


class EligibleFeatureFlags(ApiModel):
    """Body of ``GET /experiments/eligible_feature_flags/`` (no next/previous links)."""

    results: list[dict[str, Any]] = Field(default_factory=list)
    count: int = 0


class FlagImplementationRequirement(ApiModel):
    """Body of ``GET /experiments/requires_flag_implementation/``."""

    result: bool


class ExposureCohort(ApiModel):
    """Body of ``POST /experiments/{id}/create_exposure_cohort_for_experiment/``."""

    cohort: dict[str, Any]


class TimeseriesRecalculation(ApiModel):
    """Body of ``POST /experiments/{id}/recalculate_timeseries/`` (201 new, 200 already pending)."""

    id: str
    experiment_id: int
    metric_uuid: str | None = None
    fingerprint: str
    status: str
    created_at: str | None = None
