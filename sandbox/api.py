"""The 22 experiments operations: route table, request pipeline and handlers.

One catch-all route serves ``/api/...`` so the pipeline can follow DRF's order exactly:

1. URL resolution: a path matching no route is a 404 (no authentication needed). Paths need
   their trailing slash: PostHog runs with ``APPEND_SLASH = False``, so the slash-less form is
   unknown too (the reference leaves this UNCONFIRMED; the sandbox chooses 404);
2. authentication (401), then the project (404 when unknown; ``@current`` means the key's first
   allowed project, else project 1), the key's project allowlist (403) and scopes (403);
3. the rate limit (429, counted per organisation);
4. the method: a method the route does not serve is a 405 envelope, except ``DELETE`` on an
   experiment, which is PostHog's ``ForbidDestroyModel``: 405 with an empty body;
5. the handler. Bodies are parsed the way DRF does (JSON; an empty body or no Content-Type is
   ``{}``; other media types 415; malformed JSON a ``parse_error``) when the operation reads
   them; every experiment route reads them (PostHog's queryset looks at ``request.data``).

Handlers never await between reading and writing state, so each request is atomic; the state
is flushed to the store before the answer leaves.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request, Response

from sandbox import actions, errors, experiments, queries, timeseries
from sandbox.auth import authenticate, check_project_access, check_scopes
from sandbox.context import RequestContext
from sandbox.errors import ApiError, FieldError
from sandbox.fields import Field, char, integer, is_truthy_flag, parse_payload
from sandbox.metrics import has_legacy_metrics
from sandbox.representation import render_cohort, render_experiment
from sandbox.runtime import SandboxRuntime
from sandbox.state import Experiment, Project

logger = logging.getLogger("sandbox.api")

READ = ("experiment:read",)
WRITE = ("experiment:write",)
_PREFIX = r"^/api/projects/(?P<project_id>[^/]+)/experiments/"
UNKNOWN_OPERATION = "unknown"


@dataclass(frozen=True)
class Operation:
    """One PostHog operation served on a route."""

    name: str
    scopes: tuple[str, ...]
    reads_body: bool = True


@dataclass(frozen=True)
class Route:
    """A URL pattern and the operations its methods map to."""

    pattern: re.Pattern[str]
    methods: dict[str, Operation]
    detail: bool = False
    action: str | None = None

    def allow_header(self) -> str:
        """DRF's ``Allow`` header."""
        names = list(self.methods)
        if "GET" in names:
            names.append("HEAD")
        return ", ".join([*names, "OPTIONS"])


_DETAIL_ACTIONS: dict[str, tuple[str, Operation]] = {
    "archive": ("POST", Operation("experiments_archive_create", WRITE)),
    "unarchive": ("POST", Operation("experiments_unarchive_create", WRITE)),
    "copy_to_project": ("POST", Operation("experiments_copy_to_project_create", WRITE)),
    "create_exposure_cohort_for_experiment": (
        "POST",
        Operation("experiments_create_exposure_cohort_for_experiment_create", WRITE),
    ),
    "duplicate": ("POST", Operation("experiments_duplicate_create", WRITE)),
    "end": ("POST", Operation("experiments_end_create", WRITE)),
    "launch": ("POST", Operation("experiments_launch_create", WRITE)),
    "pause": ("POST", Operation("experiments_pause_create", WRITE)),
    "resume": ("POST", Operation("experiments_resume_create", WRITE)),
    "reset": ("POST", Operation("experiments_reset_create", WRITE)),
    "ship_variant": ("POST", Operation("experiments_ship_variant_create", WRITE)),
    "recalculate_timeseries": (
        "POST",
        Operation("experiments_recalculate_timeseries_create", WRITE),
    ),
    "timeseries_results": ("GET", Operation("experiments_timeseries_results_retrieve", READ)),
}

