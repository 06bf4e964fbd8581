"""Timeseries results and their recalculation (``timeseries_results``, ``recalculate_timeseries``).

PostHog stores one result row per (experiment, metric uuid, fingerprint, day), written by a
periodic job and by recalculation workflows. The sandbox stores no rows for the periodic job: a
launched experiment's current metrics (current fingerprints) have "computed" rows for every day,
the values coming from the deterministic simulator (cumulative from the start date to the end of
each day, or to now for today). What is stored is what changes that picture:

* a pending recalculation for (experiment, fingerprint) hides the rows of its metric uuid until it
  completes, ``settings.recalculation_seconds`` of real time after it was requested (0: at the
  next read);
* a completed recalculation leaves a :class:`~sandbox.state.StoredSeries` for its metric and
  fingerprint (so even a stale fingerprint has rows once recalculated); a failed one
  (``POST /_sandbox/recalculations/{id}/fail``) leaves rows that report an error per day.

Timestamps in these bodies use Python's ``isoformat()`` (``+00:00``), as PostHog's service does.
"""

from __future__ import annotations

import time
import uuid as uuid_module
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sandbox.context import RequestContext
from sandbox.experiments import refuse
from sandbox.metrics import is_binary_metric
from sandbox.results import build_query_result, format_timeseries
from sandbox.settings import SandboxSettings
from sandbox.simulator import (
    DEFAULT_BINARY_RATE,
    DEFAULT_CONTINUOUS,
    MetricPlan,
    Outcome,
    SimulationConfig,
    TrafficPlan,
    TrafficSimulator,
)
from sandbox.state import Experiment, FeatureFlag, Recalculation, SandboxState, StoredSeries

ACTIVE_STATUSES = ("pending", "in_progress")


def simulation_config(state: SandboxState, experiment_id: int) -> SimulationConfig:
    """The experiment's simulation config (defaults when none was set)."""
    stored = state.simulations.get(experiment_id)
    return stored.config if stored is not None else SimulationConfig()


def traffic_plan(
    state: SandboxState, settings: SandboxSettings, experiment: Experiment, flag: FeatureFlag
) -> TrafficPlan | None:
    """Where the experiment's exposures come from (``None`` for drafts)."""
    if experiment.start_date is None:
        return None
    config = simulation_config(state, experiment.id)
    split = experiment.traffic_split
    if split is None:
        split = {key: 100.0 / max(1, len(flag.variant_keys)) for key in flag.variant_keys}
    per_variant = (
        config.exposures_per_day
        if config.exposures_per_day is not None
        else settings.default_exposures_per_day
    )
    rates: list[tuple[str, float]] = []
    for key, share in split.items():
        if config.exposure_rates is not None and key in config.exposure_rates:
            rates.append((key, float(config.exposure_rates[key])))
        else:
            rates.append((key, per_variant * len(split) * share / 100.0))
    return TrafficPlan(
        experiment_id=experiment.id,
        seed=config.seed,
        start=experiment.start_date,
        end=experiment.end_date,
        daily_rates=tuple(rates),
        pauses=tuple((period.since, period.until) for period in flag.inactive_periods),
    )


def metric_plan(
    metric: dict[str, Any], config: SimulationConfig, variant_keys: list[str], baseline: str
) -> MetricPlan:
    """How a metric's outcomes are drawn for each variant."""
    uuid = str(metric.get("uuid") or "")
    per_variant = config.metrics.get(uuid, {})
    binary_only = metric.get("metric_type") in ("funnel", "retention")
    fallback = Outcome(rate=DEFAULT_BINARY_RATE) if is_binary_metric(metric) else DEFAULT_CONTINUOUS
    default = per_variant.get(baseline) or per_variant.get("control") or fallback
    outcomes = []
    for key in variant_keys:
        outcome = per_variant.get(key) or default
        if binary_only and not outcome.is_binary:
            outcome = Outcome(rate=DEFAULT_BINARY_RATE)
        outcomes.append((key, outcome))
    series = metric.get("series")
    steps = len(series) if metric.get("metric_type") == "funnel" and isinstance(series, list) else 0
    return MetricPlan(uuid=uuid, outcomes=tuple(outcomes), steps=steps)


