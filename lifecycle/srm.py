"""Sample-ratio-mismatch (SRM) checks on exposure counts against the planned split.

What belongs here: the pure tests that say whether observed exposure counts per variant are
compatible with the allocation weights — Pearson χ² goodness-of-fit (the industry default:
flag at p < 0.001 once there are ≥ 100 exposures) and the anytime-valid
Dirichlet-multinomial test of Lindon & Malek (2022) (sequential-testing.md §7). What does not:
what to do about a flag (hold decisions, alert) — that is the monitor's call.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from scipy.special import gammaln
from scipy.stats import chi2

from lifecycle.sequential import JsonDict

DEFAULT_THRESHOLD = 0.001
DEFAULT_MIN_TOTAL = 100
DEFAULT_CONCENTRATION = 10_000.0


@dataclass(frozen=True, slots=True)
class SrmResult:
    """Outcome of one SRM check.

    ``checked`` is False (and ``p_value`` None) when the data gate was not met; ``reason``
    then says why. ``expected`` are the counts the planned split predicts for the observed
    total.
    """

    method: Literal["chi_squared", "sequential"]
    checked: bool
    p_value: float | None
    flagged: bool
    threshold: float
    counts: dict[str, int]
    expected: dict[str, float]
    reason: str | None

    def as_dict(self) -> JsonDict:
        return {
            "method": self.method,
            "checked": self.checked,
            "p_value": self.p_value,
            "flagged": self.flagged,
            "threshold": self.threshold,
            "counts": dict(self.counts),
            "expected": dict(self.expected),
            "reason": self.reason,
        }


def _split(counts: Mapping[str, int], weights: Mapping[str, float]) -> dict[str, float]:
    """Normalised allocation weights, validated against the counted variants."""
    if set(counts) != set(weights):
        raise ValueError(
            f"counts and weights must name the same variants: {sorted(counts)} vs {sorted(weights)}"
        )
    if len(weights) < 2:
        raise ValueError("an SRM check needs at least two variants")
    if any(c < 0 for c in counts.values()):
        raise ValueError("exposure counts must be >= 0")
    if any(not (w > 0 and math.isfinite(w)) for w in weights.values()):
        raise ValueError("allocation weights must be finite and > 0")
    total_weight = math.fsum(weights.values())
    return {key: weights[key] / total_weight for key in counts}


def check_srm(
    counts: Mapping[str, int],
    weights: Mapping[str, float],
    *,
    threshold: float = DEFAULT_THRESHOLD,
    min_total: int = DEFAULT_MIN_TOTAL,
) -> SrmResult:
    """Pearson χ² goodness-of-fit of exposure counts against the allocation weights.

    Weights need not sum to 1 (rollout percentages work). Flags when p < ``threshold``, and
    only once the total exposure count reaches ``min_total`` (PostHog's gate). Not
    anytime-valid: checked daily for four weeks at 0.001 it false-alarms about 0.9 % of the
    time, which is why the threshold is that low.
    """
    shares = _split(counts, weights)
    total = sum(counts.values())
    expected = {key: shares[key] * total for key in counts}
    if total < min_total:
        return SrmResult(
            method="chi_squared",
            checked=False,
            p_value=None,
            flagged=False,
            threshold=threshold,
            counts=dict(counts),
            expected=expected,
            reason=f"only {total} exposures, fewer than the {min_total} needed",
        )
    statistic = math.fsum((counts[key] - expected[key]) ** 2 / expected[key] for key in counts)
    p_value = float(chi2.sf(statistic, len(counts) - 1))
    return SrmResult(
        method="chi_squared",
        checked=True,
        p_value=p_value,
        flagged=p_value < threshold,
        threshold=threshold,
        counts=dict(counts),
        expected=expected,
        reason=None,
    )


def _log_beta(a: Sequence[float]) -> float:
    return float(sum(gammaln(x) for x in a) - gammaln(math.fsum(a)))


def sequential_srm_p_value(
    counts: Mapping[str, int],
    weights: Mapping[str, float],
    *,
    concentration: float = DEFAULT_CONCENTRATION,
    previous_p: float | None = None,
) -> float:
    """Anytime-valid SRM p-value from cumulative counts: running min of 1/BF (Lindon & Malek).

    log BF = log B(c·p0 + x) − log B(c·p0) − Σ x_i log p0_i, with B the multivariate beta
    function; the Bayes factor depends only on the cumulative counts, not on how they were
    batched. Pass the previous look's value as ``previous_p`` to keep the running minimum.
    """
    if not concentration > 0:
        raise ValueError(f"concentration must be > 0, got {concentration}")
    shares = _split(counts, weights)
    keys = list(counts)
    prior = [concentration * shares[key] for key in keys]
    posterior = [prior[i] + counts[key] for i, key in enumerate(keys)]
    log_bf = (
        _log_beta(posterior)
        - _log_beta(prior)
        - math.fsum(counts[key] * math.log(shares[key]) for key in keys)
    )
    current = 1.0 if log_bf <= 0.0 else math.exp(-log_bf)
    return current if previous_p is None else min(previous_p, current)


def sequential_srm_p_values(
    history: Sequence[Mapping[str, int]],
    weights: Mapping[str, float],
    *,
    concentration: float = DEFAULT_CONCENTRATION,
) -> list[float]:
    """Running-minimum sequential SRM p-values over a history of per-period (e.g. daily) counts.

    Use this when switching to the sequential test mid-experiment: the running minimum must be
    rebuilt from the start of the experiment, not from the switch.
    """
    cumulative: dict[str, int] = {}
    p_values: list[float] = []
    previous: float | None = None
    for period in history:
        for key, count in period.items():
            cumulative[key] = cumulative.get(key, 0) + count
        previous = sequential_srm_p_value(
            cumulative, weights, concentration=concentration, previous_p=previous
        )
        p_values.append(previous)
    return p_values


def check_sequential_srm(
    counts: Mapping[str, int],
    weights: Mapping[str, float],
    *,
    threshold: float = DEFAULT_THRESHOLD,
    concentration: float = DEFAULT_CONCENTRATION,
    previous_p: float | None = None,
) -> SrmResult:
    """Anytime-valid SRM check: flags when the running-minimum sequential p ≤ ``threshold``.

    No minimum-exposure gate is needed: the test is valid from the first unit.
    """
    shares = _split(counts, weights)
    total = sum(counts.values())
    p_value = sequential_srm_p_value(
        counts, weights, concentration=concentration, previous_p=previous_p
    )
    return SrmResult(
        method="sequential",
        checked=True,
        p_value=p_value,
        flagged=p_value <= threshold,
        threshold=threshold,
        counts=dict(counts),
        expected={key: shares[key] * total for key in counts},
        reason=None,
    )
