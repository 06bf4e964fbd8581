"""PostHog's experiment statistics: validation, Bayesian and frequentist comparisons (§8.5).

Inputs are per-variant sufficient statistics (``n``, ``sum``, ``sum_squares`` and, for ratio and
retention metrics, the denominator sums). Outputs are the fields PostHog puts on each test
variant: ``chance_to_win`` / ``credible_interval`` / ``significant`` (Bayesian, the default) or
``p_value`` / ``confidence_interval`` / ``significant`` (frequentist, Welch t-test). When an
engine guard fails (too few conversions, zero variance, zero control mean, tiny samples) the
fields stay ``None`` and no failure code is added, as in PostHog's newest code.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist
from typing import Literal

from scipy import special

StatisticKind = Literal["mean", "proportion", "ratio"]
DifferenceType = Literal["RELATIVE", "ABSOLUTE"]

MIN_EXPOSURES = 50
MIN_CONVERSIONS = 5
_STANDARD_NORMAL = NormalDist()


@dataclass(frozen=True)
class Sample:
    """One variant's sufficient statistics."""

    n: int
    sum: float
    sum_squares: float
    denominator_sum: float | None = None
    denominator_sum_squares: float | None = None
    numerator_denominator_sum_product: float | None = None


@dataclass(frozen=True)
class BayesianResult:
    """The Bayesian fields of a test variant."""

    chance_to_win: float
    credible_interval: tuple[float, float]
    significant: bool


@dataclass(frozen=True)
class FrequentistResult:
    """The frequentist fields of a test variant."""

    p_value: float
    confidence_interval: tuple[float, float]
    significant: bool


def validation_failures(sample: Sample, *, needs_conversions: bool, is_baseline: bool) -> list[str]:
    """PostHog's per-variant validation codes, in PostHog's order."""
    failures: list[str] = []
    if sample.n < MIN_EXPOSURES:
        failures.append("not-enough-exposures")
    if needs_conversions and sample.sum < MIN_CONVERSIONS:
        failures.append("not-enough-metric-data")
    if is_baseline and sample.sum == 0:
        failures.append("baseline-mean-is-zero")
    return failures


def _sample_mean_variance(n: int, total: float, squares: float) -> tuple[float, float]:
    mean = total / n
    variance = (squares - total * total / n) / (n - 1) if n > 1 else 0.0
    return mean, max(variance, 0.0)


def mean_and_variance(sample: Sample, kind: StatisticKind) -> tuple[float, float] | None:
    """The per-observation mean and variance of a variant, or ``None`` when undefined."""
    if sample.n <= 0:
        return None
    if kind == "proportion":
        p = sample.sum / sample.n
        return p, p * (1 - p)
    if kind == "mean":
        return _sample_mean_variance(sample.n, sample.sum, sample.sum_squares)
    denominator = sample.denominator_sum
    if denominator is None or denominator == 0 or sample.n < 2:
        return None
    mean_m, var_m = _sample_mean_variance(sample.n, sample.sum, sample.sum_squares)
    mean_d, var_d = _sample_mean_variance(
        sample.n, denominator, sample.denominator_sum_squares or 0.0
    )
    product = sample.numerator_denominator_sum_product or 0.0
    covariance = (product - sample.sum * denominator / sample.n) / (sample.n - 1)
    ratio = mean_m / mean_d
    variance = (
        var_m / mean_d**2 + mean_m**2 * var_d / mean_d**4 - 2 * mean_m * covariance / mean_d**3
    )
    return ratio, variance


def _effect(
    treatment: Sample, control: Sample, kind: StatisticKind, difference: DifferenceType
) -> tuple[float, float] | None:
    treated = mean_and_variance(treatment, kind)
    baseline = mean_and_variance(control, kind)
    if treated is None or baseline is None:
        return None
    mean_t, var_t = treated
    mean_c, var_c = baseline
    if difference == "ABSOLUTE":
        return mean_t - mean_c, var_t / treatment.n + var_c / control.n
    if abs(mean_c) < 1e-10:
        return None
    effect = (mean_t - mean_c) / mean_c
    variance = var_t / (treatment.n * mean_c**2) + mean_t**2 * var_c / (control.n * mean_c**4)
    return effect, variance


def compare_bayesian(
    treatment: Sample,
    control: Sample,
    kind: StatisticKind,
    *,
    ci_level: float = 0.95,
    difference: DifferenceType = "RELATIVE",
) -> BayesianResult | None:
    """Chance to win, central credible interval and significance under a flat Gaussian prior."""
    if kind == "proportion":
        for sample in (treatment, control):
            if sample.sum < MIN_CONVERSIONS or sample.n - sample.sum < MIN_CONVERSIONS:
                return None
    if difference == "RELATIVE":
        baseline = mean_and_variance(control, kind)
        if baseline is None or baseline[0] <= 0:
            return None
    estimate = _effect(treatment, control, kind, difference)
    if estimate is None:
        return None
    effect, variance = estimate
    if not variance > 0 or not math.isfinite(variance):
        return None
    sd = math.sqrt(variance)
    chance_to_win = _STANDARD_NORMAL.cdf(effect / sd)
    z = _STANDARD_NORMAL.inv_cdf(0.5 + ci_level / 2)
    return BayesianResult(
        chance_to_win=chance_to_win,
        credible_interval=(effect - z * sd, effect + z * sd),
        significant=chance_to_win > ci_level or chance_to_win < 1 - ci_level,
    )


def compare_frequentist(
    treatment: Sample,
    control: Sample,
    kind: StatisticKind,
    *,
    alpha: float = 0.05,
    difference: DifferenceType = "RELATIVE",
) -> FrequentistResult | None:
    """Two-sided Welch t-test on the (relative) difference."""
    if treatment.n < MIN_CONVERSIONS or control.n < MIN_CONVERSIONS:
        return None
    treated = mean_and_variance(treatment, kind)
    baseline = mean_and_variance(control, kind)
    estimate = _effect(treatment, control, kind, difference)
    if treated is None or baseline is None or estimate is None:
        return None
    effect, variance = estimate
    if not variance > 0 or not math.isfinite(variance):
        return None
    spread_t = treated[1] / treatment.n
    spread_c = baseline[1] / control.n
    denominator = spread_t**2 / (treatment.n - 1) + spread_c**2 / (control.n - 1)
    if denominator <= 0:
        return None
    degrees = (spread_t + spread_c) ** 2 / denominator
    standard_error = math.sqrt(variance)
    t_statistic = effect / standard_error
    p_value = float(2 * (1 - special.stdtr(degrees, abs(t_statistic))))
    critical = float(special.stdtrit(degrees, 1 - alpha / 2))
    return FrequentistResult(
        p_value=p_value,
        confidence_interval=(
            effect - critical * standard_error,
            effect + critical * standard_error,
        ),
        significant=p_value < alpha,
    )
