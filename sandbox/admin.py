"""The sandbox's own admin API under ``/_sandbox/`` (not part of PostHog).

Every route but ``health`` needs a bearer key with scope ``*`` (401/403 as the experiments
API answers them). Admin routes are never rate-limited, faulted or counted. Bodies are JSON;
a bad body is a 400 envelope with the offending field as ``attr``.

=============================================================  ==================================
route                                                          body → answer
=============================================================  ==================================
``GET /_sandbox/health``                                       → ``{"ok": true}``
``POST /_sandbox/reset``                                       ``{"seed"?: "demo"|null}`` (default:
                                                               the settings' seed) → ``{"ok": true,
                                                               "seed": ...}``
``GET /_sandbox/clock``                                        → ``{"now": iso, "frozen": bool}``
``PUT /_sandbox/clock``                                        one of ``{"set": iso}`` (freeze at),
                                                               ``{"advance_seconds": n}``,
                                                               ``{"run": true}`` → as GET
``GET/PUT /_sandbox/faults``, ``DELETE`` clears                the fault config (``faults.py``)
``GET/PUT /_sandbox/rate_limit``                               ``{"enabled", "per_minute",
                                                               "per_hour", "minute_seconds"}`` (PUT merges; logs
                                                               restart)
``GET /_sandbox/calls``, ``DELETE`` resets                     the ledger (``accounting.py``)
``GET/PUT /_sandbox/projects/{p}/experiments/{id}/simulation``  the simulation config
                                                               (``simulator.py``)
``POST /_sandbox/projects/{p}/feature_flags``                  ``{"key", "name"?, "variants"?:
                                                               [{"key", "name"?,
                                                               "rollout_percentage"}], "active"?,
                                                               "approval_required"?,
                                                               "rollout_percentage"?}`` → 201 flag
``GET /_sandbox/projects/{p}/feature_flags/{flag_id}``         → the flag
``PATCH /_sandbox/projects/{p}/feature_flags/{flag_id}``       any of ``deleted``, ``active``,
                                                               ``archived``, ``approval_required``,
                                                               ``variants``, ``name`` → 200 flag
``POST /_sandbox/keys``                                        ``{"key"?, "scopes": [...],
                                                               "projects"?: [ids], "user_id"?}``
                                                               → 201 ``{"key", "scopes",
                                                               "projects", "user_id"}``
``POST /_sandbox/recalculations/{id}/fail``                    ``{"error"?: str}`` → 200 the
                                                               recalculation (now ``failed``)
``GET/PUT /_sandbox/projects/{p}/events``                      ``{"events": [names]}``: event names
                                                               the project has "ingested"
=============================================================  ==================================

The flag object of the admin routes is ``MinimalFeatureFlag`` plus ``archived``,
``approval_required``, ``created_at`` and ``updated_at``.
"""

from __future__ import annotations

import json
import secrets
from datetime import datetime
from typing import Any, Literal, TypeVar

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from sandbox import errors
from sandbox.auth import authenticate
from sandbox.clock import to_utc
from sandbox.errors import FieldError
from sandbox.faults import FaultConfig
from sandbox.flags import (
    check_flag_key,
    check_variant_rollout,
    drf_datetime,
    new_flag,
    render_admin,
)
from sandbox.runtime import SandboxRuntime
from sandbox.simulator import SimulationConfig
from sandbox.state import ApiKey, FeatureFlag, Project, Simulation
from sandbox.throttle import RateLimitConfig
from sandbox.timeseries import ACTIVE_STATUSES, finish_recalculation

Model = TypeVar("Model", bound=BaseModel)


class ResetBody(BaseModel):
    """``POST /_sandbox/reset``."""

    model_config = ConfigDict(extra="forbid")
    seed: Literal["demo"] | None = None


