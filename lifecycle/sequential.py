"""Always-valid statistics for stopping experiments: confidence sequences and p-values.

What belongs here: the pure arithmetic that turns per-arm sufficient statistics
(n, Σx, Σx²) into always-valid evidence, and the decision rules built directly on it
(two-sided efficacy, Eppo-style hybrid, multi-variant winner, one-sided guardrail).
What does not: data guards (minimum days, exposures, conversions), SRM (see
``lifecycle.srm``), I/O of any kind. The monitor composes guards with this evidence.

Method (reference: sequential-testing.md §3.2): the asymptotic confidence sequence of
Waudby-Smith et al. (2024) on the z-scale, as GrowthBook ships it. With N = n_T + n_C,
tuning N* and c(α) = 2 log(1/α) + log(1 + 2 log(1/α)):

    x = N·c(α)/N*,  b(N) = sqrt((x+1)/x · (log(x+1) + 2 log(1/α))),  CS = Δ̂ ± b·SE,
    Λ = exp(x z²/(2(x+1)))/sqrt(x+1),  p = min(1, 1/Λ),  z = (Δ̂ − θ0)/SE.

The p-value reported at look k is the minimum over looks ≤ k (Johari et al.), so
"p ≤ α" at any look is equivalent to "the CS excluded 0 at some look".

Every evidence object converts to plain JSON-compatible dicts with ``as_dict()`` and never
carries NaN or ±inf: degenerate inputs (n < 2, zero standard error) produce an
``insufficient_data`` status with ``None`` statistics instead.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, TypeAlias

from scipy.stats import norm

JsonValue: TypeAlias = str | int | float | bool | list["JsonValue"] | dict[str, "JsonValue"] | None
JsonDict: TypeAlias = dict[str, JsonValue]

Goal: TypeAlias = Literal["increase", "decrease"]
Direction: TypeAlias = Literal["better", "worse"]
EvidenceStatus: TypeAlias = Literal["ok", "insufficient_data"]
Mode: TypeAlias = Literal["sequential", "hybrid_interim", "hybrid_final"]
Verdict: TypeAlias = Literal["winner", "loser", "ambiguous", "inconclusive"]

DEFAULT_ALPHA = 0.05
DEFAULT_TUNING_N = 5000.0


@dataclass(frozen=True, slots=True)
class ArmStats:
    """Sufficient statistics of one arm, as PostHog reports them per variant.

    ``sum`` and ``sum_squares`` are Σx and Σx² over the arm's ``n`` exposed units; for 0/1
    metrics ``sum_squares == sum`` and ``sum`` is the number of conversions.
    """

    key: str
    n: int
    sum: float
    sum_squares: float

    def __post_init__(self) -> None:
        if self.n < 0:
            raise ValueError(f"arm {self.key!r}: n must be >= 0, got {self.n}")
        if not (math.isfinite(self.sum) and math.isfinite(self.sum_squares)):
            raise ValueError(f"arm {self.key!r}: sum and sum_squares must be finite")
        if self.sum_squares < 0:
            raise ValueError(f"arm {self.key!r}: sum_squares must be >= 0")

    @property
    def mean(self) -> float | None:
        """Σx / n, or None for an empty arm."""
        if self.n == 0:
            return None
        return self.sum / self.n

    @property
    def sample_variance(self) -> float | None:
        """(Σx² − (Σx)²/n)/(n − 1), or None when n < 2."""
        if self.n < 2:
            return None
        # Cancellation can leave a tiny negative number for constant data.
        return max(0.0, (self.sum_squares - self.sum * self.sum / self.n) / (self.n - 1))

    @property
    def proportion_variance(self) -> float | None:
        """p(1 − p) with p = Σx/n, the per-unit variance of a 0/1 metric; None for n = 0.

        This (not the n − 1 sample variance) is what GrowthBook's and PostHog's proportion
        statistics use, and what the golden values were computed with.
        """
        if self.n == 0:
            return None
        p = self.sum / self.n
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"arm {self.key!r}: binary metric needs 0 <= sum <= n")
        return p * (1.0 - p)


@dataclass(frozen=True, slots=True)
class Difference:
    """A point estimate with its standard error."""

    estimate: float
    standard_error: float


@dataclass(frozen=True, slots=True)
class ArmSummary:
    """What the evidence reports about one arm."""

    key: str
    n: int
    mean: float | None
    conversions: int | None

    def as_dict(self) -> JsonDict:
        return {"key": self.key, "n": self.n, "mean": self.mean, "conversions": self.conversions}


@dataclass(frozen=True, slots=True)
class VariantEvidence:
    """Two-sided evidence for one treatment arm against control at one look.

    ``p_value`` is the always-valid p-value as a running minimum over looks, compared with
    ``alpha_sequential``; ``p_value_current`` is this look's 1/Λ. ``fixed_p_value`` is the
    fixed-horizon two-sided z-test p-value, only at the final look of a hybrid design, compared
    with ``alpha_fixed``. ``direction`` is set only when ``significant`` and is relative to the
    goal. ``relative_lift`` is Δ̂/mean_control, for display only.
    """

    key: str
    status: EvidenceStatus
    reason: str | None
    treatment: ArmSummary
    control: ArmSummary
    n_total: int
    estimate: float | None
    standard_error: float | None
    z: float | None
    boundary: float | None
    lower: float | None
    upper: float | None
    p_value: float
    p_value_current: float
    fixed_p_value: float | None
    alpha_sequential: float
    alpha_fixed: float | None
    relative_lift: float | None
    significant: bool
    direction: Direction | None

    def as_dict(self) -> JsonDict:
        return {
            "key": self.key,
            "status": self.status,
            "reason": self.reason,
            "treatment": self.treatment.as_dict(),
            "control": self.control.as_dict(),
            "n_total": self.n_total,
            "estimate": self.estimate,
            "standard_error": self.standard_error,
            "z": self.z,
            "boundary": self.boundary,
            "lower": self.lower,
            "upper": self.upper,
            "p_value": self.p_value,
            "p_value_current": self.p_value_current,
            "fixed_p_value": self.fixed_p_value,
            "alpha_sequential": self.alpha_sequential,
            "alpha_fixed": self.alpha_fixed,
            "relative_lift": self.relative_lift,
            "significant": self.significant,
            "direction": self.direction,
        }


@dataclass(frozen=True, slots=True)
class SequentialEvidence:
    """Evidence for all variants against control at one look, plus the overall verdict.

    ``alpha`` is the family-wise level; ``alpha_per_comparison`` = alpha/(number of variants).
    ``verdict`` is ``winner`` (``winner`` set; ``losers`` may be non-empty too), ``loser``
    (no winner, at least one loser), ``ambiguous`` (several variants beat control and the
    rule could not pick one) or ``inconclusive``.
    """

    goal: Goal
    binary: bool
    mode: Mode
    alpha: float
    alpha_per_comparison: float
    tuning_n: float
    control: ArmSummary
    variants: tuple[VariantEvidence, ...]
    winner: str | None
    losers: tuple[str, ...]
    verdict: Verdict
    verdict_reason: str

    def running_p_values(self) -> dict[str, float]:
        """The running-minimum p-values to persist and pass back as ``previous_p``."""
        return {v.key: v.p_value for v in self.variants}

    def as_dict(self) -> JsonDict:
        return {
            "goal": self.goal,
            "binary": self.binary,
            "mode": self.mode,
            "alpha": self.alpha,
            "alpha_per_comparison": self.alpha_per_comparison,
            "tuning_n": self.tuning_n,
            "control": self.control.as_dict(),
            "variants": [v.as_dict() for v in self.variants],
            "winner": self.winner,
            "losers": list(self.losers),
            "verdict": self.verdict,
            "verdict_reason": self.verdict_reason,
        }


@dataclass(frozen=True, slots=True)
class GuardrailEvidence:
    """One-sided evidence of harm for one treatment arm against control at one look.

    ``bound`` is the one-sided confidence-sequence bound on the side that must cross
    ``threshold`` for the breaker to trip: the lower bound when an increase is harmful (trip
    when bound > +tolerance), the upper bound when a decrease is harmful (trip when
    bound < −tolerance). ``p_value`` is the running minimum of the one-sided always-valid
    p-value for H0: "harm ≤ tolerance".
    """

    key: str
    status: EvidenceStatus
    reason: str | None
    treatment: ArmSummary
    control: ArmSummary
    harmful: Goal
    tolerance: float
    threshold: float
    alpha: float
    tuning_n: float
    n_total: int
    estimate: float | None
    standard_error: float | None
    boundary: float | None
    bound: float | None
    bound_side: Literal["lower", "upper"]
    p_value: float
    p_value_current: float
    relative_lift: float | None
    tripped: bool

    def as_dict(self) -> JsonDict:
        return {
            "key": self.key,
            "status": self.status,
            "reason": self.reason,
            "treatment": self.treatment.as_dict(),
            "control": self.control.as_dict(),
            "harmful": self.harmful,
            "tolerance": self.tolerance,
            "threshold": self.threshold,
            "alpha": self.alpha,
            "tuning_n": self.tuning_n,
            "n_total": self.n_total,
            "estimate": self.estimate,
            "standard_error": self.standard_error,
            "boundary": self.boundary,
            "bound": self.bound,
            "bound_side": self.bound_side,
            "p_value": self.p_value,
            "p_value_current": self.p_value_current,
            "relative_lift": self.relative_lift,
            "tripped": self.tripped,
        }


def _check_alpha(alpha: float, *, upper: float = 1.0) -> None:
    if not 0.0 < alpha < upper:
        raise ValueError(f"alpha must be in (0, {upper}), got {alpha}")


def _mixture_x(n_total: float, *, tuning_n: float, constant: float) -> float:
    if not n_total > 0:
        raise ValueError(f"n_total must be > 0, got {n_total}")
    if not tuning_n > 0:
        raise ValueError(f"tuning_n must be > 0, got {tuning_n}")
    return n_total * constant / tuning_n


def mixture_constant(alpha: float) -> float:
    """c(α) = 2 log(1/α) + log(1 + 2 log(1/α)); N*·ρ² for the width-optimal ρ at N*."""
    _check_alpha(alpha)
    two_log = 2.0 * math.log(1.0 / alpha)
    return two_log + math.log1p(two_log)


def boundary(n_total: float, *, tuning_n: float, alpha: float) -> float:
    """Two-sided z-scale boundary b(N): the CS is Δ̂ ± b·SE."""
    x = _mixture_x(n_total, tuning_n=tuning_n, constant=mixture_constant(alpha))
    return math.sqrt((x + 1.0) / x * (math.log1p(x) + 2.0 * math.log(1.0 / alpha)))


def one_sided_boundary(n_total: float, *, tuning_n: float, alpha: float) -> float:
    """One-sided z-scale boundary b₁(N) (eq. 134 of Waudby-Smith et al., arXiv v7).

    ρ₁ is tuned with 2α in place of α, as GrowthBook does; α must be below 0.5.
    """
    _check_alpha(alpha, upper=0.5)
    x = _mixture_x(n_total, tuning_n=tuning_n, constant=mixture_constant(2.0 * alpha))
    return math.sqrt(2.0 * (x + 1.0) / x * math.log1p(math.sqrt(x + 1.0) / (2.0 * alpha)))


def fixed_horizon_critical_value(alpha: float) -> float:
    """z_{1−α/2}: the two-sided fixed-horizon z-test critical value."""
    _check_alpha(alpha)
    return float(norm.isf(alpha / 2.0))


def critical_value(
    n_total: float, *, tuning_n: float, alpha: float, hybrid_final: bool | None = None
) -> float:
    """The |z| a comparison must exceed at this look to be significant at level α.

    ``hybrid_final`` None: pure confidence sequence at α. False: an interim look of the
    Eppo-style hybrid, CS at α/2. True: the hybrid's final look, where either the CS at α/2 or
    the fixed-horizon z-test at α/2 may reject, so the smaller of the two thresholds applies.
    """
    if hybrid_final is None:
        return boundary(n_total, tuning_n=tuning_n, alpha=alpha)
    sequential = boundary(n_total, tuning_n=tuning_n, alpha=alpha / 2.0)
    if not hybrid_final:
        return sequential
    return min(sequential, fixed_horizon_critical_value(alpha / 2.0))


def always_valid_p_value(z: float, n_total: float, *, tuning_n: float, alpha: float) -> float:
    """Two-sided always-valid p-value min(1, 1/Λ) at one look (not yet a running minimum).

    ρ is tuned at ``alpha`` (as GrowthBook does), so p ≤ α exactly when |z| ≥ b(N).
    """
    x = _mixture_x(n_total, tuning_n=tuning_n, constant=mixture_constant(alpha))
    log_p = 0.5 * math.log1p(x) - x * z * z / (2.0 * (x + 1.0))
    return min(1.0, math.exp(log_p))


def one_sided_p_value(z: float, n_total: float, *, tuning_n: float, alpha: float) -> float:
    """One-sided always-valid p-value for H0: θ ≤ θ0, with z = (Δ̂ − θ0)/SE.

    Closed form of inverting b₁ for α at fixed ρ₁ (tuned at ``alpha``):
    p = sqrt(x+1) / (2·(exp(x z²/(2(x+1))) − 1)) for z > 0, else 1. It is valid at every
    level because, for a fixed ρ₁, the eq. 134 boundary is a valid one-sided CS at any α; and
    p ≤ α exactly when z ≥ b₁(N; α). GrowthBook instead bisects on α with ρ₁(α) varying; the
    two agree at the design α, which is the only level a decision uses.
    """
    _check_alpha(alpha, upper=0.5)
    if z <= 0.0:
        return 1.0
    x = _mixture_x(n_total, tuning_n=tuning_n, constant=mixture_constant(2.0 * alpha))
    exponent = x * z * z / (2.0 * (x + 1.0))
    if exponent == 0.0:
        return 1.0
    if exponent > 30.0:
        # log(e^u − 1) without overflowing e^u.
        log_expm1 = exponent + math.log1p(-math.exp(-exponent))
    else:
        log_expm1 = math.log(math.expm1(exponent))
    log_p = 0.5 * math.log1p(x) - math.log(2.0) - log_expm1
    return min(1.0, math.exp(log_p))


def fixed_horizon_p_value(z: float) -> float:
    """Two-sided fixed-horizon z-test p-value 2·(1 − Φ(|z|)); valid at one planned look only."""
    return float(2.0 * norm.sf(abs(z)))


def running_min_p_value(previous: float | None, current: float) -> float:
    """The p-value to report at this look: min(previous running minimum, current)."""
    if previous is None:
        return current
    return min(previous, current)


def conversion_count(arm: ArmStats) -> int:
    """Number of converting units of a 0/1 metric (its Σx), for the monitor's data guards."""
    if arm.n > 0 and not 0.0 <= arm.sum <= arm.n:
        raise ValueError(f"arm {arm.key!r}: binary metric needs 0 <= sum <= n")
    return round(arm.sum)


