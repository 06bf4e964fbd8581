"""Shared test material for the sandbox tests: the frozen instant, auth headers, payload builders."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

FROZEN_AT = datetime(2026, 3, 15, 12, 0, tzinfo=UTC)
API_KEY = "phx_sandbox"
AUTH = {"Authorization": f"Bearer {API_KEY}"}
P = "/api/projects/1/experiments"

# Demo experiment ids (see sandbox/seed.py).
DRAFT = 1
WINNER = 2
AA = 3
GUARDRAIL = 4
PAUSED = 5
ENDED = 6
ARCHIVED = 7
APPROVAL = 8
NO_CONTROL = 9
LEGACY = 10


def funnel(*events: str, **extra: Any) -> dict[str, Any]:
    """An ExperimentMetric funnel over known events."""
    return {
        "kind": "ExperimentMetric",
        "metric_type": "funnel",
        "series": [{"kind": "EventsNode", "event": event, "name": event} for event in events],
        **extra,
    }


def mean(event: str = "purchase_completed", **extra: Any) -> dict[str, Any]:
    """An ExperimentMetric mean over revenue."""
    return {
        "kind": "ExperimentMetric",
        "metric_type": "mean",
        "source": {"kind": "EventsNode", "event": event, "math": "sum", "math_property": "revenue"},
        **extra,
    }


def envelope(
    detail: str, *, code: str = "invalid_input", attr: str | None = None
) -> dict[str, Any]:
    """A 400 validation envelope."""
    return {"type": "validation_error", "code": code, "detail": detail, "attr": attr}
