"""Deciding what to do with a running experiment, from its plan and its latest results.

Pure and deterministic: the same plan, snapshot, results and time give the same decision. The
monitor asks :func:`decide` with ``trigger="monitor"`` (guardrails first, then an early stop on
the sequential rule once its guards pass); the planned end asks with ``trigger="planned_end"``
(a final verdict carried out per the plan's end action). Every decision carries its evidence.

Statistical choices (sequential-testing.md): decisions use the absolute difference in means;
guardrails are one-sided confidence sequences at α_g/m; efficacy stops wait for the minimum
duration, exposures, conversions (binary metrics) and a healthy sample-ratio check; while the
sample ratio is off, nothing ships or ends automatically. A plan without the sequential rule
takes exactly one look, at its planned end, so a fixed-horizon test is valid there.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from lifecycle.actions import Action
from lifecycle.plan import EndAction, Fallback, MetricRef, PlanRecord
from lifecycle.results import MetricResult
from lifecycle.sequential import (
    ArmStats,
    SequentialEvidence,
    absolute_difference,
    confidence_sequence,
    conversion_count,
    evaluate_guardrail,
    evaluate_sequential,
    fixed_horizon_critical_value,
    fixed_horizon_p_value,
)
from lifecycle.snapshot import Experiment
from lifecycle.srm import SrmResult, check_srm
from lifecycle.status import ExperimentStatus, status_of

Trigger = Literal["monitor", "planned_end", "evaluate"]
Verdict = Literal["keep_running", "end", "ship", "pause", "notify", "hold", "not_applicable"]

EVENT_PREFIX = "expctl.experiment."


@dataclass(frozen=True)
class Decision:
    """What to do with one experiment now, why, and the evidence."""

    project_id: int
    experiment_id: int
    experiment_name: str
    trigger: Trigger
    at: datetime
    verdict: Verdict
    rule: str
    """The rule that decided: guardrail, sequential, planned_end, srm, min_duration, ..."""
    reason: str
    action: Action | None = None
    arguments: dict[str, Any] = field(default_factory=dict)
    conclusion: str | None = None
    evidence: dict[str, Any] = field(default_factory=dict)
    running_p: dict[str, float] = field(default_factory=dict)
    """Updated running-minimum p-values to persist (empty when nothing was evaluated)."""
    looked: bool = False
    """The sequential rule was evaluated at this look (counts towards ``looks``)."""

    @property
    def acts(self) -> bool:
        return self.action is not None

    @property
    def events(self) -> list[str]:
        """Prefect event names this decision emits (the action it causes emits its own)."""
        names = ["decided"]
        if self.rule == "guardrail":
            names.append("guardrail_tripped")
        if self.verdict == "hold":
            names.append("held")
        return [EVENT_PREFIX + name for name in names]

    def as_dict(self) -> dict[str, Any]:
        return {
            "project_id": self.project_id,
            "experiment_id": self.experiment_id,
            "experiment_name": self.experiment_name,
            "trigger": self.trigger,
            "at": self.at.isoformat(),
            "verdict": self.verdict,
            "rule": self.rule,
            "reason": self.reason,
            "action": self.action.value if self.action else None,
            "arguments": self.arguments,
            "conclusion": self.conclusion,
            "events": self.events,
            "evidence": self.evidence,
        }


def arms_of(result: MetricResult | None) -> list[ArmStats]:
    """Control (PostHog's baseline) first, then the test variants."""
    if result is None:
        return []
    return [
        ArmStats(
            key=v.key,
            n=int(v.number_of_samples),
            sum=float(v.sum),
            sum_squares=float(v.sum_squares),
        )
        for v in result.arms
    ]


def decide(
    record: PlanRecord,
    experiment: Experiment,
    results: Mapping[str, MetricResult | None],
    *,
    now: datetime,
    trigger: Trigger,
    history: Mapping[str, Sequence[tuple[str, MetricResult]]] | None = None,
) -> Decision:
    """The decision for one experiment; ``results`` maps metric uuid → latest cumulative result.

    ``history`` (metric uuid → daily cumulative results) adds the primary metric's trajectory to
    the evidence, for the results chart.
    """
    status = status_of(experiment)
    base = _Base(record, experiment, now, trigger)
    if status in (ExperimentStatus.ENDED, ExperimentStatus.ARCHIVED):
        return base.make("not_applicable", "status", f"the experiment has already ended ({status})")
    if status is ExperimentStatus.DRAFT:
        return base.make("not_applicable", "status", "the experiment has not been launched")
    primary = _primary(record)
    evidence: dict[str, Any] = {"metrics": {m.uuid: m.name for m in record.metrics}}
    if primary is not None and history and history.get(primary.uuid):
        evidence["trajectory"] = trajectory(history[primary.uuid], record, primary)
    srm = _srm(record, experiment, results, primary)
    evidence["srm"] = srm.as_dict() if srm else None

    if status is ExperimentStatus.PAUSED and trigger == "monitor":
        return base.make(
            "not_applicable", "status", "the experiment is paused: the monitor waits", evidence
        )

    tripped = _guardrails(record, results, evidence)
    if tripped is not None:
        return _trip(base, record, tripped, srm, evidence)

    if trigger == "planned_end" or (trigger == "evaluate" and _due(record, now)):
        return _conclude(base, record, experiment, results, primary, srm, evidence)
    return _monitor(base, record, experiment, results, primary, srm, evidence)


@dataclass(frozen=True)
class _Base:
    record: PlanRecord
    experiment: Experiment
    now: datetime
    trigger: Trigger

    def make(
        self,
        verdict: Verdict,
        rule: str,
        reason: str,
        evidence: dict[str, Any] | None = None,
        *,
        action: Action | None = None,
        arguments: dict[str, Any] | None = None,
        conclusion: str | None = None,
        running_p: dict[str, float] | None = None,
        looked: bool = False,
    ) -> Decision:
        return Decision(
            project_id=self.record.project_id,
            experiment_id=self.record.experiment_id,
            experiment_name=self.experiment.name,
            trigger=self.trigger,
            at=self.now,
            verdict=verdict,
            rule=rule,
            reason=reason,
            action=action,
            arguments=arguments or {},
            conclusion=conclusion,
            evidence=evidence or {},
            running_p=running_p or {},
            looked=looked,
        )


def _primary(record: PlanRecord) -> MetricRef | None:
    wanted = record.plan.primary_metric_uuid
    primaries = [m for m in record.metrics if m.role == "primary"]
    if wanted:
        return record.metric(wanted)
    return primaries[0] if primaries else None


def _goal(record: PlanRecord, primary: MetricRef) -> Literal["increase", "decrease"]:
    goal = record.plan.goal or primary.goal
    return "decrease" if goal == "decrease" else "increase"


def _due(record: PlanRecord, now: datetime) -> bool:
    due = record.resolve_end()
    return due is not None and now >= due


def _srm(
    record: PlanRecord,
    experiment: Experiment,
    results: Mapping[str, MetricResult | None],
    primary: MetricRef | None,
) -> SrmResult | None:
    uuids = ([primary.uuid] if primary else []) + [m.uuid for m in record.metrics]
    arms = next((arms_of(results.get(u)) for u in uuids if arms_of(results.get(u))), [])
    if not arms:
        return None
    weights = _planned_split(experiment, [a.key for a in arms])
    return check_srm(
        {a.key: a.n for a in arms}, weights, threshold=record.plan.stopping.srm_threshold
    )


def _planned_split(experiment: Experiment, keys: Sequence[str]) -> dict[str, float]:
    flag = experiment.feature_flag
    rollout = {v.key: v.rollout_percentage for v in (flag.variants if flag else [])}
    weights = {key: float(rollout.get(key) or 0.0) for key in keys}
    if sum(weights.values()) <= 0:
        return dict.fromkeys(keys, 1.0)
    return weights


def _guardrails(
    record: PlanRecord, results: Mapping[str, MetricResult | None], evidence: dict[str, Any]
) -> tuple[str, str, str, dict[str, Any]] | None:
    """(metric uuid, control, variant, evidence) of the first tripped guardrail; records all."""
    guardrails = record.plan.guardrails
    if not guardrails:
        return None
    alpha = record.plan.stopping.alpha / len(guardrails)
    report: dict[str, Any] = {}
    evidence["guardrails"] = report
    tripped: tuple[str, str, str, dict[str, Any]] | None = None
    for guardrail in guardrails:
        metric = record.metric(guardrail.metric_uuid)
        arms = arms_of(results.get(guardrail.metric_uuid))
        entry: dict[str, Any] = {"bad_direction": guardrail.bad_direction, "alpha": alpha}
        report[guardrail.metric_uuid] = entry
        if len(arms) < 2:
            entry["held"] = "no results for this metric yet"
            continue
        short = [a.key for a in arms if a.n < guardrail.min_exposures_per_variant]
        if short:
            entry["held"] = (
                f"waiting for {guardrail.min_exposures_per_variant} exposures per variant "
                f"({', '.join(short)} below)"
            )
            continue
        control, variants = arms[0], arms[1:]
        binary = metric.binary if metric else False
        control_mean = abs(control.sum / control.n) if control.n else 0.0
        tolerance = guardrail.threshold * control_mean
        entry["tolerance"] = tolerance
        variants_report: dict[str, Any] = {}
        entry["variants"] = variants_report
        for variant in variants:
            key = f"guardrail:{guardrail.metric_uuid}:{variant.key}"
            result = evaluate_guardrail(
                control,
                variant,
                alpha=alpha,
                tuning_n=record.plan.tuning_n,
                harmful=guardrail.bad_direction,
                tolerance=tolerance,
                binary=binary,
                previous_p=record.running_p.get(key),
            )
            variants_report[variant.key] = result.as_dict()
            if result.tripped and tripped is None:
                tripped = (guardrail.metric_uuid, control.key, variant.key, result.as_dict())
    return tripped


def _trip(
    base: _Base,
    record: PlanRecord,
    tripped: tuple[str, str, str, dict[str, Any]],
    srm: SrmResult | None,
    evidence: dict[str, Any],
) -> Decision:
    uuid, control, variant, result = tripped
    guardrail = next(g for g in record.plan.guardrails if g.metric_uuid == uuid)
    metric = record.metric(uuid)
    name = (metric.name if metric else None) or uuid
    lift = result.get("relative_lift")
    moved = f" ({lift:+.1%} vs control)" if isinstance(lift, float) else ""
    reason = (
        f"guardrail {name!r} tripped: {variant} makes it {guardrail.bad_direction}{moved}, "
        f"one-sided bound {result['bound']:.4g} beyond {result['threshold']:.4g} at α {result['alpha']:.3g}"
    )
    evidence["tripped"] = {"metric_uuid": uuid, "variant": variant}
    running_p = {f"guardrail:{uuid}:{variant}": float(result["p_value"])}
    if guardrail.action == "ship_control" and not (srm and srm.flagged):
        return base.make(
            "ship",
            "guardrail",
            reason + "; shipping control",
            evidence,
            action=Action.SHIP_VARIANT,
            arguments={"variant_key": control, "conclusion": "stopped_early"},
            conclusion="stopped_early",
            running_p=running_p,
        )
    if guardrail.action == "ship_control":
        reason += "; pausing instead of shipping control because the sample ratio is off"
    return base.make(
        "pause",
        "guardrail",
        reason + "; pausing",
        evidence,
        action=Action.PAUSE,
        running_p=running_p,
    )


def _data_guards(
    record: PlanRecord,
    experiment: Experiment,
    arms: list[ArmStats],
    primary: MetricRef,
    now: datetime,
) -> str | None:
    """Why an efficacy stop must wait, or None when every guard passes."""
    rules = record.plan.stopping
    started = record.started_at or experiment.start_date
    if started is not None and now - started < rules.min_duration:
        days = rules.min_duration.total_seconds() / 86400
        return f"minimum duration: running {(now - started).total_seconds() / 86400:.1f} of {days:g} days"
    short = [a.key for a in arms if a.n < rules.min_exposures_per_variant]
    if short:
        return f"minimum exposures: {', '.join(short)} below {rules.min_exposures_per_variant}"
    if primary.binary:
        few = [a.key for a in arms if conversion_count(a) < rules.min_conversions_per_variant]
        if few:
            return (
                f"minimum conversions: {', '.join(few)} below {rules.min_conversions_per_variant}"
            )
    return None


def _monitor(
    base: _Base,
    record: PlanRecord,
    experiment: Experiment,
    results: Mapping[str, MetricResult | None],
    primary: MetricRef | None,
    srm: SrmResult | None,
    evidence: dict[str, Any],
) -> Decision:
    rules = record.plan.stopping
    if rules.rule != "sequential":
        due = record.resolve_end()
        when = f" until {due.isoformat()}" if due else ""
        return base.make(
            "keep_running",
            "plan",
            f"keep running{when}: the plan has no early-stopping rule",
            evidence,
        )
    if primary is None:
        return base.make(
            "keep_running",
            "no_metric",
            "keep running: the experiment has no primary metric",
            evidence,
        )
    arms = arms_of(results.get(primary.uuid))
    if len(arms) < 2:
        return base.make(
            "keep_running",
            "no_data",
            "keep running: no results for the primary metric yet",
            evidence,
        )
    held = _data_guards(record, experiment, arms, primary, base.now)
    if held is not None:
        evidence["held_by"] = held
        return base.make("keep_running", "guard", f"keep running, because of the {held}", evidence)
    sequential = _sequential(record, primary, arms, final=False)
    evidence["sequential"] = sequential.as_dict()
    evidence["looks"] = record.looks + 1
    running_p = {f"primary:{primary.uuid}:{k}": v for k, v in sequential.running_p_values().items()}
    if srm is not None and srm.flagged and sequential.verdict in ("winner", "loser"):
        evidence["held_by"] = "srm"
        return base.make(
            "hold",
            "srm",
            f"held: sample ratio mismatch (p {srm.p_value:.2g}) — the sequential test is decisive "
            f"({sequential.verdict_reason}) but nothing ships or ends while the split is off",
            evidence,
            running_p=running_p,
            looked=True,
        )
    decisive = sequential.verdict == "winner" or (
        sequential.verdict == "loser" and len(sequential.losers) == len(arms) - 1
    )
    if not decisive:
        return base.make(
            "keep_running",
            "sequential",
            f"keep running: {sequential.verdict_reason} (look {record.looks + 1})",
            evidence,
            running_p=running_p,
            looked=True,
        )
    return _carry_out(
        base,
        record,
        sequential.winner,
        set(sequential.losers),
        len(arms) - 1,
        "sequential",
        evidence,
        running_p,
        early=True,
    )


def _conclude(
    base: _Base,
    record: PlanRecord,
    experiment: Experiment,
    results: Mapping[str, MetricResult | None],
    primary: MetricRef | None,
    srm: SrmResult | None,
    evidence: dict[str, Any],
) -> Decision:
    if srm is not None and srm.flagged:
        return base.make(
            "hold",
            "srm",
            f"held: sample ratio mismatch (p {srm.p_value:.2g}); the planned end does not ship or "
            "end while the split is off — investigate, then end it by hand",
            evidence,
        )
    rules = record.plan.stopping
    arms = arms_of(results.get(primary.uuid)) if primary else []
    if primary is None or len(arms) < 2:
        evidence["held_by"] = "no results for the primary metric"
        return _carry_out(base, record, None, set(), 0, "planned_end", evidence, {}, early=False)
    if rules.rule == "sequential":
        final = _sequential(record, primary, arms, final=True)
        evidence["sequential"] = final.as_dict()
        winner, losers = final.winner, set(final.losers)
        evidence["final_test"] = (
            "hybrid (α/2 sequential + α/2 fixed)" if rules.hybrid else "confidence sequence"
        )
    else:
        fixed = _fixed_horizon(
            arms, alpha=rules.alpha, goal=_goal(record, primary), binary=primary.binary
        )
        evidence["fixed_horizon"] = fixed
        winner, losers = fixed["winner"], set(fixed["losers"])
        evidence["final_test"] = "fixed-horizon z-test (one look, at the planned end)"
    evidence["looks"] = record.looks
    return _carry_out(
        base, record, winner, losers, len(arms) - 1, "planned_end", evidence, {}, early=False
    )


def _sequential(
    record: PlanRecord, primary: MetricRef, arms: list[ArmStats], *, final: bool
) -> SequentialEvidence:
    """The always-valid test of the primary metric at this look (the plan's last look if ``final``)."""
    rules = record.plan.stopping
    prefix = f"primary:{primary.uuid}:"
    hybrid = rules.hybrid and (final or record.resolve_end() is not None)
    return evaluate_sequential(
        arms[0],
        arms[1:],
        alpha=rules.alpha,
        tuning_n=record.plan.tuning_n,
        goal=_goal(record, primary),
        binary=primary.binary,
        previous_p={
            k.removeprefix(prefix): v for k, v in record.running_p.items() if k.startswith(prefix)
        },
        hybrid_final=final if hybrid else None,
    )


def trajectory(
    days: Sequence[tuple[str, MetricResult]], record: PlanRecord, primary: MetricRef
) -> list[dict[str, Any]]:
    """Per day and variant: the cumulative difference from control and its confidence sequence."""
    points: list[dict[str, Any]] = []
    for day, result in days:
        arms = arms_of(result)
        if len(arms) < 2:
            continue
        alpha = record.plan.stopping.alpha / (len(arms) - 1)
        for variant in arms[1:]:
            difference = absolute_difference(arms[0], variant, binary=primary.binary)
            if difference is None or difference.standard_error <= 0:
                continue
            lower, upper = confidence_sequence(
                difference, arms[0].n + variant.n, tuning_n=record.plan.tuning_n, alpha=alpha
            )
            points.append(
                {
                    "day": day,
                    "variant": variant.key,
                    "estimate": difference.estimate,
                    "lower": lower,
                    "upper": upper,
                }
            )
    return points


def _fixed_horizon(
    arms: list[ArmStats], *, alpha: float, goal: Literal["increase", "decrease"], binary: bool
) -> dict[str, Any]:
    """One two-sided z-test per variant against control at α/(k−1); valid for a single look."""
    control, variants = arms[0], arms[1:]
    level = alpha / len(variants)
    critical = fixed_horizon_critical_value(level)
    comparisons: dict[str, Any] = {}
    better: list[tuple[float, str]] = []
    worse: list[str] = []
    for variant in variants:
        difference = absolute_difference(control, variant, binary=binary)
        if difference is None or difference.standard_error <= 0:
            comparisons[variant.key] = {"status": "insufficient_data"}
            continue
        z = difference.estimate / difference.standard_error
        p = fixed_horizon_p_value(z)
        half = critical * difference.standard_error
        comparisons[variant.key] = {
            "n": variant.n,
            "mean": variant.sum / variant.n if variant.n else None,
            "estimate": difference.estimate,
            "lower": difference.estimate - half,
            "upper": difference.estimate + half,
            "p_value": p,
            "alpha": level,
            "significant": p <= level,
        }
        if p <= level and not math.isclose(difference.estimate, 0.0):
            improves = (difference.estimate > 0) == (goal == "increase")
            if improves:
                bound = (
                    difference.estimate - half
                    if goal == "increase"
                    else -(difference.estimate + half)
                )
                better.append((bound, variant.key))
            else:
                worse.append(variant.key)
    winner = max(better)[1] if better else None
    return {
        "control": {
            "key": control.key,
            "n": control.n,
            "mean": control.sum / control.n if control.n else None,
        },
        "variants": comparisons,
        "winner": winner,
        "losers": worse,
    }


def _carry_out(
    base: _Base,
    record: PlanRecord,
    winner: str | None,
    losers: set[str],
    variant_count: int,
    rule: str,
    evidence: dict[str, Any],
    running_p: dict[str, float],
    *,
    early: bool,
) -> Decision:
    """Turn a verdict into the plan's end action."""
    plan = record.plan.end_plan
    lost = winner is None and variant_count > 0 and len(losers) == variant_count
    conclusion = "won" if winner else ("lost" if lost else "inconclusive")
    when = "early, by the sequential rule" if early else "at the planned end"
    finding = (
        f"{winner} beats control"
        if winner
        else (
            "every variant is worse than control"
            if lost
            else "no variant differs significantly from control"
        )
    )
    evidence["finding"] = finding
    control = _control_from(evidence) or "control"
    if plan.action is EndAction.NOTIFY:
        return base.make(
            "notify",
            rule,
            f"{finding} ({when}); the plan only notifies",
            evidence,
            conclusion=conclusion,
            running_p=running_p,
            looked=bool(running_p),
        )
    if plan.action is EndAction.SHIP_VARIANT:
        key = plan.variant_key or control
        verdict_conclusion = (
            "won" if key == winner else ("lost" if key in losers else "inconclusive")
        )
        return _ship(
            base,
            rule,
            key,
            verdict_conclusion,
            f"{finding} ({when}); shipping {key!r} as planned",
            evidence,
            running_p,
            plan.release_to_everyone,
        )
    if plan.action is EndAction.SHIP_WINNER:
        if winner:
            return _ship(
                base,
                rule,
                winner,
                "won",
                f"{finding} ({when}); shipping it",
                evidence,
                running_p,
                plan.release_to_everyone,
            )
        if plan.fallback is Fallback.SHIP_CONTROL:
            return _ship(
                base,
                rule,
                control,
                conclusion,
                f"{finding} ({when}); shipping control (fallback)",
                evidence,
                running_p,
                plan.release_to_everyone,
            )
    return base.make(
        "end",
        rule,
        f"{finding} ({when}); ending it as {conclusion}",
        evidence,
        action=Action.END,
        arguments={"conclusion": conclusion},
        conclusion=conclusion,
        running_p=running_p,
        looked=bool(running_p),
    )


def _ship(
    base: _Base,
    rule: str,
    key: str,
    conclusion: str,
    reason: str,
    evidence: dict[str, Any],
    running_p: dict[str, float],
    release_to_everyone: bool,
) -> Decision:
    arguments: dict[str, Any] = {"variant_key": key, "conclusion": conclusion}
    if release_to_everyone:
        arguments["release_to_everyone"] = True
    return base.make(
        "ship",
        rule,
        reason,
        evidence,
        action=Action.SHIP_VARIANT,
        arguments=arguments,
        conclusion=conclusion,
        running_p=running_p,
        looked=bool(running_p),
    )


def _control_from(evidence: dict[str, Any]) -> str | None:
    for source in ("sequential", "fixed_horizon"):
        block = evidence.get(source)
        if isinstance(block, dict) and isinstance(block.get("control"), dict):
            return str(block["control"]["key"])
    return None


def comment(decision: Decision, template: str) -> str:
    """PostHog's conclusion_comment for a decision (at most 4,000 characters)."""
    text = template.format(
        summary=summary(decision),
        rule=decision.rule,
        conclusion=decision.conclusion or "",
        variant=decision.arguments.get("variant_key", ""),
        experiment=decision.experiment_name,
    )
    return text[:4000]


def summary(decision: Decision) -> str:
    """One paragraph: what expctl decided, by which rule, on which evidence."""
    parts = [f"expctl ({decision.trigger}, rule {decision.rule}): {decision.reason}."]
    sequential = decision.evidence.get("sequential")
    if isinstance(sequential, dict):
        parts.append(
            f"Always-valid test at α {sequential['alpha']:g} (N* {sequential['tuning_n']:g}, "
            f"look {decision.evidence.get('looks', '?')}):"
        )
        for variant in sequential["variants"]:
            parts.append(_variant_line(variant))
    fixed = decision.evidence.get("fixed_horizon")
    if isinstance(fixed, dict):
        for key, v in fixed["variants"].items():
            if v.get("estimate") is not None:
                parts.append(
                    f"{key} vs control: Δ {v['estimate']:+.4g} [{v['lower']:+.4g}, {v['upper']:+.4g}], "
                    f"p {v['p_value']:.3g} (fixed horizon, α {v['alpha']:.3g}), n {v['n']}."
                )
    srm = decision.evidence.get("srm")
    if isinstance(srm, dict) and srm.get("p_value") is not None:
        parts.append(
            f"Sample ratio p {srm['p_value']:.3g}{' (MISMATCH)' if srm.get('flagged') else ''}."
        )
    return " ".join(parts)


def _variant_line(variant: dict[str, Any]) -> str:
    if variant.get("estimate") is None:
        return f"{variant['key']}: not enough data."
    lift = variant.get("relative_lift")
    lift_text = f", lift {lift:+.1%}" if isinstance(lift, float) else ""
    return (
        f"{variant['key']} vs control: Δ {variant['estimate']:+.4g} "
        f"[{variant['lower']:+.4g}, {variant['upper']:+.4g}]{lift_text}, "
        f"p {variant['p_value']:.3g}, n {variant['treatment']['n']} vs {variant['control']['n']}, "
        f"means {_num(variant['treatment']['mean'])} vs {_num(variant['control']['mean'])}."
    )


def _num(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float | int) else "–"
