"""What one API request's handler works with: state, project, caller, settings and the ledger."""

from __future__ import annotations

from dataclasses import dataclass

from sandbox.accounting import CallLedger
from sandbox.settings import SandboxSettings
from sandbox.simulator import TrafficSimulator
from sandbox.state import ApiKey, Experiment, Project, SandboxState, User


@dataclass
class RequestContext:
    """The handler's view of the world for one request."""

    state: SandboxState
    settings: SandboxSettings
    ledger: CallLedger
    simulator: TrafficSimulator
    project: Project
    user: User
    key: ApiKey

    def can_write_flags(self) -> bool:
        """Whether the caller's token carries ``feature_flag:write`` (or ``*``)."""
        return "*" in self.key.scopes or "feature_flag:write" in self.key.scopes

    def applied(self, experiment: Experiment, action: str) -> None:
        """Count an applied write on ``experiment``."""
        self.ledger.record_applied(experiment.team_id, experiment.id, action)
