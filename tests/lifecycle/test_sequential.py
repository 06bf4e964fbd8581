"""Golden values and edge cases for lifecycle.sequential (sequential-testing.md §3.2, §8.1)."""

from __future__ import annotations

import itertools
import json
import math
import random
from collections.abc import Callable

import pytest

from lifecycle.sequential import (
    ArmStats,
    Difference,
    absolute_difference,
    always_valid_p_value,
    boundary,
    compare_arms,
    confidence_sequence,
    conversion_count,
    critical_value,
    evaluate_guardrail,
    evaluate_sequential,
    fixed_horizon_critical_value,
    mixture_constant,
    one_sided_bound,
    one_sided_boundary,
    one_sided_p_value,
    relative_difference,
    running_min_p_value,
)


def printed(value: float, decimals: int) -> object:
    """Matches a value printed in the reference to ``decimals`` places."""
    return pytest.approx(value, abs=0.5 * 10.0**-decimals)


def binary_arm(key: str, n: int, conversions: int) -> ArmStats:
    return ArmStats(key=key, n=n, sum=float(conversions), sum_squares=float(conversions))


def arm_with(key: str, n: int, mean: float, variance: float) -> ArmStats:
    total = mean * n
    return ArmStats(key=key, n=n, sum=total, sum_squares=variance * (n - 1) + total * total / n)


# §8.1 fixtures (GrowthBook test_tests.py).
MEAN_CONTROL = ArmStats(key="control", n=3000, sum=1396.87, sum_squares=52377.9767)
MEAN_TREATMENT = ArmStats(key="treatment", n=3461, sum=2422.7, sum_squares=134698.29)
PROPORTION_CONTROL = binary_arm("control", 3000, 1396)
PROPORTION_TREATMENT = binary_arm("treatment", 3461, 2422)
N_FIXTURE = 3000 + 3461


class TestBoundaryGoldenValues:
    def test_mixture_constant(self) -> None:
        assert mixture_constant(0.05) == printed(7.936155, 6)
        assert mixture_constant(0.01) == printed(11.534, 3)
        assert mixture_constant(0.10) == printed(6.329, 3)

    def test_boundary_at_tuning_n(self) -> None:
        assert boundary(5000, tuning_n=5000, alpha=0.05) == printed(3.035209, 6)
        assert boundary(5000, tuning_n=5000, alpha=0.01) == printed(3.572, 3)
        assert boundary(5000, tuning_n=5000, alpha=0.10) == printed(2.764, 3)

    @pytest.mark.parametrize(
        ("ratio", "expected"),
        [
            (0.01, 9.084),
            (0.05, 4.719),
            (0.10, 3.855),
            (0.25, 3.264),
            (0.5, 3.084),
            (1, 3.035),
            (2, 3.061),
            (4, 3.127),
            (10, 3.242),
            (100, 3.562),
        ],
    )
    def test_table_2(self, ratio: float, expected: float) -> None:
        b = boundary(ratio * 10_000, tuning_n=10_000, alpha=0.05)
        assert b == printed(expected, 3)

    @pytest.mark.parametrize(
        ("ratio", "expected"),
        [
            # Printed as 4.64: 9.084/1.96 = 4.635 rounded half up; the exact ratio is 4.63497.
            (0.01, 4.635),
            (0.05, 2.41),
            (0.10, 1.97),
            (0.25, 1.67),
            (0.5, 1.57),
            (1, 1.55),
            (2, 1.56),
            (4, 1.60),
            (10, 1.65),
            (100, 1.82),
        ],
    )
    def test_table_2_width_ratio(self, ratio: float, expected: float) -> None:
        b = boundary(ratio, tuning_n=1.0, alpha=0.05)
        decimals = 3 if ratio == 0.01 else 2
        assert b / fixed_horizon_critical_value(0.05) == printed(expected, decimals)

    @pytest.mark.parametrize(
        ("ratio", "alpha", "expected"),
        [
            (1, 0.05, 2.779),
            (1, 0.01, 3.355),
            (0.1, 0.05, 3.679),
            (0.25, 0.05, 3.043),
            (4, 0.05, 2.868),
        ],
    )
    def test_one_sided_boundary(self, ratio: float, alpha: float, expected: float) -> None:
        assert one_sided_boundary(ratio * 5000, tuning_n=5000, alpha=alpha) == printed(expected, 3)

    def test_boundary_depends_only_on_the_ratio(self) -> None:
        assert boundary(3, tuning_n=7, alpha=0.05) == pytest.approx(
            boundary(3000, tuning_n=7000, alpha=0.05), rel=1e-12
        )

    @pytest.mark.parametrize(
        "call",
        [
            lambda: boundary(0, tuning_n=5000, alpha=0.05),
            lambda: boundary(100, tuning_n=0, alpha=0.05),
            lambda: boundary(100, tuning_n=5000, alpha=1.0),
            lambda: one_sided_boundary(100, tuning_n=5000, alpha=0.5),
            lambda: mixture_constant(0.0),
        ],
    )
    def test_invalid_parameters(self, call: Callable[[], float]) -> None:
        with pytest.raises(ValueError, match="must be"):
            call()