ROUTES: tuple[Route, ...] = (
    Route(
        re.compile(_PREFIX + "$"),
        {
            "GET": Operation("experiments_list", READ),
            "POST": Operation("experiments_create", WRITE),
        },
    ),
    Route(
        re.compile(_PREFIX + "eligible_feature_flags/$"),
        {
            "GET": Operation(
                "experiments_eligible_feature_flags_retrieve", ("feature_flag:read",), False
            )
        },
    ),
    Route(
        re.compile(_PREFIX + "requires_flag_implementation/$"),
        {"GET": Operation("experiments_requires_flag_implementation_retrieve", READ, False)},
    ),
    Route(
        re.compile(_PREFIX + "stats/$"),
        {"GET": Operation("experiments_stats_retrieve", READ, False)},
    ),
    Route(
        re.compile(_PREFIX + r"(?P<id>[^/.]+)/$"),
        {
            "GET": Operation("experiments_retrieve", READ),
            "PUT": Operation("experiments_update", WRITE),
            "PATCH": Operation("experiments_partial_update", WRITE),
            "DELETE": Operation("experiments_destroy", WRITE),
        },
        detail=True,
    ),
    *(
        Route(
            re.compile(_PREFIX + r"(?P<id>[^/.]+)/" + name + "/$"),
            {method: operation},
            detail=True,
            action=name,
        )
        for name, (method, operation) in _DETAIL_ACTIONS.items()
    ),
)


@dataclass
class RouteMatch:
    """A resolved path."""

    route: Route
    params: dict[str, str]

    def operation(self, method: str) -> Operation | None:
        """The operation ``method`` maps to (HEAD behaves as GET)."""
        return self.route.methods.get("GET" if method == "HEAD" else method)

    def operation_name(self, method: str) -> str:
        """What the ledger counts the request as."""
        operation = self.operation(method)
        if operation is not None:
            return operation.name
        if self.route.action is not None:
            return next(iter(self.route.methods.values())).name
        return UNKNOWN_OPERATION


def resolve(path: str) -> RouteMatch | None:
    """The route serving ``path``."""
    for route in ROUTES:
        found = route.pattern.match(path)
        if found is not None:
            return RouteMatch(route, dict(found.groupdict().items()))
    return None


def operation_name_for(method: str, path: str) -> str:
    """The ledger name of a request (used by the fault layer too)."""
    match = resolve(path)
    return match.operation_name(method) if match is not None else UNKNOWN_OPERATION


@dataclass
class RequestBody:
    """The raw body and DRF's parse of it, done once and only when asked for."""

    raw: bytes
    content_type: str | None
    _parsed: Any = field(default=None, init=False)
    _done: bool = field(default=False, init=False)

    def data(self) -> Any:
        """DRF's ``request.data``."""
        if not self._done:
            self._parsed = self._parse()
            self._done = True
        return self._parsed

    def _parse(self) -> Any:
        if not self.raw or not self.content_type:
            return {}
        media_type = self.content_type.split(";", 1)[0].strip().lower()
        if media_type == "application/json" or media_type.endswith("+json"):
            try:
                return json.loads(self.raw.decode("utf-8"), parse_constant=_reject_constant)
            except ValueError as error:
                raise errors.parse_error(str(error)) from None
        if media_type == "application/x-www-form-urlencoded":
            return dict(parse_qsl(self.raw.decode("utf-8", "replace"), keep_blank_values=True))
        raise errors.unsupported_media_type(self.content_type)


def _reject_constant(value: str) -> Any:
    raise ValueError(f"Out of range float values are not JSON compliant: {value!r}")


def _required_scopes(match: RouteMatch, method: str, body: RequestBody) -> tuple[str, ...]:
    operation = match.operation(method)
    if operation is None:
        return READ if method in ("GET", "HEAD", "OPTIONS") else WRITE
    scopes = operation.scopes
    if match.route.action in ("archive", "end", "ship_variant"):
        data = body.data()
        data = data if isinstance(data, Mapping) else {}
        if match.route.action == "archive" and is_truthy_flag(
            data.get("disable_feature_flag", False)
        ):
            scopes = (*scopes, "feature_flag:write")
        if match.route.action != "archive" and is_truthy_flag(data.get("open_cleanup_pr", False)):
            scopes = (*scopes, "task:write")
    return scopes


def _project(runtime: SandboxRuntime, raw_id: str, allowed: list[int] | None) -> Project:
    state = runtime.state
    if raw_id == "@current":
        candidates = allowed or [1]
        project = state.projects.get(candidates[0])
    else:
        try:
            project = state.projects.get(int(raw_id))
        except ValueError:
            project = None
    if project is None:
        raise errors.not_found()
    return project


