"""The one service every caller goes through to change an experiment's lifecycle.

``apply`` reads the experiment, treats "already there" as success, checks the machine and the
launch preflight, calls the one PostHog operation that realises the action, re-reads, and
returns what changed with a record of who did it and why. It is idempotent by desired state,
re-reads before deciding after an ambiguous failure, and serialises actions on one experiment
within a process, so a retried, re-run or raced action never launches, ends or ships twice.
Generic updates go through :meth:`LifecycleService.update`, which refuses lifecycle fields.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import weakref
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Literal

from lifecycle.actions import (
    EFFECTS,
    Action,
    ActionArguments,
    EndExperiment,
    ShipVariant,
    parse_action,
    parse_arguments,
)
from lifecycle.errors import (
    ConfirmationRequiredError,
    InvalidArgumentsError,
    LifecycleDriftError,
    LifecycleFieldError,
    TransitionRefusedError,
)
from lifecycle.machine import check, options
from lifecycle.ports import (
    ExperimentsGateway,
    UpstreamApprovalRequiredError,
    UpstreamOutcomeUnknownError,
    UpstreamRefusedError,
    UpstreamThrottledError,
)
from lifecycle.snapshot import Experiment
from lifecycle.status import ExperimentStatus, status_of

logger = logging.getLogger("expctl.lifecycle")

Policy = Literal["refuse", "warn", "ignore"]

LIFECYCLE_FIELDS: dict[str, str] = {
    "start_date": "set by launch and cleared by reset",
    "end_date": "set when the experiment ends: use end or ship_variant",
    "archived": "use archive or unarchive",
    "conclusion": "pass it to end or ship_variant",
    "conclusion_comment": "pass it to end or ship_variant",
}


class Outcome(StrEnum):
    """What an action did."""

    APPLIED = "applied"
    UNCHANGED = "unchanged"
    DRY_RUN = "dry_run"
    APPROVAL_REQUIRED = "approval_required"


@dataclass(frozen=True)
class PreflightPolicy:
    """expctl's own launch checks, each refused, warned about, or ignored."""

    missing_primary_metric: Policy = "warn"
    shared_flag: Policy = "refuse"
    archived: Policy = "refuse"


@dataclass(frozen=True)
class ActionRecord:
    """Who did what to which experiment, why, and with what result."""

    experiment_id: int
    project_id: int | None
    action: str
    actor: str
    reason: str | None
    outcome: Outcome
    status_before: str
    status_after: str
    message: str
    at: datetime
    arguments: dict[str, Any] = field(default_factory=dict)
    change_request_id: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "experiment_id": self.experiment_id,
            "project_id": self.project_id,
            "action": self.action,
            "actor": self.actor,
            "reason": self.reason,
            "outcome": self.outcome.value,
            "status_before": self.status_before,
            "status_after": self.status_after,
            "message": self.message,
            "at": self.at.isoformat(),
            "arguments": self.arguments,
            "change_request_id": self.change_request_id,
        }


@dataclass(frozen=True)
class ActionResult:
    """The answer of :meth:`LifecycleService.apply` and :meth:`LifecycleService.update`."""

    record: ActionRecord
    experiment: Experiment
    """The experiment after the action (as it is, for no-ops, dry runs and approvals)."""
    request: dict[str, Any] | None = None
    """What was sent to PostHog (or would be, for a dry run)."""
    warnings: list[str] = field(default_factory=list)
    upstream: Any = None
    """PostHog's body when it did not apply the change (the approval request)."""

    @property
    def outcome(self) -> Outcome:
        return self.record.outcome

    @property
    def changed(self) -> bool:
        return self.record.outcome is Outcome.APPLIED

    @property
    def message(self) -> str:
        return self.record.message

    def as_dict(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome.value,
            "changed": self.changed,
            "message": self.message,
            "status_before": self.record.status_before,
            "status_after": self.record.status_after,
            "warnings": self.warnings,
            "request": self.request,
            "change_request_id": self.record.change_request_id,
            "record": self.record.as_dict(),
            "experiment": self.experiment.raw(),
        }


RecordHook = Callable[[ActionRecord], Awaitable[None] | None]