def _moments(arm: ArmStats, *, binary: bool) -> tuple[float, float] | None:
    mean = arm.mean
    variance = arm.proportion_variance if binary else arm.sample_variance
    if arm.n < 2 or mean is None or variance is None:
        return None
    return mean, variance


def _welch(control: ArmStats, treatment: ArmStats, *, binary: bool) -> Difference | str:
    """The absolute difference, or why it cannot be computed."""
    for arm in (control, treatment):
        if arm.n < 2:
            return f"arm {arm.key!r} has fewer than 2 units (n={arm.n})"
    moments_c = _moments(control, binary=binary)
    moments_t = _moments(treatment, binary=binary)
    if moments_c is None or moments_t is None:
        return "variance is undefined"
    (mean_c, var_c), (mean_t, var_t) = moments_c, moments_t
    se = math.sqrt(var_t / treatment.n + var_c / control.n)
    if not (se > 0.0 and math.isfinite(se)):
        return "standard error is zero: both arms have zero variance"
    return Difference(estimate=mean_t - mean_c, standard_error=se)


def absolute_difference(
    control: ArmStats, treatment: ArmStats, *, binary: bool = False
) -> Difference | None:
    """Δ̂ = mean_T − mean_C with Welch SE sqrt(s²_T/n_T + s²_C/n_C); None when degenerate.

    Degenerate means n < 2 in an arm or a zero standard error. For ``binary`` metrics the
    per-unit variance is p(1 − p).
    """
    result = _welch(control, treatment, binary=binary)
    return result if isinstance(result, Difference) else None