def _str_to_bool(value: Any) -> bool:
    return str(value).lower() in ("y", "yes", "t", "true", "on", "1")


def _experiment(
    ctx: RequestContext, match: RouteMatch, *, include_deleted: bool = False
) -> Experiment:
    """DRF's ``get_object``: 404 for bad ids, other projects and soft-deleted rows."""
    try:
        experiment_id = int(match.params["id"])
    except ValueError:
        raise errors.not_found() from None
    experiment = ctx.state.experiments.get(experiment_id)
    if experiment is None or experiment.team_id != ctx.project.id:
        raise errors.not_found()
    if experiment.deleted and not include_deleted:
        raise errors.not_found()
    return experiment


COPY_FIELDS = [
    Field("target_team_id", integer, required=True),
    Field("feature_flag_key", char(allow_blank=True)),
    Field("name", char(allow_blank=True)),
]

Answer = tuple[int, Any]


def _handle(
    ctx: RequestContext,
    match: RouteMatch,
    operation: Operation,
    body: RequestBody,
    query: Mapping[str, str],
    url: str,
) -> Answer:
    """Run one operation; returns (status, JSON body)."""
    name = operation.name
    data = body.data() if operation.reads_body else {}
    if name == "experiments_list":
        return 200, queries.list_experiments(ctx, query, url)
    if name == "experiments_create":
        return 201, render_experiment(ctx.state, experiments.create_experiment(ctx, data))
    if name == "experiments_eligible_feature_flags_retrieve":
        return 200, queries.eligible_feature_flags(ctx, query)
    if name == "experiments_requires_flag_implementation_retrieve":
        return 200, queries.requires_flag_implementation(ctx, query)
    if name == "experiments_stats_retrieve":
        return 200, queries.velocity_stats(ctx)
    if name in ("experiments_update", "experiments_partial_update"):
        deleted = data.get("deleted") if isinstance(data, Mapping) else None
        include_deleted = deleted is not None and not _str_to_bool(deleted)
        experiment = _experiment(ctx, match, include_deleted=include_deleted)
        partial = name == "experiments_partial_update"
        updated = experiments.update_experiment(ctx, experiment, data, partial=partial)
        return 200, render_experiment(ctx.state, updated)
    experiment = _experiment(ctx, match)
    return _handle_detail(ctx, match, experiment, data, query)


def _handle_detail(
    ctx: RequestContext,
    match: RouteMatch,
    experiment: Experiment,
    data: Any,
    query: Mapping[str, str],
) -> Answer:
    action = match.route.action
    simple: dict[str | None, Callable[[RequestContext, Experiment], Experiment]] = {
        "launch": actions.launch,
        "pause": actions.pause,
        "resume": actions.resume,
        "reset": actions.reset,
        "unarchive": actions.unarchive,
    }
    with_body: dict[str | None, Callable[[RequestContext, Experiment, Any], Experiment]] = {
        "end": actions.end,
        "ship_variant": actions.ship_variant,
        "archive": actions.archive,
    }
    if action is None:
        return 200, render_experiment(ctx.state, experiment)
    if action in simple:
        return 200, render_experiment(ctx.state, simple[action](ctx, experiment))
    if action in with_body:
        return 200, render_experiment(ctx.state, with_body[action](ctx, experiment, data))
    if action == "duplicate":
        return 201, render_experiment(ctx.state, _duplicate(ctx, experiment, data))
    if action == "copy_to_project":
        return 201, render_experiment(ctx.state, _copy_to_project(ctx, experiment, data))
    if action == "create_exposure_cohort_for_experiment":
        cohort = experiments.create_exposure_cohort(ctx, experiment)
        return 201, {"cohort": render_cohort(ctx.state, cohort)}
    if action == "recalculate_timeseries":
        return timeseries.request_recalculation(ctx, experiment, data)
    return 200, timeseries.timeseries_results(ctx, experiment, dict(query))


def _duplicate(ctx: RequestContext, experiment: Experiment, data: Any) -> Experiment:
    if has_legacy_metrics(experiment.metrics, experiment.metrics_secondary):
        raise errors.plain(
            400, {"detail": "Duplication is not supported for experiments using legacy metrics."}
        )
    values = data if isinstance(data, Mapping) else {}
    return experiments.clone_experiment(
        ctx,
        experiment,
        target=ctx.project,
        feature_flag_key=values.get("feature_flag_key"),
        name=values.get("name"),
    )


