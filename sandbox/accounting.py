"""Call accounting: what reached the experiments API, what it answered, what was applied.

``GET /_sandbox/calls`` returns :meth:`CallLedger.snapshot`::

    {"by_operation": {"experiments_launch_create": {"count": 3, "statuses": {"200": 1, "400": 2},
                                                    "methods": {"POST": 3}}, ...},
     "throttled": 0,          # 429 answers of the rate limiter
     "faulted": 0,            # requests an injected fault acted on (before or after processing)
     "applied": {"1/42": {"launch": 1, "end": 1}, ...},   # writes that changed state, per
                                                         # "<project>/<experiment id>"
     "total": 3}

Requests whose path matches no experiments route are counted under ``"unknown"``. Applied
writes are counted only when the state actually changed (a refused launch is not applied).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any


class CallLedger:
    """Counters for requests, answers and applied writes."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        """Start counting from zero."""
        self._counts: dict[str, int] = defaultdict(int)
        self._statuses: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        self._methods: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        self._applied: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        self.throttled = 0
        self.faulted = 0
        self.total = 0

    def record_call(self, operation: str, method: str, status: int) -> None:
        """Count one answered request."""
        self._counts[operation] += 1
        self._statuses[operation][str(status)] += 1
        self._methods[operation][method] += 1
        self.total += 1

    def record_throttled(self) -> None:
        """Count a request the rate limiter refused."""
        self.throttled += 1

    def record_faulted(self) -> None:
        """Count a request an injected fault acted on."""
        self.faulted += 1

    def record_applied(self, project_id: int, experiment_id: int, action: str) -> None:
        """Count one applied write on an experiment."""
        self._applied[f"{project_id}/{experiment_id}"][action] += 1

    def applied(self, project_id: int, experiment_id: int) -> dict[str, int]:
        """The applied writes of one experiment."""
        return dict(self._applied.get(f"{project_id}/{experiment_id}", {}))

    def snapshot(self) -> dict[str, Any]:
        """The ``/_sandbox/calls`` body."""
        return {
            "by_operation": {
                operation: {
                    "count": count,
                    "statuses": dict(self._statuses[operation]),
                    "methods": dict(self._methods[operation]),
                }
                for operation, count in sorted(self._counts.items())
            },
            "throttled": self.throttled,
            "faulted": self.faulted,
            "applied": {key: dict(actions) for key, actions in sorted(self._applied.items())},
            "total": self.total,
        }
