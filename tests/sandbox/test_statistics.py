"""The statistics module against the reference's worked examples (§8.4, §8.5, §8.6)."""

from __future__ import annotations

import pytest

from sandbox.results import build_query_result
from sandbox.simulator import Totals
from sandbox.statistics import Sample, compare_bayesian, compare_frequentist, validation_failures


def test_bayesian_example_of_section_8_4() -> None:
    control = Sample(n=1000, sum=1200.0, sum_squares=3100.0)
    test = Sample(n=1010, sum=1350.0, sum_squares=3600.0)
    result = compare_bayesian(test, control, "mean")
    assert result is not None
    assert round(result.chance_to_win, 4) == 0.9864
    assert [round(bound, 4) for bound in result.credible_interval] == [0.0129, 0.2149]
    assert result.significant is True


def test_frequentist_example_of_section_8_4() -> None:
    control = Sample(n=2000, sum=260, sum_squares=260)
    cases = [
        (Sample(n=2015, sum=312, sum_squares=312), 0.0393, [0.0094, 0.3728], True),
        (Sample(n=1990, sum=268, sum_squares=268), 0.6687, [-0.1287, 0.2006], False),
    ]
    for test, p_value, interval, significant in cases:
        result = compare_frequentist(test, control, "proportion", alpha=0.05)
        assert result is not None
        assert round(result.p_value, 4) == p_value
        assert [round(bound, 4) for bound in result.confidence_interval] == interval
        assert result.significant is significant


def test_timeseries_day_one_of_section_8_6() -> None:
    result = compare_bayesian(
        Sample(n=470, sum=66, sum_squares=66), Sample(n=480, sum=55, sum_squares=55), "proportion"
    )
    assert result is not None
    assert round(result.chance_to_win, 4) == 0.8596
    assert [round(bound, 4) for bound in result.credible_interval] == [-0.1844, 0.6354]
    assert result.significant is False


def test_validation_codes() -> None:
    tiny = Sample(n=41, sum=3, sum_squares=3)
    assert validation_failures(tiny, needs_conversions=True, is_baseline=False) == [
        "not-enough-exposures",
        "not-enough-metric-data",
    ]
    zero = Sample(n=500, sum=0, sum_squares=0)
    assert validation_failures(zero, needs_conversions=False, is_baseline=True) == [
        "baseline-mean-is-zero"
    ]
    assert validation_failures(zero, needs_conversions=False, is_baseline=False) == []


def test_engine_guards_leave_fields_empty() -> None:
    few_failures = Sample(n=100, sum=98, sum_squares=98)
    fine = Sample(n=100, sum=50, sum_squares=50)
    assert compare_bayesian(few_failures, fine, "proportion") is None
    assert compare_bayesian(fine, Sample(n=100, sum=0, sum_squares=0), "mean") is None
    assert compare_frequentist(Sample(n=4, sum=1, sum_squares=1), fine, "mean") is None
    constant = Sample(n=100, sum=100, sum_squares=100)
    assert compare_bayesian(constant, constant, "mean") is None


def test_significance_uses_strict_ci_level_bounds() -> None:
    control = Sample(n=1000, sum=1200.0, sum_squares=3100.0)
    test = Sample(n=1010, sum=1350.0, sum_squares=3600.0)
    strict = compare_bayesian(test, control, "mean", ci_level=0.99)
    assert strict is not None
    assert strict.significant is False
    assert strict.credible_interval[0] < 0 < strict.credible_interval[1]


def test_frequentist_result_object_with_a_thin_arm() -> None:
    metric = {"metric_type": "funnel", "series": [{}, {}]}
    totals = {
        "control": Totals(2000, 260.0, 260.0, [1400, 260]),
        "test": Totals(2015, 312.0, 312.0, [1455, 312]),
        "test_b": Totals(1990, 268.0, 268.0, [1390, 268]),
        "test_c": Totals(41, 3.0, 3.0, [30, 3]),
    }
    result = build_query_result(
        metric,
        totals,
        ["control", "test", "test_b", "test_c"],
        {"method": "frequentist", "frequentist": {"alpha": 0.05}},
    )
    assert result["kind"] == "ExperimentQuery"
    assert result["baseline"]["key"] == "control"
    assert result["baseline"]["step_counts"] == [1400, 260]
    assert "method" not in result["baseline"]
    by_key = {variant["key"]: variant for variant in result["variant_results"]}
    assert [variant["key"] for variant in result["variant_results"]] == ["test", "test_b", "test_c"]
    assert round(by_key["test"]["p_value"], 4) == 0.0393
    assert by_key["test_c"]["validation_failures"] == [
        "not-enough-exposures",
        "not-enough-metric-data",
    ]
    assert by_key["test_c"]["p_value"] is None
    assert by_key["test_c"]["confidence_interval"] is None
    assert by_key["test_c"]["significant"] is None
    assert all(variant["method"] == "frequentist" for variant in result["variant_results"])
    assert "chance_to_win" not in by_key["test"]
    for legacy in ("insight", "variants", "probability", "significant", "p_value"):
        assert result[legacy] is None
    assert result["breakdown_results"] is None


def test_failing_baseline_withholds_every_variant() -> None:
    metric = {"metric_type": "mean"}
    totals = {"control": Totals(10, 5.0, 9.0), "test": Totals(900, 950.0, 2000.0)}
    result = build_query_result(metric, totals, ["control", "test"], {"method": "bayesian"})
    assert result["baseline"]["validation_failures"] == ["not-enough-exposures"]
    variant = result["variant_results"][0]
    assert variant["validation_failures"] == []
    assert variant["chance_to_win"] is None
    assert variant["method"] == "bayesian"


@pytest.mark.parametrize(("ci_level", "expected"), [(0.9, 0.9), ("0.99", 0.99), (1.5, 0.95)])
def test_ci_level_parsing(ci_level: object, expected: float) -> None:
    from sandbox.results import ci_level_of

    assert ci_level_of({"bayesian": {"ci_level": ci_level}}) == expected