def relative_difference(
    control: ArmStats, treatment: ArmStats, *, binary: bool = False
) -> Difference | None:
    """Display only: relative lift (mean_T − mean_C)/mean_C with its delta-method SE.

    Var = s²_T/(n_T m_C²) + m_T² s²_C/(n_C m_C⁴) (GrowthBook and PostHog, no covariance term).
    Never decide on this scale: with sparse conversions the delta-method variance collapses
    and the A/A false-positive rate reaches 11 % (sequential-testing.md §8.4).
    """
    moments_c = _moments(control, binary=binary)
    moments_t = _moments(treatment, binary=binary)
    if moments_c is None or moments_t is None:
        return None
    (mean_c, var_c), (mean_t, var_t) = moments_c, moments_t
    if mean_c == 0.0:
        return None
    variance = var_t / (treatment.n * mean_c**2) + mean_t**2 * var_c / (control.n * mean_c**4)
    if not (variance > 0.0 and math.isfinite(variance)):
        return None
    return Difference(estimate=(mean_t - mean_c) / mean_c, standard_error=math.sqrt(variance))


def confidence_sequence(
    difference: Difference, n_total: float, *, tuning_n: float, alpha: float
) -> tuple[float, float]:
    """Two-sided always-valid interval Δ̂ ± b(N)·SE at this look."""
    half_width = boundary(n_total, tuning_n=tuning_n, alpha=alpha) * difference.standard_error
    return difference.estimate - half_width, difference.estimate + half_width


