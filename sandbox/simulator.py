"""A deterministic traffic simulator: hourly exposures and outcomes per experiment variant.

The simulation config of an experiment (:class:`SimulationConfig`, admin route
``/_sandbox/projects/{p}/experiments/{id}/simulation``)::

    {
      "seed": 0,                          # any integer; the experiment id is mixed in too
      "exposures_per_day": 500.0,         # per variant at an even split (null = settings default);
                                          # split by the flag's rollout percentages at launch
      "exposure_rates": {"control": 520, "test": 480},   # optional: expected exposures per day
                                          # per variant, overriding the split (an SRM scenario)
      "metrics": {                        # per metric uuid, per variant: the true outcome
        "<metric uuid>": {
          "control": {"rate": 0.10},                                   # binary outcome
          "test":    {"rate": 0.12}
        },
        "<metric uuid>": {
          "control": {"distribution": "lognormal", "mu": 3.0, "sigma": 1.0, "purchase_rate": 0.05},
          "test":    {"distribution": "normal", "mean": 10.0, "sd": 4.0}
        }
      }
    }

Variants or metrics without an entry get the control's outcome (an A/A test); a metric without
any entry gets a default by type (binary rate 0.10; continuous: 5 % buyers × lognormal(3, 1)).

How numbers are drawn:

* exposures arrive per hour from the start date: Poisson counts with the variant's hourly rate;
* outcomes are drawn per hour given that hour's exposures: binomial conversions for binary
  outcomes (funnels draw one binomial per step, each step converting ``rate ** (1/steps)``),
  individual draws summed for continuous ones, so ``sum`` and ``sum_squares`` are exact;
* each block of a week (168 hours) is drawn from its own generator seeded by
  ``(seed, experiment, variant, week, stream)``, so any completed hour has the same values
  whatever instants are asked for and in what order. Blocks are cached per experiment and metric; a change
  of seed, start date, rates or outcomes starts a fresh cache.

Cumulative totals at an instant sum the completed hours since the start date, up to the end date,
skipping hours whose midpoint falls in a pause of the flag.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field, model_validator

HOURS_PER_DAY = 24
# Hours drawn per generator: large enough to keep generator set-up off the profile.
BLOCK_HOURS = 7 * HOURS_PER_DAY
DEFAULT_BINARY_RATE = 0.10

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


class Outcome(BaseModel):
    """The true outcome of one variant on one metric."""

    model_config = ConfigDict(extra="forbid")

    rate: float | None = Field(default=None, ge=0.0, le=1.0)
    distribution: Literal["normal", "lognormal"] | None = None
    mean: float | None = None
    sd: float | None = Field(default=None, ge=0.0)
    mu: float | None = None
    sigma: float | None = Field(default=None, ge=0.0)
    purchase_rate: float | None = Field(default=None, ge=0.0, le=1.0)

    @model_validator(mode="after")
    def _check_shape(self) -> Outcome:
        if (self.rate is None) == (self.distribution is None):
            raise ValueError("give either 'rate' (binary) or 'distribution' (continuous)")
        if self.distribution == "normal" and (self.mean is None or self.sd is None):
            raise ValueError("a normal distribution needs 'mean' and 'sd'")
        if self.distribution == "lognormal" and (self.mu is None or self.sigma is None):
            raise ValueError("a lognormal distribution needs 'mu' and 'sigma'")
        return self

    @property
    def is_binary(self) -> bool:
        """Whether each exposed entity converts (0/1) rather than carrying a value."""
        return self.rate is not None

    def signature(self) -> tuple[Any, ...]:
        """What identifies the draws this outcome produces."""
        return (
            self.rate,
            self.distribution,
            self.mean,
            self.sd,
            self.mu,
            self.sigma,
            self.purchase_rate,
        )


DEFAULT_CONTINUOUS = Outcome(distribution="lognormal", mu=3.0, sigma=1.0, purchase_rate=0.05)


class SimulationConfig(BaseModel):
    """The simulation config of one experiment (see the module docstring)."""

    model_config = ConfigDict(extra="forbid")

    seed: int = 0
    exposures_per_day: float | None = Field(default=None, ge=0.0)
    exposure_rates: dict[str, float] | None = None
    metrics: dict[str, dict[str, Outcome]] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _check_rates(self) -> SimulationConfig:
        for key, rate in (self.exposure_rates or {}).items():
            if rate < 0 or not math.isfinite(rate):
                raise ValueError(f"exposure rate of {key!r} must be a finite number >= 0")
        return self


@dataclass(frozen=True)
class TrafficPlan:
    """Where exposures come from: seed, timing and each variant's expected exposures per day."""

    experiment_id: int
    seed: int
    start: datetime
    end: datetime | None
    daily_rates: tuple[tuple[str, float], ...]
    pauses: tuple[tuple[datetime, datetime | None], ...] = ()