class TestConfidenceSequenceGoldenValues:
    def test_mean_relative_two_sided(self) -> None:
        rel = relative_difference(MEAN_CONTROL, MEAN_TREATMENT)
        assert rel is not None
        assert rel.estimate == printed(0.50336, 5)
        assert rel.standard_error == printed(0.33341, 5)
        lower, upper = confidence_sequence(rel, N_FIXTURE, tuning_n=1000, alpha=0.05)
        assert (lower, upper) == (printed(-0.55844, 5), printed(1.56516, 5))
        z = rel.estimate / rel.standard_error
        assert always_valid_p_value(z, N_FIXTURE, tuning_n=1000, alpha=0.05) == 1.0

    def test_proportion_relative_two_sided(self) -> None:
        rel = relative_difference(PROPORTION_CONTROL, PROPORTION_TREATMENT, binary=True)
        assert rel is not None
        assert rel.estimate == printed(0.50386, 5)
        assert rel.standard_error == printed(0.03386, 5)
        lower, upper = confidence_sequence(rel, N_FIXTURE, tuning_n=5000, alpha=0.05)
        assert (lower, upper) == (printed(0.40098, 5), printed(0.60675, 5))

    def test_proportion_absolute_two_sided(self) -> None:
        evidence = compare_arms(
            PROPORTION_CONTROL,
            PROPORTION_TREATMENT,
            alpha=0.05,
            tuning_n=5000,
            goal="increase",
            binary=True,
        )
        assert evidence.estimate == printed(0.234464, 6)
        assert (evidence.lower, evidence.upper) == (printed(0.198049, 6), printed(0.270880, 6))
        assert evidence.significant
        assert evidence.direction == "better"

    def test_mean_relative_one_sided(self) -> None:
        rel = relative_difference(MEAN_CONTROL, MEAN_TREATMENT)
        assert rel is not None
        lower = one_sided_bound(rel, N_FIXTURE, tuning_n=5000, alpha=0.05, side="lower")
        upper = one_sided_bound(rel, N_FIXTURE, tuning_n=5000, alpha=0.05, side="upper")
        assert lower == printed(-0.423565, 6)
        assert upper == printed(1.430287, 6)

    def test_mean_absolute_one_sided_through_the_guardrail(self) -> None:
        increase = evaluate_guardrail(
            MEAN_CONTROL, MEAN_TREATMENT, alpha=0.05, tuning_n=5000, harmful="increase"
        )
        decrease = evaluate_guardrail(
            MEAN_CONTROL, MEAN_TREATMENT, alpha=0.05, tuning_n=5000, harmful="decrease"
        )
        assert increase.estimate == printed(0.2343767, 7)
        assert increase.bound_side == "lower"
        assert increase.bound == printed(-0.126568, 6)
        assert decrease.bound_side == "upper"
        assert decrease.bound == printed(0.595322, 6)
        assert not increase.tripped
        assert not decrease.tripped

    @pytest.mark.parametrize(
        ("control", "treatment", "tuning_n", "lower", "upper", "p_value"),
        [
            (500, 600, 5000, -0.000080, 0.020080, 0.053881),
            (500, 610, 5000, 0.000878, 0.021122, 0.021209),
            (500, 600, 20000, 0.000216, 0.019784, 0.041638),
            (1000, 1100, 20000, -0.003157, 0.023157, 0.281349),
        ],
    )
    def test_two_proportion_p_values(
        self,
        control: int,
        treatment: int,
        tuning_n: float,
        lower: float,
        upper: float,
        p_value: float,
    ) -> None:
        evidence = evaluate_sequential(
            binary_arm("control", 10_000, control),
            [binary_arm("test", 10_000, treatment)],
            alpha=0.05,
            tuning_n=tuning_n,
            goal="increase",
            binary=True,
        )
        (variant,) = evidence.variants
        assert variant.p_value == printed(p_value, 6)
        assert (variant.lower, variant.upper) == (printed(lower, 6), printed(upper, 6))
        assert variant.significant == (p_value <= 0.05)
        assert variant.significant == (variant.lower is not None and variant.lower > 0)

    def test_two_proportion_z(self) -> None:
        diff = absolute_difference(
            binary_arm("control", 10_000, 500), binary_arm("test", 10_000, 600), binary=True
        )
        assert diff is not None
        assert diff.estimate / diff.standard_error == printed(3.1024, 4)


