"""The guarded state machine: which actions are possible from which status, and why not.

``ExperimentLifecycle`` encodes draft → running ⇄ paused → ended → archived, plus reset back to
draft and unarchive back to ended. Its validators check what PostHog checks (reference §4), in
PostHog's order and with PostHog's words, so callers learn what is wrong without a wasted write.
:func:`check` is the one entry point; :func:`options` lists every action with its verdict.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from statemachine import State, StateMachine
from statemachine.exceptions import TransitionNotAllowed

from lifecycle.actions import Action
from lifecycle.snapshot import Experiment
from lifecycle.status import ExperimentStatus, status_of

NOT_LAUNCHED = "Experiment has not been launched yet."
ALREADY_LAUNCHED = "Experiment has already been launched."
ALREADY_ENDED = "Experiment has already ended."
ALREADY_PAUSED = "Experiment is already paused."
NOT_PAUSED = "Experiment is not paused."
NO_FLAG_LINKED = "Experiment does not have a feature flag linked."
NO_LINKED_FLAG = "Experiment does not have a linked feature flag."
FLAG_DELETED = "Experiment cannot be launched because its feature flag has been deleted."
TOO_FEW_VARIANTS = (
    "Feature flag must have at least 2 variants (control and at least one test variant)"
)
NO_CONTROL = "Feature flag must have a variant with key 'control'"
ALREADY_ARCHIVED = "Experiment is already archived."
NOT_ENDED_FOR_ARCHIVE = "Experiment must be ended before it can be archived."
NOT_ARCHIVED = "Experiment is not archived."
ALREADY_DRAFT = "Experiment is already in draft state."
ARCHIVED_NO_SHIP = "Experiment is archived: unarchive it before shipping a variant."

# Why an action is impossible from a status, where no transition exists (PostHog's texts; the
# archived/ship_variant one is expctl's own, since PostHog ignores archival there).
STATUS_REFUSALS: dict[tuple[Action, ExperimentStatus], str] = {
    **{
        (Action.LAUNCH, s): ALREADY_LAUNCHED
        for s in ExperimentStatus
        if s != ExperimentStatus.DRAFT
    },
    (Action.PAUSE, ExperimentStatus.DRAFT): NOT_LAUNCHED,
    (Action.PAUSE, ExperimentStatus.PAUSED): ALREADY_PAUSED,
    (Action.PAUSE, ExperimentStatus.ENDED): ALREADY_ENDED,
    (Action.PAUSE, ExperimentStatus.ARCHIVED): ALREADY_ENDED,
    (Action.RESUME, ExperimentStatus.DRAFT): NOT_LAUNCHED,
    (Action.RESUME, ExperimentStatus.RUNNING): NOT_PAUSED,
    (Action.RESUME, ExperimentStatus.ENDED): ALREADY_ENDED,
    (Action.RESUME, ExperimentStatus.ARCHIVED): ALREADY_ENDED,
    (Action.END, ExperimentStatus.DRAFT): NOT_LAUNCHED,
    (Action.END, ExperimentStatus.ENDED): ALREADY_ENDED,
    (Action.END, ExperimentStatus.ARCHIVED): ALREADY_ENDED,
    (Action.SHIP_VARIANT, ExperimentStatus.DRAFT): NOT_LAUNCHED,
    (Action.SHIP_VARIANT, ExperimentStatus.ARCHIVED): ARCHIVED_NO_SHIP,
    (Action.ARCHIVE, ExperimentStatus.DRAFT): NOT_ENDED_FOR_ARCHIVE,
    (Action.ARCHIVE, ExperimentStatus.RUNNING): NOT_ENDED_FOR_ARCHIVE,
    (Action.ARCHIVE, ExperimentStatus.PAUSED): NOT_ENDED_FOR_ARCHIVE,
    (Action.ARCHIVE, ExperimentStatus.ARCHIVED): ALREADY_ARCHIVED,
    **{
        (Action.UNARCHIVE, s): NOT_ARCHIVED
        for s in ExperimentStatus
        if s != ExperimentStatus.ARCHIVED
    },
    (Action.RESET, ExperimentStatus.DRAFT): ALREADY_DRAFT,
}


class GuardRefusal(Exception):
    """A validator's refusal, carrying PostHog's reason."""


@dataclass
class _Subject:
    """What the machine is bound to: the snapshot and its derived status (the state field)."""

    experiment: Experiment
    status: str


class ExperimentLifecycle(StateMachine):
    """The experiment lifecycle (states are :class:`ExperimentStatus` values)."""

    draft = State("Draft", initial=True, value=ExperimentStatus.DRAFT.value)
    running = State("Running", value=ExperimentStatus.RUNNING.value)
    paused = State("Paused", value=ExperimentStatus.PAUSED.value)
    ended = State("Ended", value=ExperimentStatus.ENDED.value)
    archived = State("Archived", value=ExperimentStatus.ARCHIVED.value)

    launch = draft.to(running, validators="check_launchable")
    pause = running.to(paused, validators="check_flag_linked")
    resume = paused.to(running, validators="check_flag_linked")
    end = running.to(ended) | paused.to(ended)
    ship_variant = (
        running.to(ended, validators="check_variant")
        | paused.to(ended, validators="check_variant")
        | ended.to.itself(validators="check_variant")  # type: ignore[no-untyped-call]
    )
    archive = ended.to(archived)
    unarchive = archived.to(ended)
    reset = running.to(draft) | paused.to(draft) | ended.to(draft) | archived.to(draft)

    def check_launchable(self) -> None:
        flag = self.model.experiment.feature_flag
        if flag is None:
            raise GuardRefusal(NO_FLAG_LINKED)
        if flag.deleted:
            raise GuardRefusal(FLAG_DELETED)
        keys = flag.variant_keys
        if len(keys) < 2:
            raise GuardRefusal(TOO_FEW_VARIANTS)
        if "control" not in keys:
            raise GuardRefusal(NO_CONTROL)

    def check_flag_linked(self) -> None:
        if self.model.experiment.feature_flag is None:
            raise GuardRefusal(NO_FLAG_LINKED)

    def check_variant(self, variant_key: str | None = None) -> None:
        flag = self.model.experiment.feature_flag
        if flag is None:
            raise GuardRefusal(NO_LINKED_FLAG)
        if variant_key not in flag.variant_keys:
            raise GuardRefusal(f"Variant '{variant_key}' not found on feature flag.")


@dataclass(frozen=True)
class Verdict:
    """Whether an action is possible now; ``reason`` says why not, ``target`` where it leads."""

    action: Action
    allowed: bool
    reason: str | None = None
    target: ExperimentStatus | None = None


@dataclass(frozen=True)
class Options:
    """Every action's verdict for one experiment."""

    status: ExperimentStatus
    verdicts: dict[Action, Verdict] = field(default_factory=dict)

    @property
    def allowed(self) -> list[str]:
        return [a.value for a, v in self.verdicts.items() if v.allowed]

    @property
    def refused(self) -> dict[str, str]:
        return {a.value: v.reason or "" for a, v in self.verdicts.items() if not v.allowed}

    def as_dict(self) -> dict[str, Any]:
        return {
            "status": self.status.value,
            "allowed_actions": self.allowed,
            "refused": self.refused,
        }


