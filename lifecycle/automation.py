"""Carrying out automation plans: set, show and cancel plans; launch, monitor and conclude.

:class:`AutomationService` is what the Prefect flows run and what REST, MCP and the CLI call for
plans. It talks to PostHog through the gateway, changes lifecycles only through the
:class:`~lifecycle.service.LifecycleService`, keeps plans in a :class:`PlanStore`, schedules the
runs a plan implies with a :class:`Scheduler`, and writes every decision to a
:class:`DecisionLog` (Prefect is the implementation of all three: ``adapters/prefect``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, Protocol

from lifecycle.actions import Action
from lifecycle.decision import Decision, Trigger, comment, decide
from lifecycle.errors import (
    InvalidArgumentsError,
    LifecycleError,
    PlanNotFoundError,
    TransitionRefusedError,
)
from lifecycle.plan import (
    AutomationPlan,
    EndAction,
    MetricRef,
    PlanRecord,
    ScheduledRun,
    StoppingRules,
    parse_plan,
)
from lifecycle.ports import ExperimentsGateway
from lifecycle.results import MetricResult, TimeseriesResults
from lifecycle.service import ActionResult, LifecycleService, Outcome
from lifecycle.snapshot import Experiment
from lifecycle.status import ExperimentStatus, status_of

logger = logging.getLogger("expctl.automation")

RunKind = Literal["launch", "conclude", "recalculate", "monitor"]
ACTOR_PREFIX = "flow:"
OVERDUE_GRACE = timedelta(minutes=15)
"""The monitor concludes an experiment itself only when its conclude run is this late."""


class AutomationGateway(ExperimentsGateway, Protocol):
    """The PostHog reads automation needs beyond the lifecycle's."""

    async def get_timeseries_results(
        self, id: int, query: Mapping[str, Any], /, *, project_id: int | None = None
    ) -> TimeseriesResults:
        """One metric's stored daily results."""
        ...

    async def recalculate_timeseries(
        self, id: int, body: Mapping[str, Any], /, *, project_id: int | None = None
    ) -> Any:
        """Start recomputing one metric's daily results."""
        ...


class PlanStore(Protocol):
    """Where plans live (Prefect variables)."""

    async def load(self, project_id: int, experiment_id: int) -> PlanRecord | None: ...

    async def save(self, record: PlanRecord) -> None: ...

    async def delete(self, project_id: int, experiment_id: int) -> None: ...

    async def records(self, project_id: int | None = None) -> list[PlanRecord]: ...


class Scheduler(Protocol):
    """What runs the flows (Prefect deployments and flow runs)."""

    async def schedule(
        self, kind: RunKind, project_id: int, experiment_id: int, at: datetime, *, key: str
    ) -> ScheduledRun:
        """Schedule one run; the same ``key`` always gives the same run."""
        ...

    async def cancel(self, runs: Sequence[ScheduledRun]) -> None:
        """Cancel runs that have not started."""
        ...

    async def pending(self, project_id: int, experiment_id: int) -> list[ScheduledRun]:
        """Runs scheduled for this experiment that have not started."""
        ...

    async def trigger(
        self, kind: RunKind, parameters: Mapping[str, Any], *, key: str | None = None
    ) -> ScheduledRun:
        """Start a run now."""
        ...

    async def read(self, run_id: str) -> ScheduledRun:
        """A run's current state."""
        ...


class DecisionLog(Protocol):
    """Where decisions are recorded (Prefect artifacts and events)."""

    async def record(self, decision: Decision, result: ActionResult | None) -> None: ...

    async def recent(
        self, project_id: int, experiment_id: int, *, limit: int = 5
    ) -> list[dict[str, Any]]: ...


@dataclass(frozen=True)
class Observations:
    """What one look read from PostHog: latest results per metric, daily history of the primary."""

    latest: dict[str, MetricResult | None]
    history: dict[str, list[tuple[str, MetricResult]]]