def one_sided_bound(
    difference: Difference,
    n_total: float,
    *,
    tuning_n: float,
    alpha: float,
    side: Literal["lower", "upper"],
) -> float:
    """One-sided always-valid bound Δ̂ − b₁·SE (``lower``) or Δ̂ + b₁·SE (``upper``)."""
    half_width = one_sided_boundary(n_total, tuning_n=tuning_n, alpha=alpha)
    half_width *= difference.standard_error
    if side == "lower":
        return difference.estimate - half_width
    return difference.estimate + half_width


def _summary(arm: ArmStats, *, binary: bool) -> ArmSummary:
    return ArmSummary(
        key=arm.key,
        n=arm.n,
        mean=arm.mean,
        conversions=conversion_count(arm) if binary else None,
    )


def _relative_lift(control: ArmStats, treatment: ArmStats) -> float | None:
    mean_c, mean_t = control.mean, treatment.mean
    if mean_c is None or mean_t is None or mean_c == 0.0:
        return None
    return (mean_t - mean_c) / mean_c


def compare_arms(
    control: ArmStats,
    treatment: ArmStats,
    *,
    alpha: float = DEFAULT_ALPHA,
    tuning_n: float = DEFAULT_TUNING_N,
    goal: Goal,
    binary: bool,
    previous_p: float | None = None,
    hybrid_final: bool | None = None,
) -> VariantEvidence:
    """Two-sided always-valid comparison of one treatment with control at one look.

    ``alpha`` is this comparison's level (already Bonferroni-adjusted by the caller when
    several variants are compared). ``hybrid_final`` selects the rule:

    * None: pure confidence sequence at α; significant when the running-minimum p ≤ α.
    * False: interim look of the Eppo-style hybrid; CS (and ρ) at α/2.
    * True: final look of the hybrid; significant when the running-minimum p ≤ α/2 or the
      fixed-horizon z-test p ≤ α/2. Together the two halves spend at most α.

    Significance uses the running minimum, so a decision once reached is never undone; the
    direction is the sign of the current estimate.
    """
    _check_alpha(alpha)
    alpha_sequential = alpha if hybrid_final is None else alpha / 2.0
    alpha_fixed = None if hybrid_final is None else alpha / 2.0
    treatment_summary = _summary(treatment, binary=binary)
    control_summary = _summary(control, binary=binary)
    n_total = control.n + treatment.n
    difference = _welch(control, treatment, binary=binary)
    if isinstance(difference, str):
        p_running = running_min_p_value(previous_p, 1.0)
        return VariantEvidence(
            key=treatment.key,
            status="insufficient_data",
            reason=difference,
            treatment=treatment_summary,
            control=control_summary,
            n_total=n_total,
            estimate=None,
            standard_error=None,
            z=None,
            boundary=None,
            lower=None,
            upper=None,
            p_value=p_running,
            p_value_current=1.0,
            fixed_p_value=None,
            alpha_sequential=alpha_sequential,
            alpha_fixed=alpha_fixed,
            relative_lift=_relative_lift(control, treatment),
            significant=p_running <= alpha_sequential,
            direction=None,
        )

    z = difference.estimate / difference.standard_error
    b = boundary(n_total, tuning_n=tuning_n, alpha=alpha_sequential)
    lower, upper = confidence_sequence(
        difference, n_total, tuning_n=tuning_n, alpha=alpha_sequential
    )
    p_current = always_valid_p_value(z, n_total, tuning_n=tuning_n, alpha=alpha_sequential)
    p_running = running_min_p_value(previous_p, p_current)
    significant = p_running <= alpha_sequential
    fixed_p = None
    if hybrid_final:
        fixed_p = fixed_horizon_p_value(z)
        significant = significant or fixed_p <= alpha / 2.0
    direction: Direction | None = None
    if significant and difference.estimate != 0.0:
        improves = (difference.estimate > 0.0) == (goal == "increase")
        direction = "better" if improves else "worse"
    return VariantEvidence(
        key=treatment.key,
        status="ok",
        reason=None,
        treatment=treatment_summary,
        control=control_summary,
        n_total=n_total,
        estimate=difference.estimate,
        standard_error=difference.standard_error,
        z=z,
        boundary=b,
        lower=lower,
        upper=upper,
        p_value=p_running,
        p_value_current=p_current,
        fixed_p_value=fixed_p,
        alpha_sequential=alpha_sequential,
        alpha_fixed=alpha_fixed,
        relative_lift=_relative_lift(control, treatment),
        significant=significant,
        direction=direction,
    )