def _copy_to_project(ctx: RequestContext, experiment: Experiment, data: Any) -> Experiment:
    if has_legacy_metrics(experiment.metrics, experiment.metrics_secondary):
        raise errors.plain(
            400, {"detail": "Copying is not supported for experiments using legacy metrics."}
        )
    try:
        values = parse_payload(data, COPY_FIELDS)
    except FieldError as error:
        raise error.to_api_error() from None
    target = ctx.state.projects.get(values["target_team_id"])
    if target is None or target.organization_id != ctx.project.organization_id:
        raise errors.plain(404, {"detail": "Target team not found."})
    return experiments.clone_experiment(
        ctx,
        experiment,
        target=target,
        feature_flag_key=values.get("feature_flag_key"),
        name=values.get("name"),
    )


def _json_response(status: int, body: Any, headers: Mapping[str, str]) -> Response:
    if body is None:
        return Response(status_code=status, headers=dict(headers))
    content = json.dumps(body, separators=(",", ":"), ensure_ascii=False)
    return Response(
        content=content.encode("utf-8"),
        status_code=status,
        media_type="application/json",
        headers=dict(headers),
    )


def _options_body(match: RouteMatch) -> dict[str, Any]:
    return {
        "name": "Experiment List" if not match.route.detail else "Experiment Instance",
        "description": "",
        "renders": ["application/json"],
        "parses": ["application/json", "application/x-www-form-urlencoded", "multipart/form-data"],
    }


def build_api_router(runtime: SandboxRuntime) -> APIRouter:
    """The router serving ``/api/...``."""
    router = APIRouter()
    methods = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]

    @router.api_route("/api/{path:path}", methods=methods, include_in_schema=False)
    async def serve(request: Request) -> Response:
        raw = await request.body()
        method = request.method
        match = resolve(request.url.path)
        if match is None:
            runtime.ledger.record_call(UNKNOWN_OPERATION, method, 404)
            error = errors.not_found()
            return _json_response(error.status, error.body, error.headers)
        status, response = _pipeline(runtime, request, match, raw)
        runtime.ledger.record_call(match.operation_name(method), method, status)
        return response

    return router


def _pipeline(
    runtime: SandboxRuntime, request: Request, match: RouteMatch, raw: bytes
) -> tuple[int, Response]:
    method = request.method
    headers = {"Allow": match.route.allow_header(), "Vary": "Accept"}
    body = RequestBody(raw, request.headers.get("content-type"))
    try:
        key = authenticate(runtime.state, request.headers.get("authorization"))
        project = _project(runtime, match.params["project_id"], key.projects)
        check_project_access(key, project.id)
        check_scopes(key, _required_scopes(match, method, body))
        wait = runtime.limiter.check(runtime.state.projects[project.id].organization_id)
        if wait is not None:
            runtime.ledger.record_throttled()
            raise errors.throttled(wait)
        if method == "OPTIONS":
            return 200, _json_response(200, _options_body(match), headers)
        operation = match.operation(method)
        if operation is None:
            raise errors.method_not_allowed(method)
        if operation.name == "experiments_destroy":
            return 405, _json_response(405, None, headers)
        user = runtime.state.users.get(key.user_id) or runtime.state.users[1]
        ctx = RequestContext(
            state=runtime.state,
            settings=runtime.settings,
            ledger=runtime.ledger,
            simulator=runtime.simulator,
            project=project,
            user=user,
            key=key,
        )
        query = dict(request.query_params)
        status, payload = _handle(ctx, match, operation, body, query, str(request.url))
        runtime.state.flush()
        if method == "HEAD":
            return status, Response(status_code=status, headers=headers)
        return status, _json_response(status, payload, headers)
    except ApiError as error:
        runtime.state.flush()
        return error.status, _json_response(error.status, error.body, {**headers, **error.headers})
    except Exception:
        logger.exception("sandbox handler failed for %s %s", method, request.url.path)
        failure = errors.server_error()
        return failure.status, _json_response(failure.status, failure.body, headers)
