"""Monte Carlo benchmark of the stopping rules in ``lifecycle.sequential``.

What belongs here: the Brownian-motion harness of sequential-testing.md §8.2 and a report
comparing our false-positive rate, power and mean stopping time with the reference's
Tables 1, 3, 5 and 6. Every boundary comes from ``lifecycle.sequential``; nothing is
re-typed here except the invalid naive and fixed-horizon rules it is compared against.

Run: ``python -m bench.stopping_quality [--paths N] [--hourly-paths N] [--seed S]``.
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from lifecycle.sequential import critical_value, fixed_horizon_critical_value, one_sided_boundary

FloatArray = npt.NDArray[np.float64]

MDE_DRIFT = 2.8016
"""z-scale drift at N_max of the fixed-horizon 80 %-power MDE: z_.975 + z_.80."""
ONE_SIDED_MDE_DRIFT = 2.4865
"""z-scale drift at N_max of the one-sided 80 %-power MDE: z_.95 + z_.80 (Table 6)."""
EFFECTS = (0.0, 0.5, 1.0, 1.5, 2.0, 3.0)
HARMS = (0.0, 0.5, 1.0, 2.0, 3.0, 5.0)
ALPHA = 0.05
CHUNK_ELEMENTS = 2_000_000

ThresholdRule = Callable[[FloatArray], FloatArray]


@dataclass(frozen=True, slots=True)
class Outcome:
    """Monte Carlo estimates for one procedure at one drift.

    ``rejected`` counts a crossing of either sign (the FPR under H0), ``correct`` a first
    crossing with the sign of the drift (power). ``asn`` is the mean stopping time as a
    fraction of N_max, counting paths that never stop as 1.
    """

    paths: int
    rejected: float
    correct: float
    asn: float
    asn_sd: float

    def proportion_se(self, p: float) -> float:
        return math.sqrt(p * (1.0 - p) / self.paths)

    @property
    def asn_se(self) -> float:
        return self.asn_sd / math.sqrt(self.paths)


def look_fractions(looks: int) -> FloatArray:
    """Information fractions t_k = k/K of K equally spaced looks."""
    return np.arange(1, looks + 1, dtype=np.float64) / looks


def naive_rule(fractions: FloatArray) -> FloatArray:
    """The invalid rule: a fixed-horizon 5 % z-test repeated at every look."""
    return np.full(fractions.shape, fixed_horizon_critical_value(ALPHA))


def fixed_horizon_rule(fractions: FloatArray) -> FloatArray:
    """One z-test at N_max only."""
    thresholds = np.full(fractions.shape, np.inf)
    thresholds[-1] = fixed_horizon_critical_value(ALPHA)
    return thresholds


def cs_rule(tuning_fraction: float, alpha: float = ALPHA) -> ThresholdRule:
    """Our two-sided confidence sequence with N* = tuning_fraction·N_max."""

    def rule(fractions: FloatArray) -> FloatArray:
        return np.array(
            [critical_value(float(t), tuning_n=tuning_fraction, alpha=alpha) for t in fractions]
        )

    return rule


def hybrid_rule(fractions: FloatArray) -> FloatArray:
    """Our hybrid: CS at α/2 with N* = N_max during the run, z-test at α/2 at the end."""
    last = len(fractions) - 1
    return np.array(
        [
            critical_value(float(t), tuning_n=1.0, alpha=ALPHA, hybrid_final=k == last)
            for k, t in enumerate(fractions)
        ]
    )


def guardrail_rule(alpha: float) -> ThresholdRule:
    """Our one-sided guardrail CS with N* = N_max."""

    def rule(fractions: FloatArray) -> FloatArray:
        return np.array(
            [one_sided_boundary(float(t), tuning_n=1.0, alpha=alpha) for t in fractions]
        )

    return rule


def brownian_chunks(paths: int, looks: int, rng: np.random.Generator) -> Iterator[FloatArray]:
    """Brownian motion S(t_k) at the looks, in chunks of paths (rows) to bound memory."""
    step_sd = math.sqrt(1.0 / looks)
    per_chunk = max(1, CHUNK_ELEMENTS // looks)
    done = 0
    while done < paths:
        size = min(per_chunk, paths - done)
        yield np.cumsum(rng.standard_normal((size, looks)) * step_sd, axis=1)
        done += size


def simulate(
    rules: Mapping[str, FloatArray],
    *,
    looks: int,
    drifts: Sequence[float],
    paths: int,
    seed: int,
    one_sided: bool = False,
) -> dict[tuple[str, float], Outcome]:
    """First-crossing statistics of each threshold vector under each drift.

    Z_k = (S(t_k) + δ·t_k)/√t_k. A two-sided rule stops at the first |Z_k| > threshold_k; a
    one-sided rule at the first Z_k > threshold_k. All rules and drifts share the same paths
    (common random numbers), which makes comparisons between rows sharper.
    """
    rng = np.random.default_rng(seed)
    fractions = look_fractions(looks)
    root = np.sqrt(fractions)
    sums: dict[tuple[str, float], FloatArray] = {
        (name, drift): np.zeros(4) for name in rules for drift in drifts
    }
    for motion in brownian_chunks(paths, looks, rng):
        rows = np.arange(motion.shape[0])
        for drift in drifts:
            z = (motion + drift * fractions) / root
            statistic = z if one_sided else np.abs(z)
            for name, thresholds in rules.items():
                crossed = statistic > thresholds
                stopped = crossed.any(axis=1)
                first = crossed.argmax(axis=1)
                stop_time = np.where(stopped, fractions[first], 1.0)
                correct = stopped & (z[rows, first] > 0.0)
                sums[name, drift] += (
                    stopped.sum(),
                    correct.sum(),
                    stop_time.sum(),
                    np.square(stop_time).sum(),
                )
    outcomes: dict[tuple[str, float], Outcome] = {}
    for key, (rejected, correct, time_sum, time_sq) in sums.items():
        mean = time_sum / paths
        variance = max(0.0, (time_sq - paths * mean * mean) / max(1, paths - 1))
        outcomes[key] = Outcome(
            paths=paths,
            rejected=float(rejected / paths),
            correct=float(correct / paths),
            asn=float(mean),
            asn_sd=math.sqrt(variance),
        )
    return outcomes


# Reference values, sequential-testing.md: Table 5 (K = 28) as (power, ASN) per effect, and
# the FPR of Tables 1 and 3 for K = 672.
TABLE_5: dict[str, tuple[tuple[float, float], ...]] = {
    "fixed horizon": ((0.050, 1), (0.288, 1), (0.800, 1), (0.988, 1), (1.000, 1), (1.000, 1)),
    "naive z": (
        (0.275, 0.80),
        (0.482, 0.68),
        (0.881, 0.42),
        (0.990, 0.24),
        (0.998, 0.15),
        (1.000, 0.08),
    ),
    "CS N*=N_max": (
        (0.012, 0.99),
        (0.096, 0.97),
        (0.498, 0.81),
        (0.911, 0.55),
        (0.997, 0.36),
        (1.000, 0.20),
    ),
    "CS N*=N_max/4": (
        (0.017, 0.99),
        (0.095, 0.96),
        (0.483, 0.79),
        (0.902, 0.52),
        (0.996, 0.32),
        (1.000, 0.16),
    ),
    "hybrid": (
        (0.027, 1.00),
        (0.205, 0.98),
        (0.717, 0.86),
        (0.976, 0.61),
        (1.000, 0.40),
        (1.000, 0.21),
    ),
}
HOURLY_FPR = {"naive z": 0.507, "CS N*=N_max": 0.018, "CS N*=N_max/4": 0.030}
TABLE_6: dict[float, tuple[tuple[float, float | None], ...]] = {
    0.05: ((0.0119, None), (0.118, None), (0.489, 0.80), (0.991, 0.38), (1.0, 0.21), (1.0, 0.11)),
    0.01: ((0.0022, None), (0.036, None), (0.265, 0.91), (0.962, 0.49), (1.0, 0.26), (1.0, 0.13)),
}


def efficacy_rules(looks: int) -> dict[str, FloatArray]:
    fractions = look_fractions(looks)
    return {
        "fixed horizon": fixed_horizon_rule(fractions),
        "naive z": naive_rule(fractions),
        "CS N*=N_max": cs_rule(1.0)(fractions),
        "CS N*=N_max/4": cs_rule(0.25)(fractions),
        "hybrid": hybrid_rule(fractions),
    }


def _fmt(value: float | None, digits: int) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def _print_table(title: str, header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    print(title)
    print("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))
    print()


def report_efficacy(looks: int, paths: int, seed: int) -> None:
    rules = efficacy_rules(looks)
    drifts = [effect * MDE_DRIFT for effect in EFFECTS]
    started = time.perf_counter()
    outcomes = simulate(rules, looks=looks, drifts=drifts, paths=paths, seed=seed)
    elapsed = time.perf_counter() - started
    rows: list[list[str]] = []
    for name in rules:
        for index, (effect, drift) in enumerate(zip(EFFECTS, drifts, strict=True)):
            outcome = outcomes[name, drift]
            power = outcome.rejected if effect == 0.0 else outcome.correct
            ref_power: float | None = None
            ref_asn: float | None = None
            if looks == 28:
                ref_power, ref_asn = TABLE_5[name][index]
            elif effect == 0.0:
                ref_power = HOURLY_FPR.get(name)
                if name == "fixed horizon":
                    ref_power, ref_asn = 0.05, 1.0
            rows.append(
                [
                    name,
                    "0 (FPR)" if effect == 0.0 else f"{effect:g}× MDE",
                    f"{power:.4f} ± {outcome.proportion_se(power):.4f}",
                    _fmt(ref_power, 3),
                    f"{outcome.asn:.3f} ± {outcome.asn_se:.3f}",
                    _fmt(ref_asn, 2),
                ]
            )
    _print_table(
        f"{'Daily' if looks == 28 else 'Hourly'} looks (K = {looks}), {paths:,} paths, "
        f"seed {seed}, α = {ALPHA}, {elapsed:.1f} s. Power = first crossing with the right sign "
        "by N_max; ASN = mean stopping time / N_max; ± = 1 MC standard error.",
        ["procedure", "effect", "FPR / power", "reference", "ASN", "reference"],
        rows,
    )


def report_guardrails(paths: int, seed: int) -> None:
    looks = 28
    drifts = [harm * ONE_SIDED_MDE_DRIFT for harm in HARMS]
    rules = {f"{alpha:g}": guardrail_rule(alpha)(look_fractions(looks)) for alpha in TABLE_6}
    started = time.perf_counter()
    outcomes = simulate(rules, looks=looks, drifts=drifts, paths=paths, seed=seed, one_sided=True)
    elapsed = time.perf_counter() - started
    rows: list[list[str]] = []
    for alpha, reference in TABLE_6.items():
        for (harm, drift), (ref_trip, ref_asn) in zip(
            zip(HARMS, drifts, strict=True), reference, strict=True
        ):
            outcome = outcomes[f"{alpha:g}", drift]
            rows.append(
                [
                    f"{alpha:g}",
                    f"{harm:g}× MDE₁",
                    f"{outcome.correct:.4f} ± {outcome.proportion_se(outcome.correct):.4f}",
                    _fmt(ref_trip, 4 if harm == 0.0 else 3),
                    f"{outcome.asn:.3f} ± {outcome.asn_se:.3f}",
                    _fmt(ref_asn, 2),
                ]
            )
    _print_table(
        f"Guardrail one-sided CS (Table 6): K = {looks}, N* = N_max, {paths:,} paths, "
        f"seed {seed}, {elapsed:.1f} s. MDE₁ = one-sided 80 %-power MDE (2.4865·SE at N_max).",
        ["α_g", "harm", "P(trip)", "reference", "ASN", "reference"],
        rows,
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--paths", type=int, default=200_000, help="paths for daily looks")
    parser.add_argument(
        "--hourly-paths", type=int, default=None, help="paths for hourly looks (default paths/2)"
    )
    parser.add_argument("--seed", type=int, default=20_240_601)
    args = parser.parse_args(argv)
    paths: int = args.paths
    hourly_paths: int = args.hourly_paths or max(1, paths // 2)
    seed: int = args.seed
    report_efficacy(28, paths, seed)
    report_efficacy(672, hourly_paths, seed + 1)
    report_guardrails(paths, seed + 2)


if __name__ == "__main__":
    main()
