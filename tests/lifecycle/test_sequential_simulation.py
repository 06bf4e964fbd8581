"""Monte Carlo checks of the stopping rules (sequential-testing.md §8.2–8.4).

The harness (Brownian motion on the z-scale at 28 equally spaced looks) lives in
``bench.stopping_quality``; every boundary it applies comes from ``lifecycle.sequential``.
Tolerances are 3 Monte Carlo standard errors of this run plus half a unit of the last digit
printed in the reference table, since the reference values are rounded.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from bench.stopping_quality import (
    MDE_DRIFT,
    Outcome,
    cs_rule,
    hybrid_rule,
    look_fractions,
    naive_rule,
    simulate,
)
from lifecycle.sequential import ArmStats, critical_value, evaluate_sequential

pytestmark = pytest.mark.slow

PATHS = 20_000
LOOKS = 28
SEED = 20_240_607
EFFECTS = (0.0, 1.0, 2.0, 3.0)


@pytest.fixture(scope="module")
def outcomes() -> dict[tuple[str, float], Outcome]:
    fractions = look_fractions(LOOKS)
    rules = {
        "naive": naive_rule(fractions),
        "cs": cs_rule(1.0)(fractions),
        "cs_quarter": cs_rule(0.25)(fractions),
        "hybrid": hybrid_rule(fractions),
    }
    return simulate(
        rules,
        looks=LOOKS,
        drifts=[effect * MDE_DRIFT for effect in EFFECTS],
        paths=PATHS,
        seed=SEED,
    )


def within(measured: float, expected: float, se: float, printed_decimals: int) -> bool:
    return abs(measured - expected) <= 3.0 * se + 0.5 * 10.0**-printed_decimals


def proportion_se(p: float, n: int) -> float:
    return math.sqrt(p * (1.0 - p) / n)


def test_harness_reproduces_naive_peeking(outcomes: dict[tuple[str, float], Outcome]) -> None:
    fpr = outcomes["naive", 0.0].rejected
    assert abs(fpr - 0.275) <= 0.01, fpr


def test_single_look_at_tuning_n() -> None:
    threshold = np.array([critical_value(1.0, tuning_n=1.0, alpha=0.05)])
    outcome = simulate({"cs": threshold}, looks=1, drifts=[0.0], paths=PATHS, seed=SEED)
    fpr = outcome["cs", 0.0].rejected
    assert within(fpr, 0.0024, proportion_se(0.0024, PATHS), 4), fpr


@pytest.mark.parametrize(("rule", "expected"), [("cs", 0.0119), ("cs_quarter", 0.0167)])
def test_confidence_sequence_fpr(
    outcomes: dict[tuple[str, float], Outcome], rule: str, expected: float
) -> None:
    fpr = outcomes[rule, 0.0].rejected
    assert fpr <= 0.05 + 3.0 * proportion_se(0.05, PATHS)  # ≤ 0.0546 at 20k paths
    assert within(fpr, expected, proportion_se(expected, PATHS), 4), fpr


@pytest.mark.parametrize(
    ("rule", "effect", "power", "asn"),
    [
        ("cs", 1.0, 0.498, 0.81),
        ("cs", 2.0, 0.997, 0.36),
        ("cs", 3.0, 1.000, 0.20),
        ("cs_quarter", 1.0, 0.483, 0.79),
        ("hybrid", 1.0, 0.717, 0.86),
    ],
)
def test_power_and_mean_stopping_time(
    outcomes: dict[tuple[str, float], Outcome],
    rule: str,
    effect: float,
    power: float,
    asn: float,
) -> None:
    outcome = outcomes[rule, effect * MDE_DRIFT]
    assert within(outcome.correct, power, proportion_se(power, PATHS), 3), outcome
    assert within(outcome.asn, asn, outcome.asn_se, 2), outcome


def test_hybrid_fpr(outcomes: dict[tuple[str, float], Outcome]) -> None:
    fpr = outcomes["hybrid", 0.0].rejected
    assert within(fpr, 0.027, proportion_se(0.027, PATHS), 3), fpr


def test_realistic_binary_aa_through_evaluate_sequential() -> None:
    """§8.4 row 1: p = 0.05, 1,000 users/arm/day, 28 days, absolute difference, N* = 5,000."""
    runs, days, per_day, rate = 5000, 28, 1000, 0.05
    rng = np.random.default_rng(SEED)
    conversions = rng.binomial(per_day, rate, size=(runs, days, 2)).cumsum(axis=1)
    rejected = 0
    for run in range(runs):
        previous: dict[str, float] | None = None
        for day in range(days):
            n = per_day * (day + 1)
            control, test = (float(c) for c in conversions[run, day])
            evidence = evaluate_sequential(
                ArmStats("control", n, control, control),
                [ArmStats("test", n, test, test)],
                alpha=0.05,
                tuning_n=5000,
                goal="increase",
                binary=True,
                previous_p=previous,
            )
            if evidence.variants[0].significant:
                rejected += 1
                break
            previous = evidence.running_p_values()
    fpr = rejected / runs
    assert fpr <= 0.05
    assert within(fpr, 0.0165, proportion_se(0.0165, runs), 4), fpr