class TestArmStats:
    def test_mean_and_sample_variance(self) -> None:
        arm = ArmStats(key="a", n=4, sum=10.0, sum_squares=30.0)  # values 1, 2, 3, 4
        assert arm.mean == 2.5
        assert arm.sample_variance == pytest.approx(5.0 / 3.0)

    def test_guards_small_n(self) -> None:
        assert ArmStats(key="a", n=0, sum=0.0, sum_squares=0.0).mean is None
        one = ArmStats(key="a", n=1, sum=3.0, sum_squares=9.0)
        assert one.mean == 3.0
        assert one.sample_variance is None

    def test_constant_data_has_zero_not_negative_variance(self) -> None:
        arm = ArmStats(key="a", n=3, sum=0.3, sum_squares=0.03)
        assert arm.sample_variance == pytest.approx(0.0, abs=1e-15)
        assert arm.sample_variance is not None
        assert arm.sample_variance >= 0.0

    def test_proportion_variance(self) -> None:
        assert binary_arm("a", 10, 3).proportion_variance == pytest.approx(0.21)
        with pytest.raises(ValueError, match="0 <= sum <= n"):
            _ = ArmStats(key="a", n=10, sum=11.0, sum_squares=11.0).proportion_variance

    @pytest.mark.parametrize(
        ("n", "total", "squares"), [(-1, 0.0, 0.0), (5, math.nan, 1.0), (5, 1.0, -1.0)]
    )
    def test_rejects_impossible_inputs(self, n: int, total: float, squares: float) -> None:
        with pytest.raises(ValueError, match="arm 'a'"):
            ArmStats(key="a", n=n, sum=total, sum_squares=squares)

    def test_conversion_count(self) -> None:
        assert conversion_count(binary_arm("a", 100, 7)) == 7
        with pytest.raises(ValueError, match="binary"):
            conversion_count(ArmStats(key="a", n=2, sum=5.0, sum_squares=13.0))


class TestDifference:
    def test_welch_standard_error_and_relative_lift(self) -> None:
        control = arm_with("control", 100, 10.0, 4.0)
        treatment = arm_with("test", 400, 11.0, 16.0)
        diff = absolute_difference(control, treatment)
        assert diff == Difference(
            estimate=pytest.approx(1.0),  # type: ignore[arg-type]
            standard_error=pytest.approx(math.sqrt(16.0 / 400 + 4.0 / 100)),  # type: ignore[arg-type]
        )
        evidence = compare_arms(control, treatment, goal="increase", binary=False)
        assert evidence.relative_lift == pytest.approx(0.1)

    def test_relative_lift_is_none_for_zero_control_mean(self) -> None:
        control = arm_with("control", 100, 0.0, 1.0)
        treatment = arm_with("test", 100, 0.5, 1.0)
        assert relative_difference(control, treatment) is None
        evidence = compare_arms(control, treatment, goal="increase", binary=False)
        assert evidence.relative_lift is None
        assert evidence.estimate == pytest.approx(0.5)


