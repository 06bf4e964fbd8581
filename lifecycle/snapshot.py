"""The experiment as PostHog returns it: the snapshot every lifecycle decision reads.

These models are tolerant (PostHog adds fields often): unknown fields are kept, and the exact JSON
PostHog sent is kept too (:meth:`Experiment.raw`) so adapters can pass it through untouched.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr


class Conclusion(StrEnum):
    """How an experiment ended, in PostHog's words."""

    WON = "won"
    LOST = "lost"
    INCONCLUSIVE = "inconclusive"
    STOPPED_EARLY = "stopped_early"
    INVALID = "invalid"


class PostHogStatus(StrEnum):
    """The ``status`` field PostHog serialises (``stopped`` is what expctl calls ended)."""

    DRAFT = "draft"
    RUNNING = "running"
    PAUSED = "paused"
    EXPOSURE_FROZEN = "exposure_frozen"
    STOPPED = "stopped"


class ApiModel(BaseModel):
    """A PostHog response body: unknown fields kept, and the original JSON kept for pass-through."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    _raw: Any = PrivateAttr(default=None)

    @classmethod
    def from_api(cls, data: Any) -> Self:
        """Parse PostHog's JSON, keeping the original body."""
        model = cls.model_validate(data)
        model._raw = data
        return model

    def raw(self) -> Any:
        """The JSON body exactly as PostHog sent it (this model's dump when built locally)."""
        return self._raw if self._raw is not None else self.model_dump(mode="json")


class FlagVariant(ApiModel):
    """One variant of a multivariate feature flag."""

    key: str
    name: str | None = None
    rollout_percentage: float | None = None


class FeatureFlag(ApiModel):
    """The feature flag linked to an experiment (PostHog's ``MinimalFeatureFlag``)."""

    id: int | None = None
    key: str = ""
    name: str | None = None
    active: bool = False
    deleted: bool = False
    filters: dict[str, Any] = Field(default_factory=dict)

    @property
    def variants(self) -> list[FlagVariant]:
        """The multivariate variants, in flag order (empty when the flag is not multivariate)."""
        multivariate = self.filters.get("multivariate") or {}
        raw = multivariate.get("variants") if isinstance(multivariate, dict) else None
        if not isinstance(raw, list):
            return []
        return [FlagVariant.model_validate(v) for v in raw if isinstance(v, dict) and "key" in v]

    @property
    def variant_keys(self) -> list[str]:
        return [v.key for v in self.variants]

    def shipped_variant(self) -> str | None:
        """The variant served to everyone the flag reaches, if the flag was rewritten by a ship."""
        variants = self.variants
        full = [v.key for v in variants if v.rollout_percentage == 100]
        rest_zero = all(v.rollout_percentage in (0, None) for v in variants if v.key not in full)
        return full[0] if len(full) == 1 and rest_zero else None


class Experiment(ApiModel):
    """A PostHog experiment (detail serializer) or its list form (``ExperimentBasic``)."""

    id: int
    name: str = ""
    description: str | None = None
    start_date: datetime | None = None
    end_date: datetime | None = None
    feature_flag_key: str | None = None
    feature_flag: FeatureFlag | None = None
    archived: bool = False
    deleted: bool | None = None
    conclusion: Conclusion | None = None
    conclusion_comment: str | None = None
    status: str | None = None
    metrics: list[dict[str, Any]] | None = None
    metrics_secondary: list[dict[str, Any]] | None = None
    saved_metrics: list[dict[str, Any]] | None = None
    stats_config: dict[str, Any] | None = None
    parameters: dict[str, Any] | None = None
    exposure_criteria: dict[str, Any] | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None

    @property
    def primary_metrics(self) -> list[dict[str, Any]]:
        """Inline primary metrics plus saved metrics marked primary."""
        metrics = list(self.metrics or [])
        for saved in self.saved_metrics or []:
            kind = (saved.get("metadata") or {}).get("type", "primary")
            query = saved.get("query")
            if kind == "primary" and isinstance(query, dict):
                metrics.append(query)
        return metrics

    @property
    def secondary_metrics(self) -> list[dict[str, Any]]:
        """Inline secondary metrics plus saved metrics marked secondary."""
        metrics = list(self.metrics_secondary or [])
        for saved in self.saved_metrics or []:
            query = saved.get("query")
            if (saved.get("metadata") or {}).get("type") == "secondary" and isinstance(query, dict):
                metrics.append(query)
        return metrics

    def find_metric(self, uuid: str) -> dict[str, Any] | None:
        """The metric (primary or secondary) with this uuid."""
        for metric in self.primary_metrics + self.secondary_metrics:
            if metric.get("uuid") == uuid:
                return metric
        return None


class ExperimentPage(ApiModel):
    """One page of the list endpoint (DRF limit/offset envelope)."""

    count: int
    next: str | None = None
    previous: str | None = None
    results: list[Experiment] = Field(default_factory=list)

    @classmethod
    def from_api(cls, data: Any) -> Self:
        page = super().from_api(data)
        page.results = [Experiment.from_api(item) for item in data.get("results", [])]
        return page