def _favourable_bound(evidence: VariantEvidence, goal: Goal) -> float:
    # The conservative end of the CS in the good direction: how good the variant at least is.
    bound = evidence.lower if goal == "increase" else evidence.upper
    if bound is None:
        return -math.inf
    return bound if goal == "increase" else -bound


def _beats(
    challenger: ArmStats,
    incumbent: ArmStats,
    *,
    alpha: float,
    tuning_n: float,
    goal: Goal,
    binary: bool,
    hybrid_final: bool | None,
) -> bool:
    pairwise = compare_arms(
        incumbent,
        challenger,
        alpha=alpha,
        tuning_n=tuning_n,
        goal=goal,
        binary=binary,
        hybrid_final=hybrid_final,
    )
    return pairwise.direction == "better"


def evaluate_sequential(
    control: ArmStats,
    variants: Sequence[ArmStats],
    *,
    alpha: float = DEFAULT_ALPHA,
    tuning_n: float = DEFAULT_TUNING_N,
    goal: Goal,
    binary: bool,
    previous_p: Mapping[str, float] | None = None,
    hybrid_final: bool | None = None,
) -> SequentialEvidence:
    """Evaluate every test variant against control at one look and give the verdict.

    Multiplicity: each of the k − 1 variant-vs-control comparisons uses α/(k − 1)
    (Bonferroni, valid under any dependence and any stopping time), so the chance that any
    variant is wrongly declared better or worse than control is at most α.

    Winner rule:

    1. Losers are the variants significantly worse than control (the goal decides which side).
    2. Candidates are the variants significantly better than control. None: no winner.
    3. Among candidates, the winner is the one whose CS bound on the good side is the most
       favourable (the highest lower bound for ``increase``, the lowest upper bound for
       ``decrease``): the variant with the best guaranteed improvement.
    4. Veto: if another candidate is significantly better than that variant in a direct
       pairwise comparison (same CS at α/(k − 1)), no winner is declared (``ambiguous``;
       keep running). The veto can only withhold a decision, so it does not spend α.

    ``previous_p`` maps variant keys to their persisted running-minimum p-values (see
    ``SequentialEvidence.running_p_values``). ``hybrid_final`` is None for the pure CS, or
    False/True for an interim/final look of the hybrid design (see ``compare_arms``).

    Raises ValueError for an invalid α, tuning N*, arm list (empty or duplicate keys) or, with
    ``binary``, an arm whose sum is outside [0, n]. Degenerate data is not an error: it yields
    ``insufficient_data`` evidence.
    """
    _check_alpha(alpha)
    if not variants:
        raise ValueError("at least one test variant is needed")
    keys = [control.key, *(v.key for v in variants)]
    if len(set(keys)) != len(keys):
        raise ValueError(f"arm keys must be unique, got {keys}")
    alpha_per_comparison = alpha / len(variants)
    previous = previous_p or {}
    evidence = tuple(
        compare_arms(
            control,
            variant,
            alpha=alpha_per_comparison,
            tuning_n=tuning_n,
            goal=goal,
            binary=binary,
            previous_p=previous.get(variant.key),
            hybrid_final=hybrid_final,
        )
        for variant in variants
    )
    losers = tuple(e.key for e in evidence if e.direction == "worse")
    candidates = [e for e in evidence if e.direction == "better" and e.status == "ok"]
    winner: str | None = None
    verdict: Verdict
    if not candidates:
        verdict = "loser" if losers else "inconclusive"
        reason = (
            f"significantly worse than control: {', '.join(losers)}"
            if losers
            else "no variant differs significantly from control"
        )
    else:
        best = max(candidates, key=lambda e: (_favourable_bound(e, goal), e.key))
        arms = {v.key: v for v in variants}
        challengers = [
            c.key
            for c in candidates
            if c.key != best.key
            and _beats(
                arms[c.key],
                arms[best.key],
                alpha=alpha_per_comparison,
                tuning_n=tuning_n,
                goal=goal,
                binary=binary,
                hybrid_final=hybrid_final,
            )
        ]
        if challengers:
            verdict = "ambiguous"
            reason = (
                f"{best.key} has the best guaranteed improvement over control, but "
                f"{', '.join(challengers)} is significantly better than it"
            )
        else:
            winner = best.key
            verdict = "winner"
            reason = f"{best.key} is significantly better than control"
            if len(candidates) > 1:
                reason += " and has the best guaranteed improvement of all better variants"
    mode: Mode = (
        "sequential"
        if hybrid_final is None
        else ("hybrid_final" if hybrid_final else "hybrid_interim")
    )
    return SequentialEvidence(
        goal=goal,
        binary=binary,
        mode=mode,
        alpha=alpha,
        alpha_per_comparison=alpha_per_comparison,
        tuning_n=tuning_n,
        control=_summary(control, binary=binary),
        variants=evidence,
        winner=winner,
        losers=losers,
        verdict=verdict,
        verdict_reason=reason,
    )


