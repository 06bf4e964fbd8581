"""Experiment results as PostHog stores them per day (``timeseries_results``), read for decisions.

Each day's value is the *cumulative* analysis from the experiment's start to the end of that day
(reference §8.6), so the latest completed day holds everything known so far.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from lifecycle.snapshot import ApiModel


class VariantStats(ApiModel):
    """One arm's sufficient statistics in a result object (``ExperimentStatsBase``)."""

    key: str
    number_of_samples: int = 0
    sum: float = 0.0
    sum_squares: float = 0.0
    validation_failures: list[str] = Field(default_factory=list)
    significant: bool | None = None


class MetricResult(ApiModel):
    """One day's cumulative result for one metric (``ExperimentQueryResponse``, new format)."""

    baseline: VariantStats | None = None
    variant_results: list[VariantStats] = Field(default_factory=list)

    @property
    def arms(self) -> list[VariantStats]:
        """Control first, then the test variants in flag order."""
        return ([self.baseline] if self.baseline else []) + list(self.variant_results)


class TimeseriesResults(ApiModel):
    """The body of ``GET …/timeseries_results/`` for one metric."""

    experiment_id: int | None = None
    metric_uuid: str | None = None
    status: str = "pending"
    timeseries: dict[str, dict[str, Any] | None] = Field(default_factory=dict)
    errors: dict[str, str] | None = None
    computed_at: str | None = None
    recalculation_status: str | None = None
    recalculation_created_at: str | None = None

    def latest(self) -> tuple[str, MetricResult] | None:
        """The most recent day that has a result, with its date (``YYYY-MM-DD``)."""
        for day in sorted(self.timeseries, reverse=True):
            value = self.timeseries[day]
            if value is not None:
                return day, MetricResult.model_validate(value)
        return None

    def days(self) -> list[tuple[str, MetricResult]]:
        """Every day that has a result, oldest first."""
        return [
            (day, MetricResult.model_validate(value))
            for day, value in sorted(self.timeseries.items())
            if value is not None
        ]