@dataclass(frozen=True)
class PlanView:
    """A plan with its next scheduled actions and its last decisions."""

    record: PlanRecord
    next_actions: list[ScheduledRun] = field(default_factory=list)
    decisions: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    dry_run: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "project_id": self.record.project_id,
            "experiment_id": self.record.experiment_id,
            "status": self.record.status,
            "version": self.record.version,
            "set_by": self.record.set_by,
            "updated_at": self.record.updated_at.isoformat(),
            "plan": self.record.plan.model_dump(mode="json"),
            "started_at": _iso(self.record.started_at),
            "end_due_at": _iso(self.record.resolve_end()),
            "metrics": [m.model_dump(mode="json") for m in self.record.metrics],
            "looks": self.record.looks,
            "next_actions": [r.model_dump(mode="json") for r in self.next_actions],
            "last_decisions": self.decisions,
            "warnings": self.warnings,
            "dry_run": self.dry_run,
        }


@dataclass(frozen=True)
class Conclusion:
    """What a monitor look or a conclusion did for one experiment."""

    decision: Decision
    result: ActionResult | None = None
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "decision": self.decision.as_dict(),
            "result": self.result.as_dict() if self.result else None,
            "error": self.error,
        }


@dataclass(frozen=True)
class SweepReport:
    """One monitor sweep over a project."""

    project_id: int | None
    at: datetime
    dry_run: bool
    conclusions: list[Conclusion]
    skipped: dict[int, str]

    def as_dict(self) -> dict[str, Any]:
        return {
            "project_id": self.project_id,
            "at": self.at.isoformat(),
            "dry_run": self.dry_run,
            "decisions": [c.as_dict() for c in self.conclusions],
            "skipped": {str(k): v for k, v in self.skipped.items()},
        }


@dataclass(frozen=True)
class Recalculation:
    """The outcome of recalculating one metric of one experiment."""

    experiment_id: int
    metric_uuid: str
    status: str
    detail: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "experiment_id": self.experiment_id,
            "metric_uuid": self.metric_uuid,
            "status": self.status,
            "detail": self.detail,
        }