def evaluate_guardrail(
    control: ArmStats,
    treatment: ArmStats,
    *,
    alpha: float = DEFAULT_ALPHA,
    tuning_n: float = DEFAULT_TUNING_N,
    harmful: Goal,
    tolerance: float = 0.0,
    binary: bool = False,
    previous_p: float | None = None,
) -> GuardrailEvidence:
    """One-sided always-valid circuit breaker for harm on the absolute difference.

    Trips when the one-sided CS lies entirely beyond the tolerated harm: lower bound > +δ
    when an increase is harmful, upper bound < −δ when a decrease is harmful (δ =
    ``tolerance`` ≥ 0, absolute scale). Equivalently, the running-minimum one-sided p-value
    for H0 "harm ≤ δ" is ≤ α. With m guardrails pass α_g/m (Bonferroni).
    """
    _check_alpha(alpha, upper=0.5)
    if not (tolerance >= 0.0 and math.isfinite(tolerance)):
        raise ValueError(f"tolerance must be a finite number >= 0, got {tolerance}")
    threshold = tolerance if harmful == "increase" else -tolerance
    bound_side: Literal["lower", "upper"] = "lower" if harmful == "increase" else "upper"
    n_total = control.n + treatment.n
    difference = _welch(control, treatment, binary=binary)
    reason = difference if isinstance(difference, str) else None
    estimate = se = b = bound = None
    p_current = 1.0
    if isinstance(difference, Difference):
        estimate, se = difference.estimate, difference.standard_error
        b = one_sided_boundary(n_total, tuning_n=tuning_n, alpha=alpha)
        bound = one_sided_bound(
            difference, n_total, tuning_n=tuning_n, alpha=alpha, side=bound_side
        )
        harm = estimate - threshold if harmful == "increase" else threshold - estimate
        p_current = one_sided_p_value(harm / se, n_total, tuning_n=tuning_n, alpha=alpha)
    p_running = running_min_p_value(previous_p, p_current)
    return GuardrailEvidence(
        key=treatment.key,
        status="ok" if reason is None else "insufficient_data",
        reason=reason,
        treatment=_summary(treatment, binary=binary),
        control=_summary(control, binary=binary),
        harmful=harmful,
        tolerance=tolerance,
        threshold=threshold,
        alpha=alpha,
        tuning_n=tuning_n,
        n_total=n_total,
        estimate=estimate,
        standard_error=se,
        boundary=b,
        bound=bound,
        bound_side=bound_side,
        p_value=p_running,
        p_value_current=p_current,
        relative_lift=_relative_lift(control, treatment),
        tripped=p_running <= alpha,
    )
