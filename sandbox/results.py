"""The per-metric result object (``ExperimentQueryResponse``, §8.4) and its text summary.

:func:`build_query_result` turns per-variant cumulative totals into the dict PostHog stores per
timeseries day: ``baseline`` with ``validation_failures``, ``variant_results`` (test variants in
flag order) carrying ``method`` and the Bayesian or frequentist fields, legacy keys ``null``.
:func:`format_timeseries` is the ``formatted_results`` text of ``ExperimentTimeseriesFormatter``.
"""

from __future__ import annotations

from typing import Any

from sandbox.simulator import Totals
from sandbox.statistics import (
    DifferenceType,
    Sample,
    StatisticKind,
    compare_bayesian,
    compare_frequentist,
    validation_failures,
)

SIMULATED_SQL = "SELECT 1 -- computed by the expctl sandbox from simulated traffic"
NO_DATA_MARKER = "—"


def statistic_kind(metric: dict[str, Any]) -> StatisticKind:
    """Which sufficient statistic PostHog uses for the metric type."""
    metric_type = metric.get("metric_type")
    if metric_type == "funnel":
        return "proportion"
    if metric_type in ("ratio", "retention"):
        return "ratio"
    return "mean"


def _number(value: Any, default: float) -> float:
    if isinstance(value, bool):
        return default
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return default
    return default


def _section(stats_config: Any, name: str) -> dict[str, Any]:
    if isinstance(stats_config, dict) and isinstance(stats_config.get(name), dict):
        return dict(stats_config[name])
    return {}


def method_of(stats_config: Any) -> str:
    """``bayesian`` unless ``stats_config.method`` is ``frequentist``."""
    if isinstance(stats_config, dict) and stats_config.get("method") == "frequentist":
        return "frequentist"
    return "bayesian"


def ci_level_of(stats_config: Any) -> float:
    """``stats_config.bayesian.ci_level``; values outside (0, 1) fall back to 0.95."""
    level = _number(_section(stats_config, "bayesian").get("ci_level"), 0.95)
    return level if 0 < level < 1 else 0.95


def alpha_of(stats_config: Any) -> float:
    """``stats_config.frequentist.alpha``; values outside (0, 1) fall back to 0.05."""
    alpha = _number(_section(stats_config, "frequentist").get("alpha"), 0.05)
    return alpha if 0 < alpha < 1 else 0.05


def difference_of(stats_config: Any, method: str) -> DifferenceType:
    """The enum name ``ABSOLUTE`` selects absolute differences; anything else is RELATIVE."""
    value = _section(stats_config, method).get("difference_type")
    return "ABSOLUTE" if value == "ABSOLUTE" else "RELATIVE"


def baseline_key_of(stats_config: Any, variant_keys: list[str]) -> str:
    """``stats_config.baseline_variant_key``, default ``control``, else the first variant."""
    key = stats_config.get("baseline_variant_key") if isinstance(stats_config, dict) else None
    key = key if isinstance(key, str) and key else "control"
    if key not in variant_keys and variant_keys:
        return variant_keys[0]
    return key


def _sample(kind: StatisticKind, totals: Totals) -> Sample:
    if kind == "ratio":
        return Sample(
            n=totals.number_of_samples,
            sum=totals.sum,
            sum_squares=totals.sum_squares,
            denominator_sum=float(totals.number_of_samples),
            denominator_sum_squares=float(totals.number_of_samples),
            numerator_denominator_sum_product=totals.sum,
        )
    return Sample(n=totals.number_of_samples, sum=totals.sum, sum_squares=totals.sum_squares)


def _stats_entry(key: str, sample: Sample, totals: Totals, failures: list[str]) -> dict[str, Any]:
    return {
        "key": key,
        "number_of_samples": sample.n,
        "sum": float(sample.sum),
        "sum_squares": float(sample.sum_squares),
        "step_counts": list(totals.step_counts) if totals.step_counts is not None else None,
        "step_sessions": None,
        "denominator_sum": sample.denominator_sum,
        "denominator_sum_squares": sample.denominator_sum_squares,
        "numerator_denominator_sum_product": sample.numerator_denominator_sum_product,
        "validation_failures": failures,
    }