class TestInsufficientData:
    @pytest.mark.parametrize(
        ("control", "treatment", "reason"),
        [
            (binary_arm("control", 1, 1), binary_arm("test", 50, 5), "fewer than 2"),
            (binary_arm("control", 0, 0), binary_arm("test", 0, 0), "fewer than 2"),
            (binary_arm("control", 500, 0), binary_arm("test", 500, 0), "standard error is zero"),
            (binary_arm("control", 500, 500), binary_arm("test", 500, 0), "standard error is zero"),
        ],
    )
    def test_degenerate_inputs_give_clean_evidence(
        self, control: ArmStats, treatment: ArmStats, reason: str
    ) -> None:
        evidence = evaluate_sequential(control, [treatment], goal="increase", binary=True)
        (variant,) = evidence.variants
        assert variant.status == "insufficient_data"
        assert variant.reason is not None
        assert reason in variant.reason
        assert variant.estimate is None
        assert variant.standard_error is None
        assert variant.lower is None
        assert variant.upper is None
        assert variant.p_value == 1.0
        assert not variant.significant
        assert evidence.verdict == "inconclusive"
        json.dumps(evidence.as_dict(), allow_nan=False)

    def test_guardrail_with_degenerate_inputs(self) -> None:
        evidence = evaluate_guardrail(
            binary_arm("control", 1, 0), binary_arm("test", 1, 1), harmful="increase", binary=True
        )
        assert evidence.status == "insufficient_data"
        assert evidence.bound is None
        assert not evidence.tripped
        json.dumps(evidence.as_dict(), allow_nan=False)

    def test_earlier_significance_survives_a_degenerate_look(self) -> None:
        evidence = compare_arms(
            binary_arm("control", 1, 0),
            binary_arm("test", 1, 1),
            goal="increase",
            binary=True,
            previous_p=0.01,
        )
        assert evidence.p_value == 0.01
        assert evidence.significant
        assert evidence.direction is None