def compute_results(
    state: SandboxState,
    settings: SandboxSettings,
    simulator: TrafficSimulator,
    experiment: Experiment,
    metric: dict[str, Any],
    instants: list[datetime],
) -> list[dict[str, Any]]:
    """The metric's result object as of each instant."""
    flag = state.flag_of(experiment)
    assert flag is not None
    plan = traffic_plan(state, settings, experiment, flag)
    if plan is None:
        return []
    variant_keys = flag.variant_keys
    stats_config = experiment.stats_config
    baseline = (
        stats_config.get("baseline_variant_key", "control")
        if isinstance(stats_config, dict)
        else "control"
    )
    config = simulation_config(state, experiment.id)
    plan_keys = [key for key, _ in plan.daily_rates]
    metric_design = metric_plan(metric, config, plan_keys, str(baseline))
    totals = simulator.totals(plan, metric_design, instants)
    return [
        build_query_result(
            metric, day_totals, variant_keys, stats_config, experiment.excluded_variants
        )
        for day_totals in totals
    ]


def advance_recalculations(state: SandboxState, settings: SandboxSettings) -> None:
    """Move pending recalculations along in real time; completed ones leave stored rows."""
    now_real = time.monotonic()
    delay = settings.recalculation_seconds
    for recalculation in list(state.recalculations.values()):
        if recalculation.status not in ACTIVE_STATUSES:
            continue
        due = state.recalculation_due.setdefault(recalculation.id, now_real + delay)
        if now_real >= due:
            finish_recalculation(state, recalculation, error=None)
        elif recalculation.status == "pending" and now_real >= due - delay / 2:
            recalculation.status = "in_progress"
            state.save(recalculation)


def finish_recalculation(
    state: SandboxState, recalculation: Recalculation, *, error: str | None
) -> None:
    """Complete (or fail) a recalculation and write its rows."""
    now = state.clock.now()
    recalculation.status = "failed" if error else "completed"
    recalculation.completed_at = now
    recalculation.error = error
    state.save(recalculation)
    state.recalculation_due.pop(recalculation.id, None)
    metric_uuid = recalculation.metric.get("uuid")
    if isinstance(metric_uuid, str) and metric_uuid:
        state.save(
            StoredSeries(
                experiment_id=recalculation.experiment_id,
                metric_uuid=metric_uuid,
                fingerprint=recalculation.fingerprint,
                metric=recalculation.metric,
                created_at=now,
                error=error,
            )
        )


def active_recalculation(
    state: SandboxState, experiment_id: int, fingerprint: str
) -> Recalculation | None:
    """The pending or in-progress recalculation for (experiment, fingerprint)."""
    matches = [
        item
        for item in state.recalculations.values()
        if item.experiment_id == experiment_id
        and item.fingerprint == fingerprint
        and item.status in ACTIVE_STATUSES
    ]
    return min(matches, key=lambda item: item.created_at) if matches else None


def _recalculation_body(recalculation: Recalculation, experiment: Experiment) -> dict[str, Any]:
    metric_uuid = recalculation.metric.get("uuid")
    return {
        "id": recalculation.id,
        "experiment_id": experiment.id,
        "metric_uuid": metric_uuid,
        "fingerprint": recalculation.fingerprint,
        "status": recalculation.status,
        "created_at": recalculation.created_at.isoformat(),
    }


def request_recalculation(
    ctx: RequestContext, experiment: Experiment, body: Any
) -> tuple[int, dict[str, Any]]:
    """``recalculate_timeseries``: 201 with a new request, 200 with the one already pending."""
    data = body if isinstance(body, dict) else {}
    metric = data.get("metric")
    fingerprint = data.get("fingerprint")
    if not metric or not isinstance(metric, dict):
        raise refuse("metric is required")
    if not fingerprint:
        raise refuse("fingerprint is required")
    if experiment.start_date is None:
        raise refuse("Cannot recalculate timeseries for experiment that hasn't started")
    state = ctx.state
    advance_recalculations(state, ctx.settings)
    fingerprint = str(fingerprint)
    existing = active_recalculation(state, experiment.id, fingerprint)
    if existing is not None:
        return 200, _recalculation_body(existing, experiment)
    metric_uuid = metric.get("uuid")
    if isinstance(metric_uuid, str) and metric_uuid:
        stored = state.series.get((experiment.id, metric_uuid, fingerprint))
        if stored is not None:
            state.remove(stored)
    recalculation = Recalculation(
        id=str(uuid_module.uuid4()),
        team_id=experiment.team_id,
        experiment_id=experiment.id,
        metric=metric,
        fingerprint=fingerprint,
        created_at=state.clock.now(),
    )
    state.save(recalculation)
    state.recalculation_due[recalculation.id] = (
        time.monotonic() + ctx.settings.recalculation_seconds
    )
    ctx.applied(experiment, "recalculate_timeseries")
    return 201, _recalculation_body(recalculation, experiment)


