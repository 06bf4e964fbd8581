"""SRM checks: χ² and sequential Dirichlet-multinomial golden values (sequential-testing.md §8.1)."""

from __future__ import annotations

import json

import pytest

from lifecycle.srm import (
    check_sequential_srm,
    check_srm,
    sequential_srm_p_value,
    sequential_srm_p_values,
)

HALVES = {"control": 0.5, "test": 0.5}


class TestChiSquared:
    def test_mild_imbalance_is_not_flagged(self) -> None:
        result = check_srm({"control": 980 * 7, "test": 1020 * 7}, HALVES)
        assert result.checked
        assert result.p_value == pytest.approx(0.018, abs=0.0005)
        assert not result.flagged
        assert result.expected == {"control": 7000.0, "test": 7000.0}

    def test_strong_imbalance_is_flagged(self) -> None:
        result = check_srm({"control": 900 * 3, "test": 1100 * 3}, HALVES)
        assert result.p_value == pytest.approx(9.5e-15, rel=0.01)
        assert result.flagged

    def test_three_arms_with_unequal_weights(self) -> None:
        counts = {"a": 190 + 210 + 180, "b": 310 + 300 + 320, "c": 500 + 490 + 500}
        result = check_srm(counts, {"a": 20, "b": 30, "c": 50})
        assert result.p_value == pytest.approx(0.42, abs=0.005)
        assert not result.flagged

    def test_weights_need_not_be_normalised(self) -> None:
        counts = {"control": 5300, "test": 4700}
        assert check_srm(counts, {"control": 50, "test": 50}).p_value == pytest.approx(
            check_srm(counts, HALVES).p_value
        )

    def test_exposure_gate(self) -> None:
        below = check_srm({"control": 99, "test": 0}, HALVES)
        assert not below.checked
        assert below.p_value is None
        assert not below.flagged
        assert below.reason is not None
        assert "99" in below.reason
        at_gate = check_srm({"control": 100, "test": 0}, HALVES)
        assert at_gate.checked
        assert at_gate.flagged

    def test_gate_and_threshold_are_parameters(self) -> None:
        counts = {"control": 980 * 7, "test": 1020 * 7}  # p ≈ 0.018
        assert check_srm(counts, HALVES, threshold=0.05).flagged
        assert not check_srm(counts, HALVES, threshold=0.01).flagged
        assert not check_srm(counts, HALVES, min_total=20_000).checked

    def test_balanced_counts(self) -> None:
        result = check_srm({"control": 5000, "test": 5000}, HALVES)
        assert result.p_value == 1.0
        assert not result.flagged

    @pytest.mark.parametrize(
        ("counts", "weights", "message"),
        [
            ({"control": 10, "test": 10}, {"control": 1.0, "other": 1.0}, "same variants"),
            ({"control": 10}, {"control": 1.0}, "two variants"),
            ({"control": 10, "test": -1}, HALVES, ">= 0"),
            ({"control": 10, "test": 10}, {"control": 1.0, "test": 0.0}, "> 0"),
        ],
    )
    def test_rejects_bad_inputs(
        self, counts: dict[str, int], weights: dict[str, float], message: str
    ) -> None:
        with pytest.raises(ValueError, match=message):
            check_srm(counts, weights)

    def test_result_is_plain_json(self) -> None:
        data = json.loads(
            json.dumps(check_srm({"control": 60, "test": 30}, HALVES).as_dict(), allow_nan=False)
        )
        assert data["checked"] is False
        assert data["counts"] == {"control": 60, "test": 30}


class TestSequential:
    def test_golden_mild_imbalance(self) -> None:
        p_values = sequential_srm_p_values([{"control": 980, "test": 1020}] * 7, HALVES)
        expected = [1, 0.941439, 0.806524, 0.658853, 0.520232, 0.400543, 0.302495]
        assert p_values == [pytest.approx(p, abs=5e-7) for p in expected]

    def test_golden_strong_imbalance(self) -> None:
        p_values = sequential_srm_p_values([{"control": 900, "test": 1100}] * 3, HALVES)
        assert p_values[0] == pytest.approx(0.206859, abs=5e-7)
        assert p_values[1] == pytest.approx(0.003898, abs=5e-7)
        assert p_values[2] == pytest.approx(1.6e-5, abs=5e-7)

    def test_golden_balanced(self) -> None:
        assert sequential_srm_p_values([{"control": 1000, "test": 1000}] * 5, HALVES) == [1.0] * 5

    def test_golden_three_arms(self) -> None:
        history = [
            {"a": 190, "b": 310, "c": 500},
            {"a": 210, "b": 300, "c": 490},
            {"a": 180, "b": 320, "c": 500},
        ]
        weights = {"a": 0.2, "b": 0.3, "c": 0.5}
        assert sequential_srm_p_values(history, weights) == [1.0, 1.0, 1.0]

    def test_running_minimum_through_previous_p(self) -> None:
        first = sequential_srm_p_value({"control": 900, "test": 1100}, HALVES)
        # Cumulative counts drift back to balance: the reported p must not rise again.
        later = sequential_srm_p_value({"control": 2100, "test": 2100}, HALVES, previous_p=first)
        assert later == first
        assert sequential_srm_p_value({"control": 2100, "test": 2100}, HALVES) == 1.0

    def test_flag_threshold(self) -> None:
        result = check_sequential_srm({"control": 2700, "test": 3300}, HALVES)
        assert result.method == "sequential"
        assert result.p_value == pytest.approx(1.6e-5, abs=5e-7)
        assert result.flagged
        assert not check_sequential_srm({"control": 1960, "test": 2040}, HALVES).flagged

    def test_concentration_changes_the_evidence(self) -> None:
        counts = {"control": 1800, "test": 2200}
        assert sequential_srm_p_value(counts, HALVES, concentration=1000) != pytest.approx(
            sequential_srm_p_value(counts, HALVES)
        )
        with pytest.raises(ValueError, match="concentration"):
            sequential_srm_p_value(counts, HALVES, concentration=0)