def check(
    experiment: Experiment, action: Action, arguments: Mapping[str, Any] | None = None
) -> Verdict:
    """Run the machine for one action on a snapshot, changing nothing."""
    status = status_of(experiment)
    machine = ExperimentLifecycle(_Subject(experiment, status.value), state_field="status")
    try:
        machine.send(action.value, **dict(arguments or {}))
    except TransitionNotAllowed:
        return Verdict(action, False, STATUS_REFUSALS[(action, status)])
    except GuardRefusal as refusal:
        return Verdict(action, False, str(refusal))
    return Verdict(action, True, target=ExperimentStatus(machine.current_state_value))


def options(
    experiment: Experiment, arguments: Mapping[Action, Mapping[str, Any]] | None = None
) -> Options:
    """Every action's verdict; ship_variant is judged for ``arguments[SHIP_VARIANT]`` or any variant."""
    status = status_of(experiment)
    verdicts: dict[Action, Verdict] = {}
    for action in Action:
        given = (arguments or {}).get(action)
        if action is Action.SHIP_VARIANT and given is None:
            given = {"variant_key": _any_variant(experiment)}
        verdicts[action] = check(experiment, action, given)
    return Options(status, verdicts)


def _any_variant(experiment: Experiment) -> str | None:
    flag = experiment.feature_flag
    keys = flag.variant_keys if flag else []
    return keys[0] if keys else None


def diagram() -> str:
    """The lifecycle as a mermaid state diagram (rendered by GitHub; no Graphviz needed)."""
    return format(ExperimentLifecycle, "mermaid").rstrip() + "\n"
