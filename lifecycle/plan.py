"""Automation plans: when to launch, when and how to end, what may stop an experiment early.

A plan is validated input (clear errors naming the field); :class:`PlanRecord` is the plan plus
what expctl learned while running it (the real end time, the frozen metric set, the running
always-valid p-values, the scheduled runs), stored by a :class:`~lifecycle.automation.PlanStore`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any, Literal
from uuid import uuid4

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from lifecycle.errors import InvalidArgumentsError

DEFAULT_TUNING_N = 5000
DEFAULT_COMMENT = "{summary}"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)


class EndAction(StrEnum):
    """What happens when the experiment ends (at its planned end, or early by a rule)."""

    END = "end"
    """End it with the conclusion the primary metric supports (won / lost / inconclusive)."""
    SHIP_WINNER = "ship_winner"
    """Ship the variant that significantly beats control; otherwise the fallback."""
    SHIP_VARIANT = "ship_variant"
    """Ship a named variant, with the conclusion the data supports."""
    NOTIFY = "notify"
    """Record the decision and change nothing."""


class Fallback(StrEnum):
    """What ``ship_winner`` does when no variant wins."""

    END_INCONCLUSIVE = "end_inconclusive"
    SHIP_CONTROL = "ship_control"


class EndPlan(_Strict):
    """What to do at the end."""

    action: EndAction = EndAction.END
    """end, ship_winner, ship_variant or notify."""
    variant_key: str | None = None
    """The variant to ship (required for ship_variant)."""
    fallback: Fallback = Fallback.END_INCONCLUSIVE
    """For ship_winner without a winner: end_inconclusive or ship_control."""
    release_to_everyone: bool = False
    """When shipping, also add a 100% release condition to the flag."""
    comment_template: Annotated[str, Field(max_length=1000)] = DEFAULT_COMMENT
    """PostHog conclusion_comment; placeholders {summary}, {rule}, {conclusion}, {variant}, {experiment}."""

    @model_validator(mode="after")
    def _variant_for_ship_variant(self) -> EndPlan:
        if self.action is EndAction.SHIP_VARIANT and not self.variant_key:
            raise ValueError("variant_key is required when action is ship_variant")
        if self.action is not EndAction.SHIP_VARIANT and self.variant_key:
            raise ValueError("variant_key is only used when action is ship_variant")
        try:
            self.comment_template.format(
                summary="", rule="", conclusion="", variant="", experiment=""
            )
        except (KeyError, IndexError, ValueError) as error:
            raise ValueError(
                f"comment_template has an unknown or malformed placeholder: {error}"
            ) from None
        return self


class StoppingRules(_Strict):
    """When the monitor may end an experiment before its planned end."""

    rule: Literal["none", "sequential"] = "none"
    """none: never early; sequential: end when an always-valid test is decisive."""
    min_duration: timedelta = timedelta(days=7)
    """No early ending before this long after launch (a weekly cycle by default)."""
    min_exposures_per_variant: Annotated[int, Field(ge=0)] = 100
    """No decision until every variant has this many exposures."""
    min_conversions_per_variant: Annotated[int, Field(ge=0)] = 20
    """For binary metrics: no decision until every variant has this many conversions."""
    alpha: Annotated[float, Field(gt=0, lt=0.5)] = 0.05
    """Two-sided false-positive budget of the sequential test."""
    tuning_n: Annotated[int, Field(ge=100)] | None = None
    """N*: the planned total sample of a comparison (default: the plan's planned_sample, else 5,000)."""
    hybrid: bool = False
    """With a planned end: α/2 sequentially during the run and α/2 on one fixed test at the end."""
    srm_threshold: Annotated[float, Field(gt=0, lt=0.5)] = 0.001
    """Sample-ratio-mismatch p-value below which automated decisions are held."""

    @model_validator(mode="after")
    def _positive_duration(self) -> StoppingRules:
        if self.min_duration < timedelta(0):
            raise ValueError("min_duration must not be negative")
        return self


class Guardrail(_Strict):
    """A metric that must not get worse; trips a circuit breaker when it does."""

    metric_uuid: Annotated[str, Field(min_length=1)]
    """uuid of a primary or secondary metric of the experiment."""
    bad_direction: Literal["increase", "decrease"]
    """Which movement is harm (e.g. "increase" for latency or errors)."""
    threshold: Annotated[float, Field(ge=0, le=10)] = 0.0
    """Relative change tolerated before it counts as harm (0.05 = 5% worse than control)."""
    min_exposures_per_variant: Annotated[int, Field(ge=0)] = 100
    """The breaker may act only once every variant has this many exposures."""
    action: Literal["pause", "ship_control"] = "pause"
    """pause (deactivate the flag) or ship_control (serve control to everyone and end)."""


class AutomationPlan(_Strict):
    """Everything expctl does to one experiment on its own."""

    launch_at: AwareDatetime | None = None
    """When to launch (UTC); a time in the past launches at once."""
    end_at: AwareDatetime | None = None
    """When to end (UTC). Exclusive with end_after."""
    end_after: timedelta | None = None
    """How long after the real launch to end (e.g. "P14D"). Exclusive with end_at."""
    end_plan: EndPlan = Field(default_factory=EndPlan)
    """What to do at the end."""
    primary_metric_uuid: str | None = None
    """The metric that decides (default: the experiment's first primary metric)."""
    goal: Literal["increase", "decrease"] | None = None
    """Which direction is better for the primary metric (default: the metric's goal, else increase)."""
    planned_sample: Annotated[int, Field(ge=100)] | None = None
    """Total exposures (both arms of a comparison) expected by the end; the sequential N*."""
    stopping: StoppingRules = Field(default_factory=StoppingRules)
    """Rules for ending early."""
    guardrails: list[Guardrail] = Field(default_factory=list, max_length=10)
    """Circuit breakers (at most 10; their α is split between them)."""

    @model_validator(mode="after")
    def _consistent(self) -> AutomationPlan:
        if self.end_at is not None and self.end_after is not None:
            raise ValueError("give end_at or end_after, not both")
        if self.end_after is not None and self.end_after <= timedelta(0):
            raise ValueError("end_after must be positive")
        if self.launch_at is not None and self.end_at is not None and self.end_at <= self.launch_at:
            raise ValueError("end_at must be after launch_at")
        uuids = [g.metric_uuid for g in self.guardrails]
        if len(set(uuids)) != len(uuids):
            raise ValueError("each guardrail metric may appear once")
        return self

    @property
    def tuning_n(self) -> int:
        return self.stopping.tuning_n or self.planned_sample or DEFAULT_TUNING_N


def parse_plan(data: AutomationPlan | dict[str, Any]) -> AutomationPlan:
    """Validate a plan; the error names the field (``stopping.alpha``, ``end_plan``...)."""
    if isinstance(data, AutomationPlan):
        return data
    try:
        return AutomationPlan.model_validate(data)
    except ValueError as error:
        errors = getattr(error, "errors", None)
        if callable(errors):
            first = errors()[0]
            field = ".".join(str(part) for part in first["loc"]) or None
            message = str(first["msg"]).removeprefix("Value error, ")
            if first["type"] == "extra_forbidden":
                message = "unknown field"
            raise InvalidArgumentsError(
                f"{field}: {message}" if field else message, field=field
            ) from None
        raise InvalidArgumentsError(str(error)) from None


class MetricRef(_Strict):
    """A metric frozen into the plan at launch: what to read results with."""

    uuid: str
    fingerprint: str
    metric_type: str = "mean"
    goal: str | None = None
    name: str | None = None
    role: Literal["primary", "guardrail"] = "primary"

    @property
    def binary(self) -> bool:
        """Funnel and retention metrics are 0/1 per exposure."""
        return self.metric_type in ("funnel", "retention")


class ScheduledRun(_Strict):
    """A flow run expctl scheduled (or triggered) for an experiment."""

    id: str
    kind: str
    """launch, conclude, recalculate or monitor."""
    state: str
    scheduled_at: datetime | None = None
    url: str | None = None


PlanStatus = Literal["active", "completed", "cancelled"]


class PlanRecord(_Strict):
    """A plan as stored: the plan plus what expctl learned while carrying it out."""

    project_id: int
    experiment_id: int
    plan: AutomationPlan
    plan_id: str = Field(default_factory=lambda: uuid4().hex[:12])
    """Identifies this plan across its versions (a plan set after a cancel gets a new one)."""
    version: int = 1
    status: PlanStatus = "active"
    set_by: str = "unknown"
    updated_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    started_at: datetime | None = None
    """The experiment's real start date, once launched."""
    end_due_at: datetime | None = None
    """end_at, or started_at + end_after once the experiment launched."""
    metrics: list[MetricRef] = Field(default_factory=list)
    """Frozen at launch (sequential validity needs a fixed metric set)."""
    running_p: dict[str, float] = Field(default_factory=dict)
    """Running-minimum always-valid p-values, per "<metric uuid>:<variant>"."""
    looks: int = 0
    """How many times the monitor evaluated the sequential rule."""
    scheduled: list[ScheduledRun] = Field(default_factory=list)
    """The runs this plan implies (launch, conclude), as scheduled."""

    def resolve_end(self) -> datetime | None:
        """The moment the experiment should end, if the plan says so and it is known."""
        if self.plan.end_at is not None:
            return self.plan.end_at
        if self.plan.end_after is not None and self.started_at is not None:
            return self.started_at + self.plan.end_after
        return None

    def metric(self, uuid: str) -> MetricRef | None:
        return next((m for m in self.metrics if m.uuid == uuid), None)