def build_query_result(
    metric: dict[str, Any],
    totals: dict[str, Totals],
    variant_keys: list[str],
    stats_config: Any,
    excluded_variants: list[str] | None = None,
) -> dict[str, Any]:
    """The ``ExperimentQueryResponse`` for one metric from per-variant totals."""
    kind = statistic_kind(metric)
    needs_conversions = metric.get("metric_type") in ("funnel", "retention")
    keys = [key for key in variant_keys if key not in (excluded_variants or [])]
    baseline_key = baseline_key_of(stats_config, keys)
    empty = Totals(number_of_samples=0, sum=0.0, sum_squares=0.0)
    method = method_of(stats_config)
    difference = difference_of(stats_config, method)

    baseline_totals = totals.get(baseline_key, empty)
    baseline_sample = _sample(kind, baseline_totals)
    baseline_failures = validation_failures(
        baseline_sample, needs_conversions=needs_conversions, is_baseline=True
    )
    variant_results = []
    for key in keys:
        if key == baseline_key:
            continue
        variant_totals = totals.get(key, empty)
        if needs_conversions and variant_totals.step_counts is None and baseline_totals.step_counts:
            variant_totals = Totals(0, 0.0, 0.0, [0] * len(baseline_totals.step_counts))
        sample = _sample(kind, variant_totals)
        failures = validation_failures(
            sample, needs_conversions=needs_conversions, is_baseline=False
        )
        entry = _stats_entry(key, sample, variant_totals, failures)
        entry = {"key": key, "method": method, **{k: v for k, v in entry.items() if k != "key"}}
        ready = not failures and not baseline_failures
        if method == "frequentist":
            frequentist = (
                compare_frequentist(
                    sample,
                    baseline_sample,
                    kind,
                    alpha=alpha_of(stats_config),
                    difference=difference,
                )
                if ready
                else None
            )
            entry["p_value"] = frequentist.p_value if frequentist else None
            entry["confidence_interval"] = (
                list(frequentist.confidence_interval) if frequentist else None
            )
            entry["significant"] = frequentist.significant if frequentist else None
        else:
            bayesian = (
                compare_bayesian(
                    sample,
                    baseline_sample,
                    kind,
                    ci_level=ci_level_of(stats_config),
                    difference=difference,
                )
                if ready
                else None
            )
            entry["chance_to_win"] = bayesian.chance_to_win if bayesian else None
            entry["credible_interval"] = list(bayesian.credible_interval) if bayesian else None
            entry["significant"] = bayesian.significant if bayesian else None
        variant_results.append(entry)
    return {
        "kind": "ExperimentQuery",
        "baseline": _stats_entry(baseline_key, baseline_sample, baseline_totals, baseline_failures),
        "variant_results": variant_results,
        "breakdown_results": None,
        "clickhouse_sql": SIMULATED_SQL,
        "hogql": SIMULATED_SQL,
        "is_precomputed": False,
        "insight": None,
        "metric": None,
        "variants": None,
        "probability": None,
        "significant": None,
        "significance_code": None,
        "stats_version": None,
        "p_value": None,
        "credible_intervals": None,
    }


def _format_number(value: Any) -> str:
    if value is None:
        return "N/A"
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    if number.is_integer() and abs(number) < 1e15:
        return str(int(number))
    return f"{number:.5g}"


def _format_interval(interval: Any) -> str:
    if not interval or len(interval) < 2:
        return "N/A"
    return f"{_format_number(interval[0])}..{_format_number(interval[1])}"


def _mean(total: Any, samples: Any) -> float | None:
    if total is None or not samples:
        return None
    return float(total) / float(samples)


def format_timeseries(response: dict[str, Any]) -> str:
    """``ExperimentTimeseriesFormatter.format``: a pipe-delimited table, one row per day."""
    timeseries = response.get("timeseries") or {}
    if not timeseries:
        return "No timeseries data."
    sample = next((value for value in timeseries.values() if isinstance(value, dict)), None)
    if sample is None:
        return f"No completed timeseries data (status: {response.get('status') or 'pending'})."
    variants = sample.get("variant_results") or []
    method = next((str(item["method"]) for item in variants if item.get("method")), "unknown")
    keys: list[str] = []
    for item in variants:
        if isinstance(item.get("key"), str) and item["key"] not in keys:
            keys.append(item["key"])
    lines = [f"Method: {method}", f"Variants: control (baseline), {', '.join(keys) or 'none'}"]
    if response.get("status"):
        lines.append(f"Status: {response['status']}")
    effect = {"bayesian": "chance_to_win", "frequentist": "p_value"}.get(method, "effect")
    header = ["Date", "control n", "control mean"]
    for key in keys:
        header += [f"{key} n", f"{key} mean", f"{key} interval", f"{key} {effect}"]
        header.append(f"{key} significant")
    rows = [header]
    for day in sorted(timeseries):
        value = timeseries[day]
        if not value:
            rows.append([day, NO_DATA_MARKER])
            continue
        baseline = value.get("baseline") or {}
        row = [
            day,
            _format_number(baseline.get("number_of_samples")),
            _format_number(_mean(baseline.get("sum"), baseline.get("number_of_samples"))),
        ]
        by_key = {
            item.get("key"): item
            for item in value.get("variant_results") or []
            if isinstance(item, dict)
        }
        for key in keys:
            item = by_key.get(key) or {}
            interval = item.get("credible_interval") or item.get("confidence_interval")
            score = item.get("chance_to_win") if method == "bayesian" else item.get("p_value")
            significant = item.get("significant")
            row += [
                _format_number(item.get("number_of_samples")),
                _format_number(_mean(item.get("sum"), item.get("number_of_samples"))),
                _format_interval(interval),
                _format_number(score),
                "N/A" if significant is None else ("true" if significant else "false"),
            ]
        rows.append(row)
    return "\n".join(lines) + "\n" + "\n".join("|".join(row) for row in rows)
