"""The domain: experiment snapshots, status, the guarded lifecycle, plans and statistics.

Pure Python (pydantic, numpy and scipy allowed): no httpx, Prefect, FastAPI or MCP here. PostHog
is reached through the :class:`~lifecycle.ports.ExperimentsGateway` protocol, which the client in
``adapters/posthog`` implements.
"""

from lifecycle.actions import Action, ArchiveExperiment, EndExperiment, ShipVariant
from lifecycle.errors import (
    ConfirmationRequiredError,
    ExperimentNotFoundError,
    InvalidArgumentsError,
    LifecycleDriftError,
    LifecycleError,
    LifecycleFieldError,
    TransitionRefusedError,
)
from lifecycle.machine import ExperimentLifecycle, Options, Verdict, check, diagram, options
from lifecycle.ports import ExperimentsGateway
from lifecycle.service import (
    ActionRecord,
    ActionResult,
    LifecycleService,
    Outcome,
    PreflightPolicy,
    refuse_lifecycle_fields,
)
from lifecycle.snapshot import Conclusion, Experiment, ExperimentPage, FeatureFlag
from lifecycle.status import ExperimentStatus, status_of

__all__ = [
    "Action",
    "ActionRecord",
    "ActionResult",
    "ArchiveExperiment",
    "Conclusion",
    "ConfirmationRequiredError",
    "EndExperiment",
    "Experiment",
    "ExperimentLifecycle",
    "ExperimentNotFoundError",
    "ExperimentPage",
    "ExperimentStatus",
    "ExperimentsGateway",
    "FeatureFlag",
    "InvalidArgumentsError",
    "LifecycleDriftError",
    "LifecycleError",
    "LifecycleFieldError",
    "LifecycleService",
    "Options",
    "Outcome",
    "PreflightPolicy",
    "ShipVariant",
    "TransitionRefusedError",
    "Verdict",
    "check",
    "diagram",
    "options",
    "refuse_lifecycle_fields",
    "status_of",
]