class ClockBody(BaseModel):
    """``PUT /_sandbox/clock``: exactly one instruction."""

    model_config = ConfigDict(extra="forbid")
    set: datetime | None = None
    advance_seconds: float | None = None
    run: bool | None = None

    @model_validator(mode="after")
    def _one(self) -> ClockBody:
        given = [
            name for name in ("set", "advance_seconds", "run") if getattr(self, name) is not None
        ]
        if len(given) != 1:
            raise ValueError("give exactly one of 'set', 'advance_seconds', 'run'")
        if self.run is False:
            raise ValueError("'run' must be true")
        return self


class RateLimitPatch(BaseModel):
    """``PUT /_sandbox/rate_limit`` (fields left out keep their value)."""

    model_config = ConfigDict(extra="forbid")
    enabled: bool | None = None
    per_minute: int | None = Field(default=None, ge=1)
    per_hour: int | None = Field(default=None, ge=1)
    minute_seconds: float | None = Field(default=None, gt=0)


class VariantBody(BaseModel):
    """A flag variant."""

    model_config = ConfigDict(extra="forbid")
    key: str
    name: str | None = None
    rollout_percentage: float


class FlagCreate(BaseModel):
    """``POST /_sandbox/projects/{p}/feature_flags``."""

    model_config = ConfigDict(extra="forbid")
    key: str
    name: str | None = None
    variants: list[VariantBody] | None = None
    active: bool = False
    approval_required: bool = False
    rollout_percentage: float | None = Field(default=100, ge=0, le=100)


class FlagPatch(BaseModel):
    """``PATCH /_sandbox/projects/{p}/feature_flags/{id}``."""

    model_config = ConfigDict(extra="forbid")
    name: str | None = None
    deleted: bool | None = None
    active: bool | None = None
    archived: bool | None = None
    approval_required: bool | None = None
    variants: list[VariantBody] | None = None


class KeyCreate(BaseModel):
    """``POST /_sandbox/keys``."""

    model_config = ConfigDict(extra="forbid")
    key: str | None = Field(default=None, min_length=1)
    scopes: list[str] = Field(min_length=1)
    projects: list[int] | None = None
    user_id: int = 1


class FailBody(BaseModel):
    """``POST /_sandbox/recalculations/{id}/fail``."""

    model_config = ConfigDict(extra="forbid")
    error: str = "Recalculation failed (simulated by the sandbox)."


class EventsBody(BaseModel):
    """``PUT /_sandbox/projects/{p}/events``."""

    model_config = ConfigDict(extra="forbid")
    events: list[str]


def _answer(status: int, body: Any) -> Response:
    return Response(
        content=json.dumps(body, separators=(",", ":")).encode("utf-8"),
        status_code=status,
        media_type="application/json",
    )


async def _parse(request: Request, model: type[Model]) -> Model:
    raw = await request.body()
    try:
        data = json.loads(raw) if raw.strip() else {}
    except ValueError as error:
        raise errors.parse_error(str(error)) from None
    try:
        return model.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        attr = "__".join(str(part) for part in first["loc"]) or None
        raise errors.validation_error(first["msg"], attr) from None


