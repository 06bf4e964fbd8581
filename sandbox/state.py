"""The sandbox's data: PostHog's entities as stored rows, and the container that holds them.

The entities mirror the Django models the emulated endpoints read and write (organisations,
projects, users, feature flags, experiments, cohorts, timeseries recalculations and the stored
per-metric result rows) plus the sandbox's own records (API keys, simulation configs).

:class:`SandboxState` keeps them in memory and, when a :class:`~sandbox.store.SqliteStore` is
attached, writes every change through at :meth:`SandboxState.flush`. Handlers run on one event
loop and never await between reading and writing, so every request's mutation is atomic.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from sandbox.clock import Clock, ClockState
from sandbox.simulator import SimulationConfig
from sandbox.store import SqliteStore


class Entity(BaseModel):
    """A stored row."""

    model_config = ConfigDict(extra="ignore")
    kind: ClassVar[str] = ""

    def storage_key(self) -> Any:
        """The key of this row in its table."""
        return getattr(self, "id")  # noqa: B009 - every entity but two has an ``id``


class User(Entity):
    """A PostHog user (``UserBasic``)."""

    kind: ClassVar[str] = "user"
    id: int
    uuid: str
    distinct_id: str
    first_name: str
    last_name: str = ""
    email: str
    role_at_organization: str | None = "engineering"


class Organization(Entity):
    """An organisation: the unit PostHog rate-limits by."""

    kind: ClassVar[str] = "organization"
    id: int
    name: str


class Project(Entity):
    """A project (PostHog's team)."""

    kind: ClassVar[str] = "project"
    id: int
    organization_id: int
    name: str
    timezone: str = "UTC"
    known_events: list[str] = Field(default_factory=list)


class InactivePeriod(BaseModel):
    """A period during which a flag was off (``until`` is ``None`` while it still is)."""

    since: datetime
    until: datetime | None = None


class FeatureFlag(Entity):
    """A feature flag; ``approval_required`` is the sandbox's marker for an approval policy."""

    kind: ClassVar[str] = "flag"
    id: int
    team_id: int
    key: str
    name: str
    filters: dict[str, Any]
    active: bool
    deleted: bool = False
    archived: bool = False
    ensure_experience_continuity: bool | None = False
    version: int = 1
    created_at: datetime
    updated_at: datetime
    created_by_id: int | None = None
    last_modified_by_id: int | None = None
    creation_context: str = "feature_flags"
    approval_required: bool = False
    evaluation_runtime: str | None = "all"
    bucketing_identifier: str | None = None
    # When the flag was off: the simulator sends no traffic through an inactive flag.
    inactive_periods: list[InactivePeriod] = Field(default_factory=list)

    @property
    def variants(self) -> list[dict[str, Any]]:
        """``filters.multivariate.variants`` (entries that are objects)."""
        multivariate = self.filters.get("multivariate")
        if not isinstance(multivariate, dict):
            return []
        variants = multivariate.get("variants")
        if not isinstance(variants, list):
            return []
        return [variant for variant in variants if isinstance(variant, dict)]

    @property
    def variant_keys(self) -> list[str]:
        """The variant keys in flag order."""
        return [str(variant.get("key")) for variant in self.variants]

    def set_active(self, active: bool, now: datetime) -> None:
        """Switch the flag on or off, remembering when it was off."""
        if active == self.active:
            return
        if active:
            for period in self.inactive_periods:
                if period.until is None:
                    period.until = now
        else:
            self.inactive_periods.append(InactivePeriod(since=now))
        self.active = active


class Experiment(Entity):
    """An experiment row."""

    kind: ClassVar[str] = "experiment"
    id: int
    team_id: int
    name: str
    description: str | None = ""
    start_date: datetime | None = None
    end_date: datetime | None = None
    feature_flag_id: int | None = None
    holdout_id: int | None = None
    exposure_cohort_id: int | None = None
    parameters: Any = None
    running_time_calculation: Any = None
    excluded_variants: list[str] | None = None
    secondary_metrics: Any = Field(default_factory=list)
    filters: Any = Field(default_factory=dict)
    archived: bool = False
    deleted: bool | None = False
    created_by_id: int | None = None
    created_at: datetime
    updated_at: datetime
    type: str | None = "product"
    exposure_criteria: Any = None
    metrics: Any = Field(default_factory=list)
    metrics_secondary: Any = Field(default_factory=list)
    stats_config: Any = None
    scheduling_config: Any = None
    conclusion: str | None = None
    conclusion_comment: str | None = None
    primary_metrics_ordered_uuids: list[str] | None = None
    secondary_metrics_ordered_uuids: list[str] | None = None
    only_count_matured_users: bool = False
    feature_flag_auto_archived: bool = False
    version: int = 1
    repository: str | None = None
    traffic_split: dict[str, float] | None = None

    @property
    def is_draft(self) -> bool:
        """No start date."""
        return self.start_date is None

    @property
    def is_running(self) -> bool:
        """Launched and not ended (paused experiments included, as in PostHog's model)."""
        return self.start_date is not None and self.end_date is None

    @property
    def is_stopped(self) -> bool:
        """Launched and ended."""
        return self.start_date is not None and self.end_date is not None

    def metric_list(self, field: str) -> list[dict[str, Any]]:
        """``metrics`` or ``metrics_secondary`` as a list of objects."""
        value = getattr(self, field)
        if not isinstance(value, list):
            return []
        return [metric for metric in value if isinstance(metric, dict)]

    def all_metrics(self) -> list[dict[str, Any]]:
        """Primary then secondary metrics."""
        return self.metric_list("metrics") + self.metric_list("metrics_secondary")


class Cohort(Entity):
    """A dynamic cohort (only exposure cohorts are created here)."""

    kind: ClassVar[str] = "cohort"
    id: int
    team_id: int
    name: str
    description: str = ""
    filters: dict[str, Any]
    is_static: bool = False
    is_calculating: bool = True
    deleted: bool = False
    created_at: datetime
    created_by_id: int | None = None


class Recalculation(Entity):
    """An ``ExperimentTimeseriesRecalculation`` request."""

    kind: ClassVar[str] = "recalculation"
    id: str
    team_id: int
    experiment_id: int
    metric: dict[str, Any]
    fingerprint: str
    status: str = "pending"
    created_at: datetime
    completed_at: datetime | None = None
    error: str | None = None


class StoredSeries(Entity):
    """The daily result rows a recalculation wrote for one (experiment, metric uuid, fingerprint)."""

    kind: ClassVar[str] = "series"
    experiment_id: int
    metric_uuid: str
    fingerprint: str
    metric: dict[str, Any]
    created_at: datetime
    error: str | None = None

    def storage_key(self) -> Any:
        """Rows are keyed by the triple they answer for."""
        return (self.experiment_id, self.metric_uuid, self.fingerprint)


class ApiKey(Entity):
    """A personal API key; ``projects`` (when set) is its project allowlist."""

    kind: ClassVar[str] = "key"
    key: str = Field(repr=False)
    scopes: list[str]
    projects: list[int] | None = None
    user_id: int = 1

    def storage_key(self) -> Any:
        """Keys are looked up by their value."""
        return self.key


class Simulation(Entity):
    """The simulation config of one experiment."""

    kind: ClassVar[str] = "simulation"
    experiment_id: int
    config: SimulationConfig

    def storage_key(self) -> Any:
        """One config per experiment."""
        return self.experiment_id


ENTITY_TYPES: tuple[type[Entity], ...] = (
    User,
    Organization,
    Project,
    FeatureFlag,
    Experiment,
    Cohort,
    Recalculation,
    StoredSeries,
    ApiKey,
    Simulation,
)


class SandboxState:
    """Every table, the id sequences and the domain clock."""

    def __init__(self, clock: Clock, store: SqliteStore | None = None) -> None:
        self.clock = clock
        self.store = store
        self.users: dict[int, User] = {}
        self.organizations: dict[int, Organization] = {}
        self.projects: dict[int, Project] = {}
        self.flags: dict[int, FeatureFlag] = {}
        self.experiments: dict[int, Experiment] = {}
        self.cohorts: dict[int, Cohort] = {}
        self.recalculations: dict[str, Recalculation] = {}
        self.series: dict[tuple[int, str, str], StoredSeries] = {}
        self.keys: dict[str, ApiKey] = {}
        self.simulations: dict[int, Simulation] = {}
        self.sequences: dict[str, int] = {}
        # Real-time due instants of pending recalculations (monotonic, so never persisted).
        self.recalculation_due: dict[str, float] = {}
        self._dirty: set[tuple[str, Any]] = set()
        self._meta_dirty = False

    def table(self, kind: str) -> dict[Any, Any]:
        """The in-memory table for ``kind``."""
        tables: dict[str, dict[Any, Any]] = {
            "user": self.users,
            "organization": self.organizations,
            "project": self.projects,
            "flag": self.flags,
            "experiment": self.experiments,
            "cohort": self.cohorts,
            "recalculation": self.recalculations,
            "series": self.series,
            "key": self.keys,
            "simulation": self.simulations,
        }
        return tables[kind]

    def next_id(self, sequence: str) -> int:
        """The next integer id of ``sequence`` (ids are global, as in PostHog)."""
        value = self.sequences.get(sequence, 0) + 1
        self.sequences[sequence] = value
        self._meta_dirty = True
        return value

    def reserve_ids(self, sequence: str, at_least: int) -> None:
        """Make sure the next id of ``sequence`` is above ``at_least``."""
        if self.sequences.get(sequence, 0) < at_least:
            self.sequences[sequence] = at_least
            self._meta_dirty = True

    def save(self, entity: Entity) -> None:
        """Store ``entity`` (new or changed) and mark it for the next flush."""
        key = entity.storage_key()
        self.table(entity.kind)[key] = entity
        self._dirty.add((entity.kind, key))

    def remove(self, entity: Entity) -> None:
        """Delete ``entity``."""
        key = entity.storage_key()
        self.table(entity.kind).pop(key, None)
        self._dirty.add((entity.kind, key))

    def clock_changed(self) -> None:
        """Persist the clock at the next flush."""
        self._meta_dirty = True

    def flush(self) -> None:
        """Write every pending change through to the store (one transaction)."""
        if self.store is None:
            self._dirty.clear()
            self._meta_dirty = False
            return
        if not self._dirty and not self._meta_dirty:
            return
        puts: list[tuple[str, str, str]] = []
        deletes: list[tuple[str, str]] = []
        for kind, key in sorted(self._dirty, key=repr):
            stored_key = json.dumps(key)
            entity = self.table(kind).get(key)
            if entity is None:
                deletes.append((kind, stored_key))
            else:
                puts.append((kind, stored_key, entity.model_dump_json()))
        meta = [
            ("sequences", json.dumps(self.sequences)),
            ("clock", self.clock.snapshot().model_dump_json()),
        ]
        self.store.write(puts, deletes, meta)
        self._dirty.clear()
        self._meta_dirty = False

    def clear(self) -> None:
        """Forget everything (memory and store)."""
        for entity_type in ENTITY_TYPES:
            self.table(entity_type.kind).clear()
        self.sequences.clear()
        self.recalculation_due.clear()
        self._dirty.clear()
        self._meta_dirty = True
        if self.store is not None:
            self.store.wipe()

    def load(self) -> bool:
        """Fill memory from the store; ``False`` when there is nothing stored."""
        if self.store is None:
            return False
        rows, meta = self.store.read()
        if not rows and not meta:
            return False
        by_kind = {entity_type.kind: entity_type for entity_type in ENTITY_TYPES}
        for kind, _key, data in rows:
            entity_type = by_kind.get(kind)
            if entity_type is not None:
                entity = entity_type.model_validate_json(data)
                self.table(kind)[entity.storage_key()] = entity
        if "sequences" in meta:
            self.sequences = {str(k): int(v) for k, v in json.loads(meta["sequences"]).items()}
        if "clock" in meta:
            self.clock.restore(ClockState.model_validate_json(meta["clock"]))
        return True

    def flag_of(self, experiment: Experiment) -> FeatureFlag | None:
        """The experiment's linked flag."""
        if experiment.feature_flag_id is None:
            return None
        return self.flags.get(experiment.feature_flag_id)

    def user(self, user_id: int | None) -> User | None:
        """A user by id."""
        return self.users.get(user_id) if user_id is not None else None