@dataclass(frozen=True)
class MetricPlan:
    """How one metric's outcomes are drawn: per variant outcome, and funnel steps (0 = none)."""

    uuid: str
    outcomes: tuple[tuple[str, Outcome], ...]
    steps: int = 0


@dataclass
class Totals:
    """Cumulative sufficient statistics of one variant."""

    number_of_samples: int
    sum: float
    sum_squares: float
    step_counts: list[int] | None = None


@dataclass
class _VariantSeries:
    exposures: list[IntArray] = field(default_factory=list)


@dataclass
class _MetricSeries:
    sums: dict[str, list[FloatArray]] = field(default_factory=dict)
    squares: dict[str, list[FloatArray]] = field(default_factory=dict)
    steps: dict[str, list[IntArray]] = field(default_factory=dict)


@dataclass
class _ExperimentCache:
    signature: tuple[Any, ...]
    variants: dict[str, _VariantSeries] = field(default_factory=dict)
    metrics: dict[tuple[Any, ...], _MetricSeries] = field(default_factory=dict)


def _stream(*parts: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([*parts])))


def _text_id(text: str) -> int:
    return zlib.crc32(text.encode("utf-8"))


class TrafficSimulator:
    """Draws and caches hourly traffic; answers cumulative totals at any instants."""

    def __init__(self) -> None:
        self._caches: dict[int, _ExperimentCache] = {}

    def forget(self, experiment_id: int) -> None:
        """Drop the cache of one experiment."""
        self._caches.pop(experiment_id, None)

    def clear(self) -> None:
        """Drop every cache."""
        self._caches.clear()

    def totals(
        self, plan: TrafficPlan, metric: MetricPlan, instants: Sequence[datetime]
    ) -> list[dict[str, Totals]]:
        """Per instant, per variant: cumulative totals of ``metric`` up to that instant."""
        hours_at = [self._completed_hours(plan, instant) for instant in instants]
        horizon = max(hours_at, default=0)
        cache = self._cache_for(plan)
        blocks = math.ceil(horizon / BLOCK_HOURS)
        mask = self._active_hours(plan, blocks * BLOCK_HOURS)
        outcomes = dict(metric.outcomes)
        metric_key = (
            metric.uuid,
            metric.steps,
            tuple((k, o.signature()) for k, o in metric.outcomes),
        )
        series = cache.metrics.setdefault(metric_key, _MetricSeries())
        results: list[dict[str, Totals]] = [{} for _ in instants]
        for variant, daily_rate in plan.daily_rates:
            exposures = self._exposures(plan, cache, variant, daily_rate, blocks) * mask
            outcome = outcomes.get(variant)
            if outcome is None:
                continue
            sums, squares, steps = self._outcomes(
                plan, series, metric, variant, outcome, cache, blocks
            )
            cumulative_n = np.concatenate(([0], np.cumsum(exposures)))
            cumulative_sum = np.concatenate(([0.0], np.cumsum(sums * mask)))
            cumulative_sq = np.concatenate(([0.0], np.cumsum(squares * mask)))
            cumulative_steps = (
                np.concatenate((np.zeros((steps.shape[0], 1)), np.cumsum(steps * mask, axis=1)), 1)
                if steps is not None
                else None
            )
            for index, hours in enumerate(hours_at):
                results[index][variant] = Totals(
                    number_of_samples=int(cumulative_n[hours]),
                    sum=float(cumulative_sum[hours]),
                    sum_squares=float(cumulative_sq[hours]),
                    step_counts=(
                        [int(value) for value in cumulative_steps[:, hours]]
                        if cumulative_steps is not None
                        else None
                    ),
                )
        return results

    @staticmethod
    def _completed_hours(plan: TrafficPlan, instant: datetime) -> int:
        until = instant if plan.end is None else min(instant, plan.end)
        seconds = (until - plan.start).total_seconds()
        return max(0, int(seconds // 3600))

    @staticmethod
    def _active_hours(plan: TrafficPlan, hours: int) -> FloatArray:
        mask = np.ones(hours, dtype=np.float64)
        for paused_at, resumed_at in plan.pauses:
            first = (paused_at - plan.start).total_seconds() / 3600 - 0.5
            last = (
                (resumed_at - plan.start).total_seconds() / 3600 - 0.5
                if resumed_at is not None
                else float(hours)
            )
            low = max(0, math.ceil(first))
            high = min(hours, math.ceil(last))
            if high > low:
                mask[low:high] = 0.0
        return mask

    def _cache_for(self, plan: TrafficPlan) -> _ExperimentCache:
        signature = (plan.seed, plan.start, plan.daily_rates)
        cache = self._caches.get(plan.experiment_id)
        if cache is None or cache.signature != signature:
            cache = _ExperimentCache(signature=signature)
            self._caches[plan.experiment_id] = cache
        return cache

    def _exposures(
        self,
        plan: TrafficPlan,
        cache: _ExperimentCache,
        variant: str,
        daily_rate: float,
        blocks: int,
    ) -> FloatArray:
        series = cache.variants.setdefault(variant, _VariantSeries())
        hourly = daily_rate / HOURS_PER_DAY
        while len(series.exposures) < blocks:
            block = len(series.exposures)
            rng = _stream(plan.seed % 2**63, plan.experiment_id, _text_id(variant), block, 0)
            series.exposures.append(rng.poisson(hourly, BLOCK_HOURS).astype(np.int64))
        if blocks == 0:
            return np.zeros(0, dtype=np.float64)
        return np.concatenate(series.exposures[:blocks]).astype(np.float64)

    def _outcomes(
        self,
        plan: TrafficPlan,
        series: _MetricSeries,
        metric: MetricPlan,
        variant: str,
        outcome: Outcome,
        cache: _ExperimentCache,
        blocks: int,
    ) -> tuple[FloatArray, FloatArray, FloatArray | None]:
        sums = series.sums.setdefault(variant, [])
        squares = series.squares.setdefault(variant, [])
        steps = series.steps.setdefault(variant, [])
        exposure_blocks = cache.variants[variant].exposures
        while len(sums) < blocks:
            block = len(sums)
            rng = _stream(
                plan.seed % 2**63,
                plan.experiment_id,
                _text_id(variant),
                block,
                1,
                _text_id(metric.uuid),
            )
            block_sum, block_squares, block_steps = _draw_block(
                rng, exposure_blocks[block], outcome, metric.steps
            )
            sums.append(block_sum)
            squares.append(block_squares)
            if block_steps is not None:
                steps.append(block_steps)
        if blocks == 0:
            empty = np.zeros(0, dtype=np.float64)
            return empty, empty, (np.zeros((metric.steps, 0)) if metric.steps else None)
        step_array = np.concatenate(steps[:blocks], axis=1).astype(np.float64) if steps else None
        return np.concatenate(sums[:blocks]), np.concatenate(squares[:blocks]), step_array


def _draw_block(
    rng: np.random.Generator, exposures: IntArray, outcome: Outcome, steps: int
) -> tuple[FloatArray, FloatArray, IntArray | None]:
    if outcome.rate is not None:
        if steps > 0:
            per_step = outcome.rate ** (1.0 / steps) if outcome.rate > 0 else 0.0
            reached = exposures
            step_counts = []
            for _ in range(steps):
                reached = rng.binomial(reached, per_step)
                step_counts.append(reached)
            conversions = step_counts[-1].astype(np.float64)
            return conversions, conversions.copy(), np.vstack(step_counts).astype(np.int64)
        conversions = rng.binomial(exposures, outcome.rate).astype(np.float64)
        return conversions, conversions.copy(), None
    if outcome.distribution == "normal":
        counts = exposures
        values = rng.normal(outcome.mean or 0.0, outcome.sd or 0.0, int(counts.sum()))
    else:
        purchase_rate = 1.0 if outcome.purchase_rate is None else outcome.purchase_rate
        counts = rng.binomial(exposures, purchase_rate)
        values = rng.lognormal(outcome.mu or 0.0, outcome.sigma or 0.0, int(counts.sum()))
    bounds = np.concatenate(([0], np.cumsum(counts)))
    cumulative = np.concatenate(([0.0], np.cumsum(values)))
    cumulative_sq = np.concatenate(([0.0], np.cumsum(values * values)))
    return (
        cumulative[bounds[1:]] - cumulative[bounds[:-1]],
        cumulative_sq[bounds[1:]] - cumulative_sq[bounds[:-1]],
        None,
    )