class LifecycleService:
    """Applies lifecycle actions to PostHog experiments through an :class:`ExperimentsGateway`."""

    def __init__(
        self,
        gateway: ExperimentsGateway,
        *,
        policy: PreflightPolicy | None = None,
        on_record: RecordHook | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        max_attempts: int = 3,
        max_throttle_wait: float = 60.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.gateway = gateway
        self.policy = policy or PreflightPolicy()
        self._on_record = on_record
        self._clock = clock
        self._max_attempts = max_attempts
        self._max_throttle_wait = max_throttle_wait
        self._sleep = sleep
        self._locks: weakref.WeakValueDictionary[tuple[int | None, int], asyncio.Lock] = (
            weakref.WeakValueDictionary()
        )

    # -- reading ---------------------------------------------------------------------------

    async def snapshot(self, experiment_id: int, *, project_id: int | None = None) -> Experiment:
        """The experiment as PostHog has it now (a deleted one is not found)."""
        experiment = await self.gateway.get_experiment(experiment_id, project_id=project_id)
        status_of(experiment)  # raises for a soft-deleted snapshot
        return experiment

    async def options(self, experiment_id: int, *, project_id: int | None = None) -> dict[str, Any]:
        """The status, the actions possible now, and why each other one is not."""
        experiment = await self.snapshot(experiment_id, project_id=project_id)
        return {"experiment_id": experiment_id, **options(experiment).as_dict()}

    # -- lifecycle actions -----------------------------------------------------------------

    async def apply(
        self,
        experiment_id: int,
        action: Action | str,
        arguments: Mapping[str, Any] | ActionArguments | None = None,
        *,
        project_id: int | None = None,
        dry_run: bool = False,
        actor: str = "unknown",
        reason: str | None = None,
    ) -> ActionResult:
        """Move the experiment by ``action``; a no-op when it is already where the action leads."""
        action = parse_action(action)
        args = parse_arguments(action, arguments)
        effect = EFFECTS[action]
        async with self._lock(project_id, experiment_id):
            before = await self.snapshot(experiment_id, project_id=project_id)
            status_before = status_of(before)
            done = self._already_done(action, args, before)
            note = _Note(
                self, experiment_id, project_id, action, args, actor, reason, status_before
            )
            if done is not None:
                return await note.result(Outcome.UNCHANGED, done, before)
            verdict = check(before, action, args.model_dump(exclude_none=True))
            if not verdict.allowed:
                raise self._refusal(verdict.reason or "", action, before)
            warnings = await self._preflight(action, before, project_id)
            body = args.model_dump(mode="json", exclude_unset=True) if effect.sends_body else None
            request = self.gateway.describe(
                effect.operation, experiment_id, body, project_id=project_id
            )
            target = verdict.target.value if verdict.target else status_before.value
            if dry_run:
                message = f"would {action.value.replace('_', ' ')}: {status_before} → {target}"
                return await note.result(
                    Outcome.DRY_RUN,
                    message,
                    before,
                    request=request,
                    warnings=warnings,
                    status_after=target,
                )
            try:
                after = await self._execute(action, args, experiment_id, project_id, body)
            except UpstreamApprovalRequiredError as pending:
                message = (
                    f"waiting for approval: PostHog created change request {pending.change_request_id}; "
                    "nothing changes until it is approved"
                )
                return await note.result(
                    Outcome.APPROVAL_REQUIRED,
                    message,
                    before,
                    request=request,
                    warnings=warnings,
                    upstream=getattr(pending, "body", None),
                    change_request_id=pending.change_request_id,
                )
            status_after = status_of(after)
            message = f"{action.value.replace('_', ' ')}: {status_before} → {status_after}"
            return await note.result(
                Outcome.APPLIED, message, after, request=request, warnings=warnings
            )

    async def _execute(
        self,
        action: Action,
        args: ActionArguments,
        experiment_id: int,
        project_id: int | None,
        body: dict[str, Any] | None,
    ) -> Experiment:
        effect = EFFECTS[action]
        attempt = 0
        throttled_for = 0.0
        while True:
            attempt += 1
            try:
                await self.gateway.invoke(
                    effect.operation, experiment_id, body, project_id=project_id
                )
                break
            except UpstreamThrottledError as throttled:
                # PostHog throttles before handling the request: nothing was applied, so resend.
                delay = throttled.retry_after if throttled.retry_after is not None else 1.0
                if attempt >= self._max_attempts or throttled_for + delay > self._max_throttle_wait:
                    raise
                await self._sleep(delay)
                throttled_for += delay
            except UpstreamOutcomeUnknownError:
                current = await self.snapshot(experiment_id, project_id=project_id)
                if effect.reached(current, args):
                    logger.info(
                        "%s of experiment %s landed despite the failed answer",
                        action,
                        experiment_id,
                    )
                    return current
                if attempt >= self._max_attempts:
                    raise
                verdict = check(current, action, args.model_dump(exclude_none=True))
                if not verdict.allowed:
                    raise self._refusal(verdict.reason or "", action, current) from None
            except UpstreamRefusedError as refused:
                current = await self.snapshot(experiment_id, project_id=project_id)
                if effect.reached(current, args):
                    return current  # another caller (or our own earlier attempt) got there first
                if refused.attr:
                    raise InvalidArgumentsError(
                        f"{refused.attr}: {refused.detail}", field=refused.attr
                    ) from None
                raise self._refusal(refused.detail, action, current) from None
        after = await self.snapshot(experiment_id, project_id=project_id)
        if not effect.reached(after, args):
            raise LifecycleDriftError(
                f"PostHog accepted {action.value} for experiment {experiment_id}, but it is now "
                f"{status_of(after)}"
            )
        return after

    def _already_done(
        self, action: Action, args: ActionArguments, experiment: Experiment
    ) -> str | None:
        """A message when the experiment is already where ``action`` leads; refuses overwrites."""
        status = status_of(experiment)
        ended = status in (ExperimentStatus.ENDED, ExperimentStatus.ARCHIVED)
        if action is Action.LAUNCH and status is ExperimentStatus.RUNNING:
            return "already running: nothing to do"
        if action is Action.PAUSE and status is ExperimentStatus.PAUSED:
            return "already paused: nothing to do"
        if action is Action.RESUME and status is ExperimentStatus.RUNNING:
            return "already running: nothing to do"
        if action is Action.END and ended:
            assert isinstance(args, EndExperiment)
            current = experiment.conclusion
            if args.conclusion is not None and current != args.conclusion:
                was = current.value if current else "no conclusion"
                raise self._refusal(
                    f"Experiment has already ended with {was}; refusing to overwrite it with "
                    f"{args.conclusion.value}.",
                    action,
                    experiment,
                )
            return f"already ended ({current.value if current else 'no conclusion'}): nothing to do"
        if action is Action.SHIP_VARIANT and ended:
            assert isinstance(args, ShipVariant)
            flag = experiment.feature_flag
            if flag is not None and flag.shipped_variant() == args.variant_key:
                return f"variant {args.variant_key!r} already shipped: nothing to do"
        if action is Action.ARCHIVE and experiment.archived:
            return "already archived: nothing to do"
        if action is Action.UNARCHIVE and not experiment.archived:
            return "not archived: nothing to do"
        if action is Action.RESET and status is ExperimentStatus.DRAFT:
            return "already a draft: nothing to do"
        return None

    async def _preflight(
        self, action: Action, experiment: Experiment, project_id: int | None
    ) -> list[str]:
        """expctl's own launch checks; returns warnings, raises refusals."""
        if action is not Action.LAUNCH:
            return []
        findings: list[tuple[Policy, str]] = []
        if experiment.archived:
            findings.append(
                (self.policy.archived, "Experiment is archived: unarchive it before launching.")
            )
        if not experiment.primary_metrics:
            findings.append(
                (
                    self.policy.missing_primary_metric,
                    "Experiment has no primary metric: its results cannot decide a winner.",
                )
            )
        flag = experiment.feature_flag
        if flag is not None and flag.id is not None and self.policy.shared_flag != "ignore":
            page = await self.gateway.list_experiments(
                {"feature_flag_id": flag.id, "status": "all", "limit": 100}, project_id=project_id
            )
            others = sorted(
                other.id
                for other in page.results
                if other.id != experiment.id
                and other.start_date is not None
                and other.end_date is None
            )
            if others:
                ids = ", ".join(str(i) for i in others)
                findings.append(
                    (
                        self.policy.shared_flag,
                        f"Feature flag '{flag.key}' already serves launched experiment(s) {ids}: "
                        "launching would activate it for them too and mix their traffic.",
                    )
                )
        for policy, text in findings:
            if policy == "refuse":
                raise self._refusal(text, action, experiment)
        return [text for policy, text in findings if policy == "warn"]

    # -- generic updates and soft delete ---------------------------------------------------

    async def update(
        self,
        experiment_id: int,
        changes: Mapping[str, Any],
        *,
        full: bool = False,
        project_id: int | None = None,
        dry_run: bool = False,
        confirm: bool = False,
        actor: str = "unknown",
        reason: str | None = None,
    ) -> ActionResult:
        """PATCH (or PUT with ``full``) the experiment; lifecycle fields are refused.

        A lifecycle field whose value equals the current one (a GET echoed into a PUT) is
        dropped, not refused. ``{"deleted": true}`` soft-deletes, and needs ``confirm`` when the
        experiment is running; ``{"deleted": false}`` restores.
        """
        operation = "update_experiment" if full else "patch_experiment"
        name = "update"
        body = dict(changes)
        async with self._lock(project_id, experiment_id):
            if body.get("deleted") is False:
                refuse_lifecycle_fields(body, action="restore")
                current: Experiment | None = None
                status_before = "deleted"
                name = "restore"
            else:
                current = await self.snapshot(experiment_id, project_id=project_id)
                body = _drop_unchanged_lifecycle_fields(body, current)
                refuse_lifecycle_fields(body, action=name, status=status_of(current).value)
                status_before = status_of(current).value
                if body.get("deleted") is True:
                    name = "delete"
                    if status_of(current) is ExperimentStatus.RUNNING and not confirm:
                        raise ConfirmationRequiredError(
                            f"Experiment {experiment_id} is running: soft-deleting it stops its "
                            "analysis while its feature flag keeps serving. Repeat with confirm "
                            "to delete it anyway, or end it first."
                        )
            note = _Note(self, experiment_id, project_id, name, None, actor, reason, status_before)
            request = self.gateway.describe(operation, experiment_id, body, project_id=project_id)
            if dry_run:
                shown = current if current is not None else Experiment(id=experiment_id)
                return await note.result(
                    Outcome.DRY_RUN,
                    f"would {name} experiment {experiment_id}",
                    shown,
                    request=request,
                )
            data = await self.gateway.invoke(operation, experiment_id, body, project_id=project_id)
            after = Experiment.from_api(data)
            after_status = "deleted" if after.deleted else status_of(after).value
            return await note.result(
                Outcome.APPLIED,
                f"{name}: {status_before} → {after_status}",
                after,
                request=request,
                status_after=after_status,
            )

    # -- internals -------------------------------------------------------------------------

    def _lock(self, project_id: int | None, experiment_id: int) -> asyncio.Lock:
        key = (project_id, experiment_id)
        lock = self._locks.get(key)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[key] = lock
        return lock

    def _refusal(
        self, reason: str, action: Action, experiment: Experiment
    ) -> TransitionRefusedError:
        return TransitionRefusedError(
            reason,
            action=action.value,
            status=status_of(experiment).value,
            allowed=options(experiment).allowed,
            experiment_id=experiment.id,
        )

    async def _emit(self, record: ActionRecord) -> None:
        logger.info(
            "%s experiment %s (project %s) by %s: %s [%s]",
            record.action,
            record.experiment_id,
            record.project_id,
            record.actor,
            record.message,
            record.outcome.value,
        )
        if self._on_record is not None:
            maybe = self._on_record(record)
            if inspect.isawaitable(maybe):
                await maybe


@dataclass
class _Note:
    """Builds the record and result of one call, so every exit of ``apply`` records the same way."""

    service: LifecycleService
    experiment_id: int
    project_id: int | None
    action: Action | str
    arguments: ActionArguments | None
    actor: str
    reason: str | None
    status_before: ExperimentStatus | str

    async def result(
        self,
        outcome: Outcome,
        message: str,
        experiment: Experiment,
        *,
        request: dict[str, Any] | None = None,
        warnings: list[str] | None = None,
        upstream: Any = None,
        change_request_id: str | None = None,
        status_after: str | None = None,
    ) -> ActionResult:
        if status_after is None:
            status_after = (
                status_of(experiment).value
                if outcome is Outcome.APPLIED
                else str(self.status_before)
            )
        record = ActionRecord(
            experiment_id=self.experiment_id,
            project_id=self.project_id,
            action=str(self.action),
            actor=self.actor,
            reason=self.reason,
            outcome=outcome,
            status_before=str(self.status_before),
            status_after=status_after,
            message=message,
            at=self.service._clock(),
            arguments=self.arguments.model_dump(mode="json", exclude_unset=True)
            if self.arguments
            else {},
            change_request_id=change_request_id,
        )
        if outcome is not Outcome.DRY_RUN:
            await self.service._emit(record)
        return ActionResult(record, experiment, request, list(warnings or []), upstream)


def refuse_lifecycle_fields(body: Mapping[str, Any], *, action: str, status: str = "") -> None:
    """Refuse a create/update body that carries a field only lifecycle actions may change.

    On create, empty values (null, false) are harmless defaults and pass.
    """
    present = {
        name: hint
        for name, hint in LIFECYCLE_FIELDS.items()
        if name in body and (action != "create" or body[name] not in (None, False, ""))
    }
    if present:
        raise LifecycleFieldError(present, action=action, status=status)


def _drop_unchanged_lifecycle_fields(body: dict[str, Any], current: Experiment) -> dict[str, Any]:
    kept = dict(body)
    for name in LIFECYCLE_FIELDS:
        if name in kept and _same(kept[name], getattr(current, name)):
            del kept[name]
    return kept


def _same(given: Any, current: Any) -> bool:
    if isinstance(current, datetime) and isinstance(given, str):
        try:
            return datetime.fromisoformat(given.replace("Z", "+00:00")) == current
        except ValueError:
            return False
    if isinstance(current, StrEnum):
        return bool(given == current.value)
    return bool(given == current)
