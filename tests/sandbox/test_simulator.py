"""The traffic simulator: determinism, realism, SRM and speed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np

from sandbox.simulator import MetricPlan, Outcome, SimulationConfig, TrafficPlan, TrafficSimulator

START = datetime(2026, 2, 1, 9, 30, tzinfo=UTC)


def _plan(experiment_id: int = 1, **extra: object) -> TrafficPlan:
    values: dict[str, object] = {
        "experiment_id": experiment_id,
        "seed": 7,
        "start": START,
        "end": None,
        "daily_rates": (("control", 500.0), ("test", 500.0)),
        **extra,
    }
    return TrafficPlan(**values)  # type: ignore[arg-type]


BINARY = MetricPlan(
    uuid="m-binary",
    outcomes=(("control", Outcome(rate=0.1)), ("test", Outcome(rate=0.12))),
    steps=2,
)
REVENUE = MetricPlan(
    uuid="m-revenue",
    outcomes=(
        ("control", Outcome(distribution="lognormal", mu=3.0, sigma=1.0, purchase_rate=0.05)),
        ("test", Outcome(distribution="normal", mean=2.0, sd=1.0)),
    ),
)


def test_values_do_not_depend_on_what_was_asked_before() -> None:
    instants = [START + timedelta(hours=hours) for hours in (5, 30, 200, 673)]
    forward = TrafficSimulator().totals(_plan(), BINARY, instants)
    one_by_one = [TrafficSimulator().totals(_plan(), BINARY, [at])[0] for at in reversed(instants)]
    assert forward == list(reversed(one_by_one))
    cached = TrafficSimulator()
    cached.totals(_plan(), BINARY, [instants[-1]])
    assert cached.totals(_plan(), BINARY, instants) == forward


def test_exposures_are_shared_across_metrics_and_grow_hourly() -> None:
    simulator = TrafficSimulator()
    at = [START + timedelta(minutes=59), START + timedelta(hours=1), START + timedelta(days=3)]
    binary = simulator.totals(_plan(), BINARY, at)
    revenue = simulator.totals(_plan(), REVENUE, at)
    assert binary[0]["control"].number_of_samples == 0
    assert binary[1]["control"].number_of_samples > 0
    for left, right in zip(binary, revenue, strict=True):
        assert left["test"].number_of_samples == right["test"].number_of_samples
    final = binary[2]["control"]
    assert final.step_counts is not None
    assert final.step_counts[0] >= final.step_counts[1] == final.sum == final.sum_squares
    assert abs(final.number_of_samples - 1500) < 200
    assert abs(final.sum / final.number_of_samples - 0.1) < 0.03
    normal = revenue[2]["test"]
    variance = (normal.sum_squares - normal.sum**2 / normal.number_of_samples) / (
        normal.number_of_samples - 1
    )
    assert abs(normal.sum / normal.number_of_samples - 2.0) < 0.1
    assert abs(variance - 1.0) < 0.15


def test_seed_end_date_and_pauses() -> None:
    at = [START + timedelta(days=5)]
    base = TrafficSimulator().totals(_plan(), BINARY, at)[0]["control"]
    other_seed = TrafficSimulator().totals(_plan(seed=8), BINARY, at)[0]["control"]
    assert base != other_seed
    ended = TrafficSimulator().totals(_plan(end=START + timedelta(days=2)), BINARY, at)[0]
    two_days = TrafficSimulator().totals(_plan(), BINARY, [START + timedelta(days=2)])[0]
    assert ended == two_days
    paused = _plan(pauses=((START + timedelta(days=1), START + timedelta(days=4)),))
    with_pause = TrafficSimulator().totals(paused, BINARY, at)[0]["control"]
    assert with_pause.number_of_samples < base.number_of_samples * 0.6


def test_sample_ratio_mismatch_is_expressible() -> None:
    plan = _plan(daily_rates=(("control", 1000.0), ("test", 800.0)))
    totals = TrafficSimulator().totals(plan, BINARY, [START + timedelta(days=14)])[0]
    ratio = totals["test"].number_of_samples / totals["control"].number_of_samples
    assert 0.75 < ratio < 0.85
    config = SimulationConfig.model_validate(
        {
            "exposure_rates": {"control": 1000, "test": 800},
            "metrics": {"m": {"test": {"rate": 0.5}}},
        }
    )
    assert config.exposure_rates == {"control": 1000, "test": 800}


def test_outcome_shapes_are_validated() -> None:
    for bad in ({}, {"rate": 0.1, "distribution": "normal"}, {"distribution": "normal", "mean": 1}):
        try:
            Outcome.model_validate(bad)
        except ValueError:
            continue
        raise AssertionError(bad)
    assert np.isclose(Outcome(rate=0.25).rate or 0, 0.25)