class TestPValues:
    def test_p_value_equals_alpha_on_the_boundary(self) -> None:
        for ratio in (0.05, 0.3, 1.0, 7.0):
            b = boundary(ratio, tuning_n=1.0, alpha=0.05)
            assert always_valid_p_value(b, ratio, tuning_n=1.0, alpha=0.05) == pytest.approx(0.05)
            assert always_valid_p_value(-b, ratio, tuning_n=1.0, alpha=0.05) == pytest.approx(0.05)

    def test_p_value_decision_matches_the_confidence_sequence(self) -> None:
        rng = random.Random(7)
        for _ in range(2000):
            z = rng.uniform(-6.0, 6.0)
            ratio = rng.uniform(0.01, 20.0)
            alpha = rng.choice([0.01, 0.025, 0.05, 0.1])
            b = boundary(ratio, tuning_n=1.0, alpha=alpha)
            p = always_valid_p_value(z, ratio, tuning_n=1.0, alpha=alpha)
            assert (p <= alpha) == (abs(z) >= b)

    def test_extreme_z_does_not_overflow(self) -> None:
        assert always_valid_p_value(1e4, 1000, tuning_n=5000, alpha=0.05) == 0.0
        assert one_sided_p_value(1e4, 1000, tuning_n=5000, alpha=0.05) == 0.0
        assert always_valid_p_value(0.0, 1000, tuning_n=5000, alpha=0.05) == 1.0

    def test_one_sided_p_value_closed_form(self) -> None:
        for ratio in (0.1, 1.0, 4.0):
            for alpha in (0.01, 0.05, 0.2):
                b1 = one_sided_boundary(ratio, tuning_n=1.0, alpha=alpha)
                p = one_sided_p_value(b1, ratio, tuning_n=1.0, alpha=alpha)
                assert p == pytest.approx(alpha, rel=1e-9)
                assert one_sided_p_value(b1 * 1.01, ratio, tuning_n=1.0, alpha=alpha) < alpha
                assert one_sided_p_value(b1 * 0.99, ratio, tuning_n=1.0, alpha=alpha) > alpha

    def test_one_sided_p_value_is_one_without_evidence_of_harm(self) -> None:
        assert one_sided_p_value(0.0, 5000, tuning_n=5000, alpha=0.05) == 1.0
        assert one_sided_p_value(-8.0, 5000, tuning_n=5000, alpha=0.05) == 1.0

    def test_one_sided_p_value_decreases_with_z(self) -> None:
        values = [one_sided_p_value(z / 10, 5000, tuning_n=5000, alpha=0.05) for z in range(60)]
        assert all(b <= a for a, b in itertools.pairwise(values))
        assert values[-1] < 0.05 < values[10]

    def test_running_minimum(self) -> None:
        assert running_min_p_value(None, 0.3) == 0.3
        assert running_min_p_value(0.2, 0.3) == 0.2
        assert running_min_p_value(0.2, 0.1) == 0.1

    def test_running_minimum_never_increases_across_looks(self) -> None:
        control_rate, looks = 0.05, 14
        # The treatment's lead appears early and then fades back to nothing.
        leads = [0.0, 40, 80, 100, 90, 60, 30, 10, 0, 0, 0, 0, 0, 0]
        previous: dict[str, float] | None = None
        reported: list[float] = []
        current: list[float] = []
        for day in range(1, looks + 1):
            n = 1000 * day
            conversions = round(control_rate * n)
            evidence = evaluate_sequential(
                binary_arm("control", n, conversions),
                [binary_arm("test", n, conversions + round(leads[day - 1]))],
                goal="increase",
                binary=True,
                previous_p=previous,
            )
            previous = evidence.running_p_values()
            reported.append(evidence.variants[0].p_value)
            current.append(evidence.variants[0].p_value_current)
        assert all(b <= a for a, b in itertools.pairwise(reported))
        assert reported == [min(current[: i + 1]) for i in range(looks)]
        assert current[-1] == 1.0
        assert reported[-1] < 0.05
        assert evidence.variants[0].significant