def build_admin_router(runtime: SandboxRuntime) -> APIRouter:
    """The ``/_sandbox`` router."""
    router = APIRouter(prefix="/_sandbox", include_in_schema=False)
    state = runtime.state

    def guard(request: Request) -> None:
        key = authenticate(state, request.headers.get("authorization"))
        if "*" not in key.scopes:
            raise errors.permission_denied("API key missing required scope '*'")

    def project(project_id: int) -> Project:
        found = state.projects.get(project_id)
        if found is None:
            raise errors.not_found()
        return found

    def clock_body() -> dict[str, Any]:
        return {"now": drf_datetime(runtime.clock.now()), "frozen": runtime.clock.frozen}

    def flag_in(project_id: int, flag_id: int) -> FeatureFlag:
        flag = state.flags.get(flag_id)
        if flag is None or flag.team_id != project(project_id).id:
            raise errors.not_found()
        return flag

    def checked_variants(variants: list[VariantBody]) -> list[dict[str, Any]]:
        entries = [variant.model_dump(exclude_none=True) for variant in variants]
        try:
            check_variant_rollout({"multivariate": {"variants": entries}})
        except FieldError as error:
            raise error.to_api_error() from None
        return entries

    @router.get("/health")
    async def health() -> Response:
        return _answer(200, {"ok": True})

    @router.post("/reset")
    async def reset(request: Request) -> Response:
        guard(request)
        body = await _parse(request, ResetBody)
        given = "seed" in body.model_fields_set
        runtime.reset(body.seed, use_settings_seed=not given)
        seed = body.seed if given else runtime.settings.seed
        return _answer(200, {"ok": True, "seed": seed})

    @router.get("/clock")
    async def get_clock(request: Request) -> Response:
        guard(request)
        return _answer(200, clock_body())

    @router.put("/clock")
    async def put_clock(request: Request) -> Response:
        guard(request)
        body = await _parse(request, ClockBody)
        if body.set is not None:
            runtime.clock.freeze_at(to_utc(body.set))
        elif body.advance_seconds is not None:
            runtime.clock.advance(body.advance_seconds)
        else:
            runtime.clock.run()
        state.clock_changed()
        state.flush()
        return _answer(200, clock_body())

    @router.get("/faults")
    async def get_faults(request: Request) -> Response:
        guard(request)
        return _answer(200, runtime.faults.config().model_dump(mode="json"))

    @router.put("/faults")
    async def put_faults(request: Request) -> Response:
        guard(request)
        runtime.faults.configure(await _parse(request, FaultConfig))
        return _answer(200, runtime.faults.config().model_dump(mode="json"))

    @router.delete("/faults")
    async def delete_faults(request: Request) -> Response:
        guard(request)
        runtime.faults.configure(FaultConfig())
        return _answer(200, runtime.faults.config().model_dump(mode="json"))

    @router.get("/rate_limit")
    async def get_rate_limit(request: Request) -> Response:
        guard(request)
        return _answer(200, runtime.limiter.config.model_dump())

    @router.put("/rate_limit")
    async def put_rate_limit(request: Request) -> Response:
        guard(request)
        patch = await _parse(request, RateLimitPatch)
        merged = runtime.limiter.config.model_copy(update=patch.model_dump(exclude_none=True))
        runtime.limiter.configure(RateLimitConfig.model_validate(merged.model_dump()))
        return _answer(200, runtime.limiter.config.model_dump())

    @router.get("/calls")
    async def get_calls(request: Request) -> Response:
        guard(request)
        return _answer(200, runtime.ledger.snapshot())

    @router.delete("/calls")
    async def delete_calls(request: Request) -> Response:
        guard(request)
        runtime.ledger.reset()
        return _answer(200, runtime.ledger.snapshot())

    def experiment_in(project_id: int, experiment_id: int) -> int:
        experiment = state.experiments.get(experiment_id)
        if experiment is None or experiment.team_id != project(project_id).id:
            raise errors.not_found()
        return experiment.id

    @router.get("/projects/{project_id}/experiments/{experiment_id}/simulation")
    async def get_simulation(request: Request, project_id: int, experiment_id: int) -> Response:
        guard(request)
        stored = state.simulations.get(experiment_in(project_id, experiment_id))
        config = stored.config if stored is not None else SimulationConfig()
        return _answer(200, config.model_dump(mode="json", exclude_none=True))

    @router.put("/projects/{project_id}/experiments/{experiment_id}/simulation")
    async def put_simulation(request: Request, project_id: int, experiment_id: int) -> Response:
        guard(request)
        identifier = experiment_in(project_id, experiment_id)
        config = await _parse(request, SimulationConfig)
        state.save(Simulation(experiment_id=identifier, config=config))
        runtime.simulator.forget(identifier)
        state.flush()
        return _answer(200, config.model_dump(mode="json", exclude_none=True))

    @router.post("/projects/{project_id}/feature_flags")
    async def create_flag(request: Request, project_id: int) -> Response:
        guard(request)
        team = project(project_id)
        body = await _parse(request, FlagCreate)
        try:
            key = check_flag_key(body.key)
        except FieldError as error:
            raise error.to_api_error() from None
        if any(
            flag.team_id == team.id and flag.key == key and not flag.deleted
            for flag in state.flags.values()
        ):
            raise errors.validation_error(
                "There is already a feature flag with this key.", "key", "unique"
            )
        variants = checked_variants(body.variants) if body.variants else None
        flag = new_flag(
            state,
            team_id=team.id,
            key=key,
            name=body.name if body.name is not None else key,
            filters={
                "groups": [{"properties": [], "rollout_percentage": body.rollout_percentage}],
                "multivariate": {"variants": variants} if variants else None,
                "aggregation_group_type_index": None,
                "payloads": {},
            },
            active=body.active,
            user=state.users.get(1),
            creation_context="feature_flags",
        )
        flag.approval_required = body.approval_required
        state.save(flag)
        state.flush()
        return _answer(201, render_admin(flag))

    @router.get("/projects/{project_id}/feature_flags/{flag_id}")
    async def get_flag(request: Request, project_id: int, flag_id: int) -> Response:
        guard(request)
        return _answer(200, render_admin(flag_in(project_id, flag_id)))

    @router.patch("/projects/{project_id}/feature_flags/{flag_id}")
    async def patch_flag(request: Request, project_id: int, flag_id: int) -> Response:
        guard(request)
        flag = flag_in(project_id, flag_id)
        body = await _parse(request, FlagPatch)
        now = runtime.clock.now()
        variants = checked_variants(body.variants) if body.variants is not None else None
        if body.name is not None:
            flag.name = body.name
        if body.deleted is not None:
            flag.deleted = body.deleted
        if body.archived is not None:
            flag.archived = body.archived
        if body.approval_required is not None:
            flag.approval_required = body.approval_required
        if body.active is not None:
            flag.set_active(body.active, now)
        if variants is not None:
            flag.filters = {**flag.filters, "multivariate": {"variants": variants}}
        flag.version += 1
        flag.updated_at = now
        state.save(flag)
        state.flush()
        return _answer(200, render_admin(flag))

    @router.post("/keys")
    async def create_key(request: Request) -> Response:
        guard(request)
        body = await _parse(request, KeyCreate)
        value = body.key or f"phx_{secrets.token_urlsafe(24)}"
        if value in state.keys:
            raise errors.validation_error("A key with this value already exists.", "key")
        if body.user_id not in state.users:
            raise errors.validation_error("Unknown user.", "user_id")
        key = ApiKey(key=value, scopes=body.scopes, projects=body.projects, user_id=body.user_id)
        state.save(key)
        state.flush()
        return _answer(201, key.model_dump())

    @router.post("/recalculations/{recalculation_id}/fail")
    async def fail_recalculation(request: Request, recalculation_id: str) -> Response:
        guard(request)
        body = await _parse(request, FailBody)
        recalculation = state.recalculations.get(recalculation_id)
        if recalculation is None:
            raise errors.not_found()
        if recalculation.status not in ACTIVE_STATUSES:
            raise errors.validation_error("Recalculation is not pending.")
        finish_recalculation(state, recalculation, error=body.error)
        state.flush()
        return _answer(
            200,
            {
                "id": recalculation.id,
                "experiment_id": recalculation.experiment_id,
                "metric_uuid": recalculation.metric.get("uuid"),
                "fingerprint": recalculation.fingerprint,
                "status": recalculation.status,
                "created_at": recalculation.created_at.isoformat(),
                "error": recalculation.error,
            },
        )

    @router.get("/projects/{project_id}/events")
    async def get_events(request: Request, project_id: int) -> Response:
        guard(request)
        return _answer(200, {"events": project(project_id).known_events})

    @router.put("/projects/{project_id}/events")
    async def put_events(request: Request, project_id: int) -> Response:
        guard(request)
        team = project(project_id)
        body = await _parse(request, EventsBody)
        team.known_events = sorted(set(body.events))
        state.save(team)
        state.flush()
        return _answer(200, {"events": team.known_events})

    return router
