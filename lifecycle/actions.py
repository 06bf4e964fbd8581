"""The lifecycle actions, their arguments, and the PostHog operation that realises each one.

An action's arguments are exactly the body PostHog's action takes, so the client reuses these
models as its request bodies. ``EFFECTS`` says which operation (by operation-table name) realises
an action and how to recognise, on a re-read experiment, that it took effect.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic import ValidationError as PydanticValidationError

from lifecycle.errors import InvalidArgumentsError
from lifecycle.snapshot import Conclusion, Experiment
from lifecycle.status import ExperimentStatus, status_of


class Action(StrEnum):
    """Lifecycle events, as imperative verbs."""

    LAUNCH = "launch"
    PAUSE = "pause"
    RESUME = "resume"
    END = "end"
    SHIP_VARIANT = "ship_variant"
    ARCHIVE = "archive"
    UNARCHIVE = "unarchive"
    RESET = "reset"


class ActionArguments(BaseModel):
    """Base of action arguments: unknown fields are an error."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)


class NoArguments(ActionArguments):
    """The action takes no input."""


class EndExperiment(ActionArguments):
    """Arguments of ``end`` (PostHog's body of ``POST /end/``)."""

    conclusion: Conclusion | None = None
    """won, lost, inconclusive, stopped_early or invalid."""
    conclusion_comment: Annotated[str, Field(max_length=4000)] | None = None
    """Why it ended (expctl writes its evidence here)."""
    open_cleanup_pr: bool | None = None
    """Open a pull request removing the flag's code (needs task:write)."""


class ShipVariant(ActionArguments):
    """Arguments of ``ship_variant`` (PostHog's body of ``POST /ship_variant/``)."""

    variant_key: Annotated[str, Field(min_length=1)]
    """The variant to serve to everyone the flag reaches."""
    conclusion: Conclusion | None = None
    """won, lost, inconclusive, stopped_early or invalid."""
    conclusion_comment: Annotated[str, Field(max_length=4000)] | None = None
    """Why this variant ships."""
    release_to_everyone: bool | None = None
    """Also add a 100% release condition, overriding the flag's targeting."""
    open_cleanup_pr: bool | None = None
    """Open a pull request removing the flag's code (needs task:write)."""


class ArchiveExperiment(ActionArguments):
    """Arguments of ``archive`` (PostHog's body of ``POST /archive/``)."""

    disable_feature_flag: bool | None = None
    """Also disable and archive the linked flag when it is still active (needs feature_flag:write)."""


@dataclass(frozen=True)
class Effect:
    """How an action is realised in PostHog and how to see that it happened."""

    action: Action
    operation: str
    """The operation-table name of the PostHog call."""
    arguments: type[ActionArguments]
    sends_body: bool
    reached: Callable[[Experiment, ActionArguments], bool]
    """Whether a (re-read) experiment is in the state this action produces."""


def _status_is(*statuses: ExperimentStatus) -> Callable[[Experiment, ActionArguments], bool]:
    return lambda experiment, _arguments: status_of(experiment) in statuses


def _ended_with(experiment: Experiment, arguments: ActionArguments) -> bool:
    assert isinstance(arguments, EndExperiment)
    if status_of(experiment) not in (ExperimentStatus.ENDED, ExperimentStatus.ARCHIVED):
        return False
    return arguments.conclusion is None or experiment.conclusion == arguments.conclusion


def _shipped(experiment: Experiment, arguments: ActionArguments) -> bool:
    assert isinstance(arguments, ShipVariant)
    flag = experiment.feature_flag
    ended = status_of(experiment) in (ExperimentStatus.ENDED, ExperimentStatus.ARCHIVED)
    return ended and flag is not None and flag.shipped_variant() == arguments.variant_key


def _archived(experiment: Experiment, _arguments: ActionArguments) -> bool:
    return experiment.archived


def _not_archived(experiment: Experiment, _arguments: ActionArguments) -> bool:
    return not experiment.archived


EFFECTS: dict[Action, Effect] = {
    effect.action: effect
    for effect in (
        Effect(
            Action.LAUNCH,
            "launch_experiment",
            NoArguments,
            False,
            _status_is(ExperimentStatus.RUNNING),
        ),
        Effect(
            Action.PAUSE,
            "pause_experiment",
            NoArguments,
            False,
            _status_is(ExperimentStatus.PAUSED),
        ),
        Effect(
            Action.RESUME,
            "resume_experiment",
            NoArguments,
            False,
            _status_is(ExperimentStatus.RUNNING),
        ),
        Effect(Action.END, "end_experiment", EndExperiment, True, _ended_with),
        Effect(Action.SHIP_VARIANT, "ship_variant", ShipVariant, True, _shipped),
        Effect(Action.ARCHIVE, "archive_experiment", ArchiveExperiment, True, _archived),
        Effect(Action.UNARCHIVE, "unarchive_experiment", NoArguments, False, _not_archived),
        Effect(
            Action.RESET, "reset_experiment", NoArguments, False, _status_is(ExperimentStatus.DRAFT)
        ),
    )
}


def parse_action(value: str | Action) -> Action:
    """``"ship-variant"``, ``"ship"`` and ``"ship_variant"`` all name :attr:`Action.SHIP_VARIANT`."""
    if isinstance(value, Action):
        return value
    key = value.strip().lower().replace("-", "_")
    if key == "ship":
        key = "ship_variant"
    try:
        return Action(key)
    except ValueError:
        known = ", ".join(a.value for a in Action)
        raise InvalidArgumentsError(
            f"unknown action {value!r}; expected one of {known}", field="action"
        ) from None


def parse_arguments(
    action: Action, arguments: Mapping[str, Any] | ActionArguments | None
) -> ActionArguments:
    """Validate an action's arguments; the error names the field."""
    model = EFFECTS[action].arguments
    if isinstance(arguments, model):
        return arguments
    if isinstance(arguments, BaseModel):
        arguments = arguments.model_dump(exclude_unset=True)
    try:
        return model.model_validate(dict(arguments or {}))
    except PydanticValidationError as error:
        first = error.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or None
        message = str(first["msg"]).removeprefix("Value error, ")
        if first["type"] == "extra_forbidden":
            message = f"{action.value} does not take this argument"
        raise InvalidArgumentsError(
            f"{field}: {message}" if field else message, field=field
        ) from None