class AutomationService:
    """Plans and automated decisions for PostHog experiments."""

    def __init__(
        self,
        gateway: AutomationGateway,
        lifecycle: LifecycleService,
        store: PlanStore,
        scheduler: Scheduler,
        log: DecisionLog,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        concurrency: int = 8,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.gateway = gateway
        self.lifecycle = lifecycle
        self.store = store
        self.scheduler = scheduler
        self.log = log
        self._clock = clock
        self._concurrency = concurrency
        self._sleep = sleep

    # -- plans -----------------------------------------------------------------------------

    async def set_plan(
        self,
        experiment_id: int,
        plan: AutomationPlan | Mapping[str, Any],
        *,
        project_id: int,
        actor: str = "unknown",
        dry_run: bool = False,
    ) -> PlanView:
        """Validate and store a plan, and replace the runs it implies (never duplicating them)."""
        parsed = parse_plan(dict(plan) if isinstance(plan, Mapping) else plan)
        experiment = await self.lifecycle.snapshot(experiment_id, project_id=project_id)
        status = status_of(experiment)
        _check_plan_fits(parsed, experiment, status)
        previous = await self.store.load(project_id, experiment_id)
        now = self._clock()
        warnings: list[str] = []
        record = PlanRecord(
            project_id=project_id,
            experiment_id=experiment_id,
            plan=parsed,
            version=(previous.version + 1) if previous else 1,
            **({"plan_id": previous.plan_id} if previous else {}),
            set_by=actor,
            updated_at=now,
            started_at=experiment.start_date,
        )
        if status in (ExperimentStatus.RUNNING, ExperimentStatus.PAUSED):
            record.metrics = metric_refs(experiment, parsed)
            if previous is not None and _same_test(previous, record):
                record.running_p, record.looks = previous.running_p, previous.looks
            elif previous is not None and previous.looks:
                warnings.append(
                    "the sequential parameters, metrics or guardrails changed mid-run: the "
                    "always-valid guarantee restarts from this look"
                )
        wanted = self._runs_for(record, status, now)
        if dry_run:
            planned = [
                ScheduledRun(id="(dry run)", kind=kind, state="Scheduled", scheduled_at=at)
                for kind, at in wanted
            ]
            return PlanView(record, planned, [], warnings, dry_run=True)
        stale = await self.scheduler.pending(project_id, experiment_id)
        if stale:
            await self.scheduler.cancel(stale)
        record.scheduled = [
            await self.scheduler.schedule(
                kind, project_id, experiment_id, at, key=_run_key(record, kind)
            )
            for kind, at in wanted
        ]
        await self.store.save(record)
        logger.info(
            "plan v%d set for experiment %s/%s by %s",
            record.version,
            project_id,
            experiment_id,
            actor,
        )
        return PlanView(
            record, record.scheduled, await self.log.recent(project_id, experiment_id), warnings
        )

    async def show_plan(self, experiment_id: int, *, project_id: int) -> PlanView:
        """The plan, its next scheduled actions (live from the scheduler) and last decisions."""
        record = await self._require(project_id, experiment_id)
        pending = await self.scheduler.pending(project_id, experiment_id)
        return PlanView(record, pending, await self.log.recent(project_id, experiment_id))

    async def cancel_plan(
        self, experiment_id: int, *, project_id: int, actor: str = "unknown", dry_run: bool = False
    ) -> PlanView:
        """Cancel the plan's scheduled runs and forget the plan (its decisions stay recorded)."""
        record = await self._require(project_id, experiment_id)
        pending = await self.scheduler.pending(project_id, experiment_id)
        cancelled = record.model_copy(
            update={"status": "cancelled", "set_by": actor, "updated_at": self._clock()}
        )
        if dry_run:
            return PlanView(cancelled, pending, [], dry_run=True)
        await self.scheduler.cancel(pending)
        await self.store.delete(project_id, experiment_id)
        logger.info("plan cancelled for experiment %s/%s by %s", project_id, experiment_id, actor)
        return PlanView(cancelled, [], await self.log.recent(project_id, experiment_id))

    # -- what the flows run ----------------------------------------------------------------

    async def launch(
        self,
        experiment_id: int,
        *,
        project_id: int,
        actor: str = ACTOR_PREFIX + "launch-experiment",
        dry_run: bool = False,
    ) -> ActionResult:
        """Launch (once), then freeze the plan's metrics and schedule the planned end."""
        result = await self.lifecycle.apply(
            experiment_id,
            Action.LAUNCH,
            project_id=project_id,
            actor=actor,
            dry_run=dry_run,
            reason="launch_at reached" if actor.startswith(ACTOR_PREFIX) else None,
        )
        if dry_run:
            return result
        record = await self.store.load(project_id, experiment_id)
        experiment = result.experiment
        waiting = [
            r for r in await self.scheduler.pending(project_id, experiment_id) if r.kind == "launch"
        ]
        if waiting:
            await self.scheduler.cancel(waiting)  # launched already: a later launch run is moot
        if (
            record is not None
            and record.status == "active"
            and status_of(experiment) is ExperimentStatus.RUNNING
        ):
            record.started_at = experiment.start_date
            record.metrics = metric_refs(experiment, record.plan)
            due = record.resolve_end()
            if due is not None and not any(r.kind == "conclude" for r in record.scheduled):
                run = await self.scheduler.schedule(
                    "conclude",
                    project_id,
                    experiment_id,
                    max(due, self._clock()),
                    key=_run_key(record, "conclude"),
                )
                record.scheduled = [r for r in record.scheduled if r.kind != "launch"] + [run]
            await self.store.save(record)
        return result

    async def evaluate(
        self, experiment_id: int, *, project_id: int, as_of: datetime | None = None
    ) -> Decision:
        """The monitor's decision for this experiment now, as a dry run (nothing changes)."""
        record = await self.store.load(project_id, experiment_id)
        experiment = await self.lifecycle.snapshot(experiment_id, project_id=project_id)
        if record is None:
            record = PlanRecord(
                project_id=project_id,
                experiment_id=experiment_id,
                plan=AutomationPlan(stopping=StoppingRules(rule="sequential")),
                set_by="(no plan: default sequential rules)",
                started_at=experiment.start_date,
            )
        record = await self._with_metrics(record, experiment)
        seen = await self._results(record, experiment)
        return decide(
            record,
            experiment,
            seen.latest,
            now=as_of or self._clock(),
            trigger="evaluate",
            history=seen.history,
        )

    async def conclude(
        self,
        experiment_id: int,
        *,
        project_id: int,
        as_of: datetime | None = None,
        dry_run: bool = False,
        actor: str = ACTOR_PREFIX + "conclude-experiment",
    ) -> Conclusion:
        """At the planned end: decide per the plan's end action and carry it out (once)."""
        record = await self.store.load(project_id, experiment_id)
        experiment = await self.lifecycle.snapshot(experiment_id, project_id=project_id)
        if record is None:
            record = PlanRecord(
                project_id=project_id,
                experiment_id=experiment_id,
                plan=AutomationPlan(),
                set_by="(no plan)",
            )
        return await self._look(
            record, experiment, "planned_end", as_of or self._clock(), dry_run, actor
        )

    async def monitor(
        self,
        *,
        project_id: int | None = None,
        as_of: datetime | None = None,
        dry_run: bool = False,
        actor: str = ACTOR_PREFIX + "monitor-experiments",
    ) -> SweepReport:
        """One sweep over every experiment with an active plan: guardrails, early stops, overdue ends."""
        now = as_of or self._clock()
        records = [r for r in await self.store.records(project_id) if r.status == "active"]
        by_project: dict[int, dict[int, PlanRecord]] = {}
        for record in records:
            by_project.setdefault(record.project_id, {})[record.experiment_id] = record
        skipped: dict[int, str] = {}
        work: list[tuple[PlanRecord, Experiment]] = []
        for pid, planned in by_project.items():
            seen: set[int] = set()
            async for experiment in self._running(pid):
                found = planned.get(experiment.id)
                if found is not None:
                    work.append((found, experiment))
                    seen.add(experiment.id)
            for eid in planned.keys() - seen:
                skipped[eid] = "not running (draft, paused, ended or deleted)"
        gate = asyncio.Semaphore(self._concurrency)

        async def one(record: PlanRecord, experiment: Experiment) -> Conclusion:
            async with gate:
                trigger: Trigger = "planned_end" if _overdue(record, now) else "monitor"
                try:
                    return await self._look(record, experiment, trigger, now, dry_run, actor)
                except LifecycleError as error:
                    logger.warning("monitor: experiment %s: %s", experiment.id, error)
                    decision = decide(record, experiment, {}, now=now, trigger=trigger)
                    return Conclusion(decision, None, f"{type(error).__name__}: {error}")

        conclusions = list(await asyncio.gather(*(one(r, e) for r, e in work)))
        return SweepReport(project_id, now, dry_run, conclusions, skipped)

    async def recalculate(
        self,
        experiment_ids: Sequence[int] | None = None,
        *,
        project_id: int,
        max_wait: float = 300.0,
        first_delay: float = 1.0,
    ) -> list[Recalculation]:
        """Recompute every metric (primary and secondary) and wait until each completes or fails."""
        if experiment_ids is None:
            experiment_ids = [e.id async for e in self._running(project_id)]
        outcomes: list[Recalculation] = []
        for experiment_id in experiment_ids:
            experiment = await self.lifecycle.snapshot(experiment_id, project_id=project_id)
            if experiment.start_date is None:
                outcomes.append(Recalculation(experiment_id, "-", "skipped", "not launched"))
                continue
            for metric in experiment.primary_metrics + experiment.secondary_metrics:
                uuid, fingerprint = metric.get("uuid"), metric.get("fingerprint")
                if not uuid or not fingerprint:
                    outcomes.append(
                        Recalculation(
                            experiment_id, str(uuid), "skipped", "metric has no uuid or fingerprint"
                        )
                    )
                    continue
                await self.gateway.recalculate_timeseries(
                    experiment_id,
                    {"metric": metric, "fingerprint": fingerprint},
                    project_id=project_id,
                )
                outcomes.append(
                    await self._await_recalculation(
                        experiment_id, project_id, uuid, fingerprint, max_wait, first_delay
                    )
                )
        return outcomes

    async def trigger(
        self,
        kind: RunKind,
        experiment_id: int | None,
        *,
        project_id: int,
        actor: str,
        parameters: Mapping[str, Any] | None = None,
    ) -> ScheduledRun:
        """Start a flow run now (launch, conclude, recalculate or monitor)."""
        params: dict[str, Any] = {"project_id": project_id, **dict(parameters or {})}
        if kind in ("launch", "conclude"):
            if experiment_id is None:
                raise InvalidArgumentsError(f"{kind} needs an experiment id", field="experiment_id")
            await self.lifecycle.snapshot(experiment_id, project_id=project_id)
            params["experiment_id"] = experiment_id
        elif kind == "recalculate" and experiment_id is not None:
            params["experiment_ids"] = [experiment_id]
        logger.info("%s run of %s triggered by %s", kind, experiment_id, actor)
        return await self.scheduler.trigger(kind, params)

    # -- internals -------------------------------------------------------------------------

    async def _look(
        self,
        record: PlanRecord,
        experiment: Experiment,
        trigger: Trigger,
        now: datetime,
        dry_run: bool,
        actor: str,
    ) -> Conclusion:
        record = await self._with_metrics(record, experiment)
        seen = await self._results(record, experiment)
        if trigger == "monitor" and not any(seen.latest.values()) and record.metrics:
            # Results keyed by a stale fingerprint read as empty: refresh the metrics once.
            fresh = await self.lifecycle.snapshot(experiment.id, project_id=record.project_id)
            record = record.model_copy(update={"metrics": metric_refs(fresh, record.plan)})
            seen = await self._results(record, fresh)
        decision = decide(
            record, experiment, seen.latest, now=now, trigger=trigger, history=seen.history
        )
        if dry_run:
            return Conclusion(decision)
        result: ActionResult | None = None
        error: str | None = None
        if decision.action is not None:
            arguments = dict(decision.arguments)
            if decision.action in (Action.END, Action.SHIP_VARIANT):
                arguments["conclusion_comment"] = comment(
                    decision, record.plan.end_plan.comment_template
                )
            try:
                result = await self.lifecycle.apply(
                    record.experiment_id,
                    decision.action,
                    arguments,
                    project_id=record.project_id,
                    actor=actor,
                    reason=decision.reason,
                )
            except TransitionRefusedError as refused:
                error = f"refused: {refused.reason}"
        await self._remember(record, decision, result)
        await self.log.record(decision, result)
        return Conclusion(decision, result, error)

    async def _remember(
        self, record: PlanRecord, decision: Decision, result: ActionResult | None
    ) -> None:
        """Persist what this look learned: running p-values, looks, completion."""
        stored = await self.store.load(record.project_id, record.experiment_id)
        if stored is None or stored.version != record.version:
            return  # the plan was cancelled or replaced meanwhile; the new one starts fresh
        changed = False
        if decision.running_p:
            stored.running_p = {**stored.running_p, **decision.running_p}
            changed = True
        if decision.looked:
            stored.looks += 1
            changed = True
        if not stored.metrics and record.metrics:
            stored.metrics = record.metrics
            changed = True
        ended = (
            result is not None
            and result.outcome in (Outcome.APPLIED, Outcome.UNCHANGED)
            and decision.action
            in (
                Action.END,
                Action.SHIP_VARIANT,
            )
        )
        if ended or (decision.verdict == "notify" and decision.trigger == "planned_end"):
            stored.status = "completed"
            leftover = [
                r
                for r in await self.scheduler.pending(record.project_id, record.experiment_id)
                if r.kind == "conclude"
            ]
            if leftover and decision.trigger != "planned_end":
                await self.scheduler.cancel(leftover)
            changed = True
        if changed:
            stored.updated_at = self._clock()
            await self.store.save(stored)

    async def _with_metrics(self, record: PlanRecord, experiment: Experiment) -> PlanRecord:
        if record.metrics:
            return record
        full = (
            experiment
            if experiment.metrics is not None
            else await self.lifecycle.snapshot(experiment.id, project_id=record.project_id)
        )
        return record.model_copy(
            update={
                "metrics": metric_refs(full, record.plan),
                "started_at": record.started_at or full.start_date,
            }
        )

    async def _results(self, record: PlanRecord, experiment: Experiment) -> Observations:
        """Each planned metric's latest cumulative result, and the primary metric's daily history."""
        latest: dict[str, MetricResult | None] = {}
        history: dict[str, list[tuple[str, MetricResult]]] = {}
        for metric in record.metrics:
            series = await self.gateway.get_timeseries_results(
                record.experiment_id,
                {"metric_uuid": metric.uuid, "fingerprint": metric.fingerprint},
                project_id=record.project_id,
            )
            days = series.days()
            latest[metric.uuid] = days[-1][1] if days else None
            if metric.role == "primary":
                history[metric.uuid] = days
        return Observations(latest, history)

    async def _running(self, project_id: int) -> AsyncIterator[Experiment]:
        offset = 0
        while True:
            page = await self.gateway.list_experiments(
                {"status": "running", "limit": 1000, "offset": offset}, project_id=project_id
            )
            for experiment in page.results:
                yield experiment
            offset += len(page.results)
            if not page.results or page.next is None or offset >= page.count:
                return

    async def _await_recalculation(
        self,
        experiment_id: int,
        project_id: int,
        uuid: str,
        fingerprint: str,
        max_wait: float,
        first_delay: float,
    ) -> Recalculation:
        waited, delay = 0.0, first_delay
        while True:
            series = await self.gateway.get_timeseries_results(
                experiment_id,
                {"metric_uuid": uuid, "fingerprint": fingerprint},
                project_id=project_id,
            )
            if series.recalculation_status is None and series.status in ("completed", "partial"):
                return Recalculation(experiment_id, uuid, "completed", f"{len(series.days())} days")
            if series.status == "failed":
                return Recalculation(
                    experiment_id, uuid, "failed", "; ".join((series.errors or {}).values())
                )
            if waited >= max_wait:
                return Recalculation(
                    experiment_id,
                    uuid,
                    "timed_out",
                    f"still {series.recalculation_status or series.status} after {waited:.0f}s",
                )
            await self._sleep(delay)
            waited += delay
            delay = min(delay * 2, 30.0)

    def _runs_for(
        self, record: PlanRecord, status: ExperimentStatus, now: datetime
    ) -> list[tuple[RunKind, datetime]]:
        plan = record.plan
        runs: list[tuple[RunKind, datetime]] = []
        if status is ExperimentStatus.DRAFT and plan.launch_at is not None:
            runs.append(("launch", max(plan.launch_at, now)))
        due = record.resolve_end()
        if status in (ExperimentStatus.RUNNING, ExperimentStatus.PAUSED) and due is not None:
            runs.append(("conclude", max(due, now)))
        if status is ExperimentStatus.DRAFT and plan.end_at is not None and plan.launch_at is None:
            runs.append(("conclude", max(plan.end_at, now)))
        return runs

    async def _require(self, project_id: int, experiment_id: int) -> PlanRecord:
        record = await self.store.load(project_id, experiment_id)
        if record is None:
            raise PlanNotFoundError(
                f"Experiment {experiment_id} in project {project_id} has no automation plan."
            )
        return record


def metric_refs(experiment: Experiment, plan: AutomationPlan) -> list[MetricRef]:
    """The metrics a plan reads (its primary metric and its guardrails), frozen with fingerprints."""
    refs: list[MetricRef] = []
    primaries = experiment.primary_metrics
    primary_uuid = plan.primary_metric_uuid or (primaries[0].get("uuid") if primaries else None)
    wanted: list[tuple[str, Literal["primary", "guardrail"]]] = []
    if primary_uuid:
        wanted.append((str(primary_uuid), "primary"))
    wanted += [
        (g.metric_uuid, "guardrail") for g in plan.guardrails if g.metric_uuid != primary_uuid
    ]
    for uuid, role in wanted:
        metric = experiment.find_metric(uuid)
        if metric is None or not metric.get("fingerprint"):
            continue
        refs.append(
            MetricRef(
                uuid=uuid,
                fingerprint=str(metric["fingerprint"]),
                metric_type=str(metric.get("metric_type", "mean")),
                goal=metric.get("goal"),
                name=metric.get("name"),
                role=role,
            )
        )
    return refs


def _check_plan_fits(
    plan: AutomationPlan, experiment: Experiment, status: ExperimentStatus
) -> None:
    """Refuse a plan that cannot apply to this experiment, naming the field."""
    if status in (ExperimentStatus.ENDED, ExperimentStatus.ARCHIVED):
        raise InvalidArgumentsError(
            f"experiment {experiment.id} has already ended: nothing left to automate",
            field="experiment",
        )
    if plan.launch_at is not None and status is not ExperimentStatus.DRAFT:
        raise InvalidArgumentsError(
            f"experiment {experiment.id} is already launched ({status}): remove launch_at",
            field="launch_at",
        )
    keys = experiment.feature_flag.variant_keys if experiment.feature_flag else []
    if plan.end_plan.action is EndAction.SHIP_VARIANT and plan.end_plan.variant_key not in keys:
        raise InvalidArgumentsError(
            f"variant {plan.end_plan.variant_key!r} is not on the experiment's flag (variants: {', '.join(keys) or 'none'})",
            field="end_plan.variant_key",
        )
    if plan.primary_metric_uuid and experiment.find_metric(plan.primary_metric_uuid) is None:
        raise InvalidArgumentsError(
            f"no metric {plan.primary_metric_uuid!r} on the experiment", field="primary_metric_uuid"
        )
    for index, guardrail in enumerate(plan.guardrails):
        if experiment.find_metric(guardrail.metric_uuid) is None:
            raise InvalidArgumentsError(
                f"no metric {guardrail.metric_uuid!r} on the experiment",
                field=f"guardrails.{index}.metric_uuid",
            )


def _same_test(previous: PlanRecord, record: PlanRecord) -> bool:
    a, b = previous.plan, record.plan
    return (
        a.stopping == b.stopping
        and a.tuning_n == b.tuning_n
        and a.guardrails == b.guardrails
        and [m.uuid for m in previous.metrics] == [m.uuid for m in record.metrics]
    )


def _overdue(record: PlanRecord, now: datetime) -> bool:
    """Past its planned end by more than the grace its scheduled conclude run has to act."""
    due = record.resolve_end()
    return due is not None and now >= due + OVERDUE_GRACE


def _run_key(record: PlanRecord, kind: str) -> str:
    return f"expctl-{record.project_id}-{record.experiment_id}-{kind}-{record.plan_id}-v{record.version}"


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None
