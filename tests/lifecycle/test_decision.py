"""Decisions from plans, snapshots and results: guards, guardrails, SRM, end actions, evidence."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from lifecycle.actions import Action
from lifecycle.decision import Decision, comment, decide
from lifecycle.errors import InvalidArgumentsError
from lifecycle.plan import AutomationPlan, MetricRef, PlanRecord, parse_plan
from lifecycle.results import MetricResult
from lifecycle.snapshot import Experiment

NOW = datetime(2026, 3, 20, 12, tzinfo=UTC)
PRIMARY, GUARD = "m-primary", "m-guard"


def snapshot(
    *, days: float = 14, split: tuple[int, int] = (50, 50), active: bool = True, ended: bool = False
) -> Experiment:
    start = NOW - timedelta(days=days)
    return Experiment.model_validate(
        {
            "id": 42,
            "name": "Checkout",
            "start_date": start.isoformat(),
            "end_date": NOW.isoformat() if ended else None,
            "feature_flag": {
                "id": 7,
                "key": "checkout",
                "active": active,
                "filters": {
                    "multivariate": {
                        "variants": [
                            {"key": "control", "rollout_percentage": split[0]},
                            {"key": "test", "rollout_percentage": split[1]},
                        ]
                    }
                },
            },
        }
    )


def result(
    control: tuple[int, float], test: tuple[int, float], *, binary: bool = True
) -> MetricResult:
    def arm(key: str, n: int, total: float) -> dict[str, Any]:
        mean = total / n
        squares = total if binary else n * (mean * mean + 25.0)  # sd 5 per user
        return {"key": key, "number_of_samples": n, "sum": total, "sum_squares": squares}

    return MetricResult.model_validate(
        {"baseline": arm("control", *control), "variant_results": [arm("test", *test)]}
    )


def record(
    plan: dict[str, Any], *, metrics: list[MetricRef] | None = None, days: float = 14
) -> PlanRecord:
    return PlanRecord(
        project_id=1,
        experiment_id=42,
        plan=parse_plan(plan),
        started_at=NOW - timedelta(days=days),
        metrics=metrics
        if metrics is not None
        else [
            MetricRef(
                uuid=PRIMARY,
                fingerprint="f1",
                metric_type="funnel",
                goal="increase",
                name="Checkout rate",
            ),
            MetricRef(
                uuid=GUARD, fingerprint="f2", metric_type="mean", name="Revenue", role="guardrail"
            ),
        ],
    )


SEQUENTIAL = {"stopping": {"rule": "sequential"}}
WIN = result((10_000, 1_000), (10_000, 1_300))
AA = result((10_000, 1_000), (10_000, 1_010))
LOSE = result((10_000, 1_300), (10_000, 1_000))


def test_keep_running_without_an_early_stopping_rule() -> None:
    decision = decide(
        record({"end_after": "P28D"}), snapshot(), {PRIMARY: WIN}, now=NOW, trigger="monitor"
    )
    assert decision.verdict == "keep_running"
    assert decision.action is None
    assert "no early-stopping rule" in decision.reason


def test_sequential_winner_ends_early_per_end_plan() -> None:
    decision = decide(
        record({**SEQUENTIAL, "end_plan": {"action": "ship_winner"}}),
        snapshot(),
        {PRIMARY: WIN},
        now=NOW,
        trigger="monitor",
    )
    assert (decision.verdict, decision.action, decision.arguments) == (
        "ship",
        Action.SHIP_VARIANT,
        {"variant_key": "test", "conclusion": "won"},
    )
    assert decision.rule == "sequential"
    assert decision.looked
    assert set(decision.running_p) == {f"primary:{PRIMARY}:test"}
    evidence = decision.evidence["sequential"]
    assert evidence["verdict"] == "winner"
    assert evidence["variants"][0]["lower"] > 0
    assert decision.evidence["srm"]["flagged"] is False


@pytest.mark.parametrize(
    ("days", "results", "held"),
    [
        (3, {PRIMARY: WIN}, "minimum duration: running 3.0 of 7 days"),
        (14, {PRIMARY: result((80, 10), (80, 30))}, "minimum exposures: control, test below 100"),
        (14, {PRIMARY: result((1_000, 12), (1_000, 40))}, "minimum conversions: control below 20"),
    ],
)
def test_guards_hold_an_efficacy_stop(
    days: float, results: dict[str, MetricResult], held: str
) -> None:
    decision = decide(
        record(SEQUENTIAL, days=days), snapshot(days=days), results, now=NOW, trigger="monitor"
    )
    assert decision.verdict == "keep_running"
    assert decision.evidence["held_by"] == held
    assert not decision.looked


def test_sample_ratio_mismatch_holds_a_decisive_result() -> None:
    skewed = result((10_000, 1_000), (8_000, 1_040))
    decision = decide(record(SEQUENTIAL), snapshot(), {PRIMARY: skewed}, now=NOW, trigger="monitor")
    assert decision.verdict == "hold"
    assert decision.rule == "srm"
    assert decision.action is None
    assert "expctl.experiment.held" in decision.events
    ended = decide(
        record({"end_plan": {"action": "ship_winner"}}),
        snapshot(),
        {PRIMARY: skewed},
        now=NOW,
        trigger="planned_end",
    )
    assert ended.verdict == "hold"


def test_planned_split_decides_srm() -> None:
    lopsided = result((2_000, 200), (8_000, 800))
    decision = decide(
        record(SEQUENTIAL),
        snapshot(split=(20, 80)),
        {PRIMARY: lopsided},
        now=NOW,
        trigger="monitor",
    )
    assert decision.evidence["srm"]["flagged"] is False


def test_running_minimum_p_is_carried_between_looks() -> None:
    first = decide(record(SEQUENTIAL), snapshot(), {PRIMARY: WIN}, now=NOW, trigger="monitor")
    later = record(SEQUENTIAL)
    later.running_p = dict(first.running_p)
    weaker = result((10_000, 1_000), (10_000, 1_020))
    decision = decide(later, snapshot(), {PRIMARY: weaker}, now=NOW, trigger="monitor")
    assert decision.verdict == "end", "a p-value once below α stays below α"


@pytest.mark.parametrize(
    ("end_plan", "results", "verdict", "arguments"),
    [
        ({"action": "end"}, WIN, "end", {"conclusion": "won"}),
        ({"action": "end"}, AA, "end", {"conclusion": "inconclusive"}),
        ({"action": "end"}, LOSE, "end", {"conclusion": "lost"}),
        ({"action": "ship_winner"}, WIN, "ship", {"variant_key": "test", "conclusion": "won"}),
        ({"action": "ship_winner"}, AA, "end", {"conclusion": "inconclusive"}),
        (
            {"action": "ship_winner", "fallback": "ship_control"},
            AA,
            "ship",
            {"variant_key": "control", "conclusion": "inconclusive"},
        ),
        (
            {"action": "ship_winner", "fallback": "ship_control"},
            LOSE,
            "ship",
            {"variant_key": "control", "conclusion": "lost"},
        ),
        (
            {"action": "ship_variant", "variant_key": "test"},
            LOSE,
            "ship",
            {"variant_key": "test", "conclusion": "lost"},
        ),
        (
            {"action": "ship_variant", "variant_key": "test", "release_to_everyone": True},
            WIN,
            "ship",
            {"variant_key": "test", "conclusion": "won", "release_to_everyone": True},
        ),
        ({"action": "notify"}, WIN, "notify", {}),
    ],
)
def test_planned_end_carries_out_the_end_plan(
    end_plan: dict[str, Any], results: MetricResult, verdict: str, arguments: dict[str, Any]
) -> None:
    decision = decide(
        record({"end_plan": end_plan}),
        snapshot(),
        {PRIMARY: results},
        now=NOW,
        trigger="planned_end",
    )
    assert decision.verdict == verdict
    assert decision.arguments == arguments
    assert decision.evidence["final_test"].startswith("fixed-horizon")


def test_planned_end_without_results_ends_inconclusive() -> None:
    decision = decide(
        record({"end_plan": {"action": "ship_winner"}}),
        snapshot(),
        {},
        now=NOW,
        trigger="planned_end",
    )
    assert (decision.verdict, decision.arguments) == ("end", {"conclusion": "inconclusive"})
    assert decision.evidence["held_by"] == "no results for the primary metric"


def test_guardrail_trips_on_harm_and_names_it() -> None:
    guardrail = {
        "metric_uuid": GUARD,
        "bad_direction": "decrease",
        "threshold": 0.0,
        "action": "pause",
    }
    revenue = result((5_000, 50_000.0), (5_000, 40_000.0), binary=False)
    decision = decide(
        record({"guardrails": [guardrail]}),
        snapshot(),
        {PRIMARY: AA, GUARD: revenue},
        now=NOW,
        trigger="monitor",
    )
    assert (decision.verdict, decision.rule, decision.action) == (
        "pause",
        "guardrail",
        Action.PAUSE,
    )
    assert "Revenue" in decision.reason
    assert "expctl.experiment.guardrail_tripped" in decision.events
    entry = decision.evidence["guardrails"][GUARD]["variants"]["test"]
    assert entry["tripped"] is True
    assert entry["alpha"] == 0.05


def test_guardrail_tolerance_is_relative_to_control() -> None:
    revenue = result((5_000, 50_000.0), (5_000, 48_000.0), binary=False)
    loose = {"metric_uuid": GUARD, "bad_direction": "decrease", "threshold": 0.2}
    decision = decide(
        record({"guardrails": [loose]}),
        snapshot(),
        {PRIMARY: AA, GUARD: revenue},
        now=NOW,
        trigger="monitor",
    )
    assert decision.rule != "guardrail"
    assert decision.evidence["guardrails"][GUARD]["tolerance"] == pytest.approx(2.0)


def test_guardrail_ship_control_becomes_pause_while_srm_is_flagged() -> None:
    guardrail = {"metric_uuid": GUARD, "bad_direction": "decrease", "action": "ship_control"}
    revenue = result((5_000, 50_000.0), (3_000, 20_000.0), binary=False)
    skewed = result((5_000, 500), (3_000, 300))
    decision = decide(
        record({"guardrails": [guardrail]}),
        snapshot(),
        {PRIMARY: skewed, GUARD: revenue},
        now=NOW,
        trigger="monitor",
    )
    assert decision.action is Action.PAUSE
    assert "sample ratio is off" in decision.reason


def test_guardrail_alpha_is_split_between_guardrails() -> None:
    plan = {
        "guardrails": [
            {"metric_uuid": GUARD, "bad_direction": "decrease"},
            {"metric_uuid": PRIMARY, "bad_direction": "decrease"},
        ]
    }
    decision = decide(
        record(plan),
        snapshot(),
        {PRIMARY: AA, GUARD: result((5_000, 50_000.0), (5_000, 50_100.0), binary=False)},
        now=NOW,
        trigger="monitor",
    )
    assert decision.evidence["guardrails"][GUARD]["alpha"] == pytest.approx(0.025)


def test_ended_paused_and_draft_experiments_are_left_alone() -> None:
    assert (
        decide(
            record(SEQUENTIAL), snapshot(ended=True), {PRIMARY: WIN}, now=NOW, trigger="monitor"
        ).verdict
        == "not_applicable"
    )
    assert (
        decide(
            record(SEQUENTIAL), snapshot(active=False), {PRIMARY: WIN}, now=NOW, trigger="monitor"
        ).verdict
        == "not_applicable"
    )
    paused_end = decide(
        record({}), snapshot(active=False), {PRIMARY: WIN}, now=NOW, trigger="planned_end"
    )
    assert paused_end.verdict == "end", "the planned end applies to a paused experiment too"


def test_decrease_goal_flips_better_and_worse() -> None:
    plan = {**SEQUENTIAL, "goal": "decrease", "end_plan": {"action": "ship_winner"}}
    decision = decide(record(plan), snapshot(), {PRIMARY: LOSE}, now=NOW, trigger="monitor")
    assert decision.arguments == {"variant_key": "test", "conclusion": "won"}


def test_comment_is_the_evidence_in_words_and_fits_posthog() -> None:
    decision = decide(
        record({"end_plan": {"action": "ship_winner", "comment_template": "[{rule}] {summary}"}}),
        snapshot(),
        {PRIMARY: WIN},
        now=NOW,
        trigger="planned_end",
    )
    text = comment(decision, "[{rule}] {summary}")
    assert text.startswith(
        "[planned_end] expctl (planned_end, rule planned_end): test beats control"
    )
    assert "fixed horizon" in text
    assert "Sample ratio p" in text
    assert len(comment(decision, "{summary}" * 100)) == 4000


def test_decision_is_json_ready() -> None:
    import json

    decision = decide(record(SEQUENTIAL), snapshot(), {PRIMARY: WIN}, now=NOW, trigger="evaluate")
    assert isinstance(decision, Decision)
    assert json.loads(json.dumps(decision.as_dict()))["experiment_id"] == 42


@pytest.mark.parametrize(
    ("plan", "field"),
    [
        ({"end_after": "-P1D"}, None),
        ({"stopping": {"alpha": 0.7}}, "stopping.alpha"),
        ({"stopping": {"rule": "bayesian"}}, "stopping.rule"),
        ({"end_plan": {"action": "end", "variant_key": "test"}}, "end_plan"),
        ({"end_plan": {"comment_template": "{nope}"}}, "end_plan"),
        ({"guardrails": [{"metric_uuid": "a", "bad_direction": "increase"}] * 2}, None),
        ({"planned_sample": 10}, "planned_sample"),
        ({"launch_at": "2026-01-01T00:00:00"}, "launch_at"),
    ],
)
def test_bad_plans_name_the_field(plan: dict[str, Any], field: str | None) -> None:
    with pytest.raises(InvalidArgumentsError) as raised:
        parse_plan(plan)
    assert raised.value.field == field


def test_plan_defaults_are_the_references() -> None:
    plan = AutomationPlan()
    assert plan.tuning_n == 5000
    assert plan.stopping.alpha == 0.05
    assert plan.stopping.min_duration == timedelta(days=7)
    assert plan.stopping.min_exposures_per_variant == 100
    assert plan.stopping.min_conversions_per_variant == 20
    assert plan.stopping.srm_threshold == 0.001
    assert AutomationPlan(planned_sample=20_000).tuning_n == 20_000