class TestHybrid:
    control = binary_arm("control", 10_000, 500)

    def test_interim_spends_half_alpha(self) -> None:
        test = binary_arm("test", 10_000, 604)
        pure = compare_arms(self.control, test, goal="increase", binary=True)
        interim = compare_arms(self.control, test, goal="increase", binary=True, hybrid_final=False)
        assert pure.significant
        assert not interim.significant
        assert interim.alpha_sequential == 0.025
        assert interim.boundary == pytest.approx(boundary(20_000, tuning_n=5000, alpha=0.025))
        assert interim.fixed_p_value is None

    def test_final_look_adds_the_fixed_horizon_test(self) -> None:
        test = binary_arm("test", 10_000, 580)  # z ≈ 2.50: fixed test at α/2 rejects, CS does not
        pure = compare_arms(self.control, test, goal="increase", binary=True)
        final = compare_arms(self.control, test, goal="increase", binary=True, hybrid_final=True)
        assert not pure.significant
        assert final.significant
        assert final.direction == "better"
        assert final.fixed_p_value is not None
        assert final.fixed_p_value < 0.025 < final.p_value
        assert final.alpha_fixed == 0.025

    def test_critical_value_agrees_with_compare_arms(self) -> None:
        rng = random.Random(11)
        for _ in range(300):
            n_c, n_t = rng.randint(200, 20_000), rng.randint(200, 20_000)
            control = binary_arm("control", n_c, rng.randint(5, n_c // 10))
            test = binary_arm("test", n_t, rng.randint(5, n_t // 10))
            diff = absolute_difference(control, test, binary=True)
            assert diff is not None
            z = diff.estimate / diff.standard_error
            for hybrid_final in (None, False, True):
                evidence = compare_arms(
                    control,
                    test,
                    tuning_n=3000,
                    goal="increase",
                    binary=True,
                    hybrid_final=hybrid_final,
                )
                threshold = critical_value(
                    n_c + n_t, tuning_n=3000, alpha=0.05, hybrid_final=hybrid_final
                )
                assert evidence.significant == (abs(z) > threshold)

    def test_final_threshold_is_the_fixed_test(self) -> None:
        assert critical_value(10, tuning_n=10, alpha=0.05, hybrid_final=True) == pytest.approx(
            2.2414, abs=1e-4
        )


class TestMultipleVariants:
    def test_bonferroni_over_variants(self) -> None:
        control = binary_arm("control", 10_000, 500)
        test = binary_arm("a", 10_000, 604)
        alone = evaluate_sequential(control, [test], goal="increase", binary=True)
        with_null_arm = evaluate_sequential(
            control, [test, binary_arm("b", 10_000, 500)], goal="increase", binary=True
        )
        assert alone.winner == "a"
        assert with_null_arm.alpha_per_comparison == 0.025
        assert not with_null_arm.variants[0].significant
        assert with_null_arm.winner is None
        assert with_null_arm.verdict == "inconclusive"

    def test_winner_has_the_best_guaranteed_improvement(self) -> None:
        control = binary_arm("control", 20_000, 1000)
        tight = binary_arm("a", 20_000, 1300)
        wide = binary_arm("b", 2000, 150)
        evidence = evaluate_sequential(control, [tight, wide], goal="increase", binary=True)
        a, b = evidence.variants
        assert a.direction == "better"
        assert b.direction == "better"
        assert b.estimate is not None
        assert a.estimate is not None
        assert b.estimate > a.estimate
        assert a.lower is not None
        assert b.lower is not None
        assert a.lower > b.lower
        assert evidence.winner == "a"
        assert evidence.verdict == "winner"

    def test_winner_for_a_decrease_goal_and_losers(self) -> None:
        control = binary_arm("control", 20_000, 1300)
        evidence = evaluate_sequential(
            control,
            [
                binary_arm("a", 20_000, 1000),
                binary_arm("b", 2000, 90),
                binary_arm("c", 20_000, 1500),
                binary_arm("d", 20_000, 1310),
            ],
            goal="decrease",
            binary=True,
        )
        a, b, c, d = evidence.variants
        assert (a.direction, b.direction, c.direction, d.direction) == (
            "better",
            "better",
            "worse",
            None,
        )
        assert b.estimate is not None
        assert a.estimate is not None
        assert b.estimate < a.estimate
        assert evidence.winner == "a"
        assert evidence.losers == ("c",)
        assert evidence.verdict == "winner"

    def test_only_losers(self) -> None:
        evidence = evaluate_sequential(
            binary_arm("control", 10_000, 600),
            [binary_arm("a", 10_000, 450), binary_arm("b", 10_000, 600)],
            goal="increase",
            binary=True,
        )
        assert evidence.winner is None
        assert evidence.losers == ("a",)
        assert evidence.verdict == "loser"

    def test_veto_when_another_better_variant_beats_the_winner(self) -> None:
        # a: tiny, precisely measured gain; b: a much larger gain, measured on few units, whose
        # CS against the noisy small control is wide but which clearly beats a head to head.
        control = arm_with("control", 50, 0.0, 0.01)
        a = arm_with("a", 10_000, 1.0, 0.0001)
        b = arm_with("b", 50, 2.0, 1.0)
        evidence = evaluate_sequential(
            control, [a, b], tuning_n=10_000, goal="increase", binary=False
        )
        ev_a, ev_b = evidence.variants
        assert ev_a.direction == "better"
        assert ev_b.direction == "better"
        assert ev_a.lower is not None
        assert ev_b.lower is not None
        assert ev_a.lower > ev_b.lower
        head_to_head = compare_arms(
            a, b, alpha=0.025, tuning_n=10_000, goal="increase", binary=False
        )
        assert head_to_head.direction == "better"
        assert evidence.winner is None
        assert evidence.verdict == "ambiguous"
        assert "b is significantly better than it" in evidence.verdict_reason

    def test_rejects_bad_arm_lists(self) -> None:
        control = binary_arm("control", 100, 5)
        with pytest.raises(ValueError, match="at least one"):
            evaluate_sequential(control, [], goal="increase", binary=True)
        with pytest.raises(ValueError, match="unique"):
            evaluate_sequential(
                control, [binary_arm("control", 100, 5)], goal="increase", binary=True
            )

    def test_evidence_is_plain_json(self) -> None:
        evidence = evaluate_sequential(
            binary_arm("control", 10_000, 500),
            [binary_arm("a", 10_000, 650), binary_arm("b", 1, 0)],
            goal="increase",
            binary=True,
            hybrid_final=True,
        )
        data = json.loads(json.dumps(evidence.as_dict(), allow_nan=False))
        assert data["winner"] == "a"
        assert data["mode"] == "hybrid_final"
        assert data["control"] == {"key": "control", "n": 10_000, "mean": 0.05, "conversions": 500}
        assert data["variants"][0]["direction"] == "better"
        assert data["variants"][1]["status"] == "insufficient_data"
        assert evidence.running_p_values() == {
            "a": evidence.variants[0].p_value,
            "b": 1.0,
        }


class TestGuardrail:
    control = binary_arm("control", 20_000, 1000)

    def test_trips_on_harmful_increase(self) -> None:
        evidence = evaluate_guardrail(
            self.control, binary_arm("test", 20_000, 1200), harmful="increase", binary=True
        )
        assert evidence.bound is not None
        assert evidence.bound > 0.0
        assert evidence.tripped
        assert evidence.p_value <= 0.05

    def test_same_data_does_not_trip_when_decrease_is_harmful(self) -> None:
        evidence = evaluate_guardrail(
            self.control, binary_arm("test", 20_000, 1200), harmful="decrease", binary=True
        )
        assert not evidence.tripped
        assert evidence.p_value == 1.0

    def test_trips_on_harmful_decrease(self) -> None:
        evidence = evaluate_guardrail(
            self.control, binary_arm("test", 20_000, 820), harmful="decrease", binary=True
        )
        assert evidence.bound_side == "upper"
        assert evidence.bound is not None
        assert evidence.bound < 0.0
        assert evidence.tripped

    def test_tolerance_on_the_absolute_scale(self) -> None:
        treatment = binary_arm("test", 20_000, 1200)  # +1 point, lower bound ≈ +0.33 point
        loose = evaluate_guardrail(
            self.control, treatment, harmful="increase", tolerance=0.004, binary=True
        )
        tight = evaluate_guardrail(
            self.control, treatment, harmful="increase", tolerance=0.002, binary=True
        )
        assert loose.threshold == 0.004
        assert not loose.tripped
        assert tight.tripped
        down = evaluate_guardrail(
            self.control,
            binary_arm("test", 20_000, 800),
            harmful="decrease",
            tolerance=0.002,
            binary=True,
        )
        assert down.threshold == -0.002
        assert down.bound is not None
        assert down.bound < -0.002
        assert down.tripped

    def test_trip_decision_matches_the_bound(self) -> None:
        for conversions in range(1000, 1300, 5):
            for tolerance in (0.0, 0.003):
                evidence = evaluate_guardrail(
                    self.control,
                    binary_arm("test", 20_000, conversions),
                    alpha=0.01,
                    harmful="increase",
                    tolerance=tolerance,
                    binary=True,
                )
                assert evidence.bound is not None
                assert evidence.tripped == (evidence.bound > tolerance)

    def test_running_minimum_keeps_a_trip(self) -> None:
        evidence = evaluate_guardrail(
            self.control,
            binary_arm("test", 20_000, 1000),
            harmful="increase",
            binary=True,
            previous_p=0.001,
        )
        assert evidence.p_value_current == 1.0
        assert evidence.tripped

    def test_rejects_bad_parameters(self) -> None:
        with pytest.raises(ValueError, match="tolerance"):
            evaluate_guardrail(self.control, self.control, harmful="increase", tolerance=-0.1)
        with pytest.raises(ValueError, match="alpha"):
            evaluate_guardrail(self.control, self.control, harmful="increase", alpha=0.5)