def _current_metric(experiment: Experiment, metric_uuid: str) -> dict[str, Any] | None:
    for metric in experiment.all_metrics():
        if metric.get("uuid") == metric_uuid:
            return metric
    return None


def experiment_days(experiment: Experiment, today: date) -> list[date]:
    """One key per UTC day from the start date to the end date (or today)."""
    assert experiment.start_date is not None
    first = experiment.start_date.date()
    last = experiment.end_date.date() if experiment.end_date is not None else today
    days = []
    current = first
    while current <= last:
        days.append(current)
        current += timedelta(days=1)
    return days


def timeseries_results(
    ctx: RequestContext, experiment: Experiment, query: dict[str, str]
) -> dict[str, Any]:
    """``timeseries_results`` (§5.19)."""
    metric_uuid = query.get("metric_uuid")
    fingerprint = query.get("fingerprint")
    if not metric_uuid:
        raise refuse("metric_uuid query parameter is required")
    if not fingerprint:
        raise refuse("fingerprint query parameter is required")
    if experiment.start_date is None:
        raise refuse("Experiment has not been started yet")
    state = ctx.state
    advance_recalculations(state, ctx.settings)
    now = state.clock.now()
    days = experiment_days(experiment, now.date())
    timeseries: dict[str, Any] = {day.isoformat(): None for day in days}
    errors: dict[str, str] = {}
    computed_at: datetime | None = None
    created_at = experiment.created_at
    updated_at = experiment.updated_at
    active = active_recalculation(state, experiment.id, fingerprint)
    hidden = active is not None and active.metric.get("uuid") == metric_uuid
    stored = state.series.get((experiment.id, metric_uuid, fingerprint))
    current = _current_metric(experiment, metric_uuid)
    source: dict[str, Any] | None = None
    if hidden:
        source = None
    elif stored is not None:
        created_at = updated_at = stored.created_at
        if stored.error:
            errors = {day.isoformat(): stored.error for day in days}
        else:
            source = stored.metric
            computed_at = stored.created_at
    elif current is not None and current.get("fingerprint") == fingerprint:
        source = current
    if source is not None and days:
        instants = [min(end_of_day(day), now) for day in days]
        values = compute_results(state, ctx.settings, ctx.simulator, experiment, source, instants)
        for day, value in zip(days, values, strict=True):
            timeseries[day.isoformat()] = value
        if stored is None:
            created_at, updated_at = instants[0], instants[-1]
            computed_at = instants[-1]
    completed = sum(1 for value in timeseries.values() if value is not None)
    if completed == 0 and not errors:
        status = "pending"
    elif completed == 0:
        status = "failed"
    elif completed == len(days):
        status = "completed"
    else:
        status = "partial"
    response: dict[str, Any] = {
        "experiment_id": experiment.id,
        "metric_uuid": metric_uuid,
        "status": status,
        "timeseries": timeseries,
        "errors": errors or None,
        "computed_at": computed_at.isoformat() if computed_at else None,
        "created_at": created_at.isoformat(),
        "updated_at": updated_at.isoformat(),
        "recalculation_status": active.status if active else None,
        "recalculation_created_at": active.created_at.isoformat() if active else None,
    }
    response["formatted_results"] = format_timeseries(response)
    return response


def end_of_day(day: date) -> datetime:
    """The UTC midnight that ends ``day`` (projects in the sandbox use UTC)."""
    return datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(days=1)
