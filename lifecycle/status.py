"""The lifecycle status of an experiment, derived from PostHog's fields in exactly one place."""

from __future__ import annotations

from enum import StrEnum

from lifecycle.errors import ExperimentNotFoundError
from lifecycle.snapshot import Experiment


class ExperimentStatus(StrEnum):
    """Where an experiment is in its life. PostHog stores only dates and flags; expctl derives this."""

    DRAFT = "draft"
    RUNNING = "running"
    PAUSED = "paused"
    ENDED = "ended"
    ARCHIVED = "archived"


def status_of(experiment: Experiment) -> ExperimentStatus:
    """Derive the status (reference §3.1), in PostHog's order.

    No start date → draft; an end date → ended (archived when archived=true); an inactive flag →
    paused; otherwise running. A soft-deleted experiment does not exist.
    """
    if experiment.deleted:
        raise ExperimentNotFoundError(f"Experiment {experiment.id} was deleted.")
    if experiment.start_date is None:
        return ExperimentStatus.DRAFT
    if experiment.end_date is not None:
        return ExperimentStatus.ARCHIVED if experiment.archived else ExperimentStatus.ENDED
    if experiment.feature_flag is not None and not experiment.feature_flag.active:
        return ExperimentStatus.PAUSED
    return ExperimentStatus.RUNNING
