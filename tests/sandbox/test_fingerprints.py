"""Metric fingerprints (§8.2)."""

from __future__ import annotations

from datetime import UTC, datetime

from sandbox.metrics import compute_fingerprint

WORKED_EXAMPLE = {
    "kind": "ExperimentMetric",
    "metric_type": "funnel",
    "uuid": "8d2c6a0e-3f1b-4a57-9c2e-6b0f4e1d2a93",
    "name": "Checkout conversion",
    "goal": "increase",
    "series": [
        {"kind": "EventsNode", "event": "$pageview", "name": "$pageview"},
        {"kind": "EventsNode", "event": "purchase_completed", "name": "purchase_completed"},
    ],
    "conversion_window": 14,
    "conversion_window_unit": "day",
    "funnel_order_type": "ordered",
}
START = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
CRITERIA = {"filterTestAccounts": True}


def test_worked_example_digest() -> None:
    assert (
        compute_fingerprint(WORKED_EXAMPLE, START, "bayesian", CRITERIA)
        == "b65fa3bbb3d59d0ada80fc5863618e6e58b93dbfbc3f01908c995ad53d3813bb"
    )


def test_string_start_date_passes_through() -> None:
    assert compute_fingerprint(
        WORKED_EXAMPLE, "2025-03-03T09:00:00+00:00", "bayesian", CRITERIA
    ) == compute_fingerprint(WORKED_EXAMPLE, START, "bayesian", CRITERIA)


def test_what_changes_the_fingerprint() -> None:
    base = compute_fingerprint(WORKED_EXAMPLE, START, "bayesian", CRITERIA)
    renamed = {**WORKED_EXAMPLE, "name": "Another name", "uuid": "x", "fingerprint": "y"}
    assert compute_fingerprint(renamed, START, "bayesian", CRITERIA) == base
    assert (
        compute_fingerprint({**WORKED_EXAMPLE, "goal": None}, START, "bayesian", CRITERIA) != base
    )
    assert compute_fingerprint(WORKED_EXAMPLE, START, "frequentist", CRITERIA) != base
    assert compute_fingerprint(WORKED_EXAMPLE, None, "bayesian", CRITERIA) != base
    assert compute_fingerprint(WORKED_EXAMPLE, START, None, CRITERIA) == base
    assert compute_fingerprint(WORKED_EXAMPLE, START, "bayesian", {}) != base
    matured = compute_fingerprint(
        WORKED_EXAMPLE, START, "bayesian", CRITERIA, only_count_matured_users=True
    )
    assert matured != base


def test_breakdown_filter_normalisation_and_exclusions() -> None:
    base = compute_fingerprint(WORKED_EXAMPLE, START, "bayesian", CRITERIA)
    for empty in (None, {}, {"breakdowns": []}):
        metric = {**WORKED_EXAMPLE, "breakdownFilter": empty}
        assert compute_fingerprint(metric, START, "bayesian", CRITERIA) == base
    excluded_a = compute_fingerprint(
        WORKED_EXAMPLE, START, "bayesian", CRITERIA, excluded_variants=["b", "a", "a"]
    )
    excluded_b = compute_fingerprint(
        WORKED_EXAMPLE, START, "bayesian", CRITERIA, excluded_variants=["a", "b"]
    )
    assert excluded_a == excluded_b != base
