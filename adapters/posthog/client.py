"""The one async PostHog client: sends any row of the operation table and maps every outcome.

Usage::

    async with PostHogClient(api_key="phx_...", project_id=1) as posthog:
        page = await posthog.list_experiments({"status": "running"})
        await posthog.launch_experiment(42)

Requests are validated against the row's models before any I/O; answers are parsed into the row's
response model. Retry-safe rows (GET, PUT, PATCH) are retried on transient failures; every
attempt passes through the rate limiter.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any, cast

import httpx
from pydantic import BaseModel, SecretStr
from pydantic import ValidationError as PydanticValidationError

from adapters.posthog.errors import (
    ConfigurationError,
    PostHogConnectionError,
    PostHogError,
    PostHogTimeoutError,
    RequestValidationError,
    ResponseDecodeError,
    error_from_response,
)
from adapters.posthog.models import (
    ApiModel,
    ArchiveExperiment,
    CopyExperimentToProject,
    DuplicateExperiment,
    EligibleFeatureFlags,
    EligibleFeatureFlagsQuery,
    EndExperiment,
    Experiment,
    ExperimentCreate,
    ExperimentPage,
    ExperimentPatch,
    ExperimentStats,
    ExperimentUpdate,
    ExposureCohort,
    FlagImplementationQuery,
    FlagImplementationRequirement,
    ListExperimentsQuery,
    RecalculateTimeseries,
    ShipVariant,
    TimeseriesRecalculation,
    TimeseriesResults,
    TimeseriesResultsQuery,
)
from adapters.posthog.operations import (
    ARCHIVE_EXPERIMENT,
    CHECK_FLAG_IMPLEMENTATION,
    COPY_EXPERIMENT_TO_PROJECT,
    CREATE_EXPERIMENT,
    CREATE_EXPOSURE_COHORT,
    DELETE_EXPERIMENT,
    DUPLICATE_EXPERIMENT,
    END_EXPERIMENT,
    GET_EXPERIMENT,
    GET_EXPERIMENT_STATS,
    GET_TIMESERIES_RESULTS,
    LAUNCH_EXPERIMENT,
    LIST_ELIGIBLE_FEATURE_FLAGS,
    LIST_EXPERIMENTS,
    PATCH_EXPERIMENT,
    PAUSE_EXPERIMENT,
    RECALCULATE_TIMESERIES,
    RESET_EXPERIMENT,
    RESUME_EXPERIMENT,
    SHIP_VARIANT,
    UNARCHIVE_EXPERIMENT,
    UPDATE_EXPERIMENT,
    Operation,
    ResponseT,
    operation_named,
)
from adapters.posthog.ratelimit import Limiter, shared_limiter
from adapters.posthog.retry import RetryPolicy
from adapters.posthog.settings import load_settings

logger = logging.getLogger("expctl.posthog")

Input = BaseModel | Mapping[str, Any] | None
USER_AGENT = "expctl/0.1 (+https://github.com/expctl)"


@dataclass(frozen=True)
class PreparedRequest:
    """A request ready to send: what a dry run reports and what the client sends."""

    operation: str
    method: str
    path: str
    params: dict[str, str]
    body: dict[str, Any] | None

    def describe(self) -> dict[str, Any]:
        """JSON-ready description (no credentials in it)."""
        return {
            "operation": self.operation,
            "method": self.method,
            "path": self.path,
            "query": self.params or None,
            "body": self.body,
        }


@dataclass(frozen=True)
class PostHogResponse:
    """A success answer: its status and decoded JSON body (``None`` when empty)."""

    status_code: int
    body: Any


class PostHogClient:
    """Async client for PostHog's experiments API; one ``httpx.AsyncClient`` per instance."""

    def __init__(
        self,
        *,
        api_key: str | SecretStr | None = None,
        host: str | None = None,
        project_id: int | None = None,
        timeout: float | None = None,
        connect_timeout: float | None = None,
        max_attempts: int | None = None,
        rate_limit_per_minute: int | None = None,
        rate_limit_per_hour: int | None = None,
        limiter: Limiter | None = None,
        rate_limit: bool = True,
        retry: RetryPolicy | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        settings = load_settings(
            api_key=api_key,
            host=host,
            project_id=project_id,
            timeout=timeout,
            connect_timeout=connect_timeout,
            max_attempts=max_attempts,
            rate_limit_per_minute=rate_limit_per_minute,
            rate_limit_per_hour=rate_limit_per_hour,
        )
        key = settings.api_key.get_secret_value().strip() if settings.api_key else ""
        if not key:
            raise ConfigurationError(
                "POSTHOG_API_KEY is not set: pass api_key= or set POSTHOG_API_KEY to a personal "
                "API key (phx_...) with the experiment:read and experiment:write scopes"
            )
        if any(ch.isspace() for ch in key) or not key.isprintable():
            raise ConfigurationError("POSTHOG_API_KEY contains whitespace or control characters")
        self.settings = settings
        self.host = settings.host
        self.project_id = settings.project_id
        self.retry = retry or RetryPolicy(max_attempts=settings.max_attempts)
        self._limiter = limiter
        self._rate_limit = rate_limit
        self._http = httpx.AsyncClient(
            base_url=settings.host,
            transport=transport,
            timeout=httpx.Timeout(settings.timeout, connect=settings.connect_timeout),
            headers={
                "Authorization": f"Bearer {key}",
                "Accept": "application/json",
                "User-Agent": USER_AGENT,
            },
            follow_redirects=False,
            # Adapters serve many callers at once: keep enough idle connections to PostHog that
            # concurrency never forces a reconnect (httpx keeps 20 by default).
            limits=httpx.Limits(
                max_connections=200, max_keepalive_connections=100, keepalive_expiry=30
            ),
        )

    def __repr__(self) -> str:
        return f"PostHogClient(host={self.host!r}, project_id={self.project_id!r})"

    async def __aenter__(self) -> PostHogClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    # -- the generic path: every named method below is one line over these -------------------

    def prepare(
        self,
        operation: Operation[Any],
        *,
        id: int | None = None,
        project_id: int | None = None,
        query: Input = None,
        body: Input = None,
    ) -> PreparedRequest:
        """Validate the inputs against the row and build the request; raises before any I/O."""
        project = self._project(project_id, operation)
        path_values: dict[str, int] = {"project_id": project}
        if operation.has_id:
            path_values["id"] = _positive_int(id, "id", operation)
        elif id is not None:
            raise RequestValidationError(
                f"{operation.name} takes no experiment id", attr="id", operation=operation.name
            )
        params = _query_params(operation, query)
        return PreparedRequest(
            operation=operation.name,
            method=operation.method,
            path=operation.path.format(**path_values),
            params=params,
            body=_json_body(operation, body),
        )

    async def request(
        self,
        operation: Operation[Any],
        *,
        id: int | None = None,
        project_id: int | None = None,
        query: Input = None,
        body: Input = None,
    ) -> PostHogResponse:
        """Send the operation and return PostHog's status and JSON untouched (for pass-through)."""
        prepared = self.prepare(operation, id=id, project_id=project_id, query=query, body=body)
        return await self.send(prepared, retry_safe=operation.idempotent)

    async def call(
        self,
        operation: Operation[ResponseT],
        *,
        id: int | None = None,
        project_id: int | None = None,
        query: Input = None,
        body: Input = None,
    ) -> ResponseT:
        """Send the operation and parse the answer into the row's response model."""
        response = await self.request(
            operation, id=id, project_id=project_id, query=query, body=body
        )
        model = operation.response
        if model is None:
            return cast(ResponseT, None)
        try:
            return cast(ResponseT, cast(type[ApiModel], model).from_api(response.body))
        except PydanticValidationError as error:
            raise ResponseDecodeError(
                f"{operation.name}: PostHog's answer does not look like {model.__name__}: "
                f"{error.errors()[0]['msg']} at {_location(error)}"
            ) from None

    async def send(self, prepared: PreparedRequest, *, retry_safe: bool) -> PostHogResponse:
        """Send a prepared request, retrying only when ``retry_safe`` and the failure allows."""
        policy = self.retry
        attempts = policy.max_attempts if retry_safe else 1
        waited = 0.0
        attempt = 0
        while True:
            attempt += 1
            try:
                return await self._send_once(prepared)
            except PostHogError as error:
                if attempt >= attempts or not policy.should_retry(error):
                    raise
                delay = policy.delay(attempt, error)
                if waited + delay > policy.max_total:
                    raise
                logger.warning(
                    "%s %s failed (%s); retry %d/%d in %.2fs",
                    prepared.method,
                    prepared.path,
                    type(error).__name__,
                    attempt,
                    attempts - 1,
                    delay,
                )
                await policy.sleep(delay)
                waited += delay

    async def _send_once(self, prepared: PreparedRequest) -> PostHogResponse:
        limiter = self._active_limiter()
        if limiter is not None:
            await limiter.acquire()
        started = time.perf_counter()
        try:
            response = await self._http.request(
                prepared.method,
                prepared.path,
                params=prepared.params or None,
                json=prepared.body,
            )
        except httpx.TimeoutException:
            raise PostHogTimeoutError(
                f"{prepared.method} {prepared.path}: PostHog at {self.host} did not answer within "
                f"{self.settings.timeout:g}s"
            ) from None
        except httpx.TransportError as error:
            raise PostHogConnectionError(
                f"{prepared.method} {prepared.path}: connection to PostHog at {self.host} failed "
                f"({type(error).__name__}: {error})"
            ) from None
        finally:
            if limiter is not None:
                limiter.release()
        elapsed_ms = (time.perf_counter() - started) * 1000
        logger.debug(
            "%s %s -> %d (%.0f ms)",
            prepared.method,
            prepared.path,
            response.status_code,
            elapsed_ms,
        )
        if not response.is_success:
            raise error_from_response(response)
        return PostHogResponse(response.status_code, _decode(response, prepared))

    def _active_limiter(self) -> Limiter | None:
        if not self._rate_limit:
            return None
        if self._limiter is None:
            self._limiter = shared_limiter(
                self.host,
                self.settings.rate_limit_per_minute,
                self.settings.rate_limit_per_hour,
            )
        return self._limiter

    def _project(self, project_id: int | None, operation: Operation[Any]) -> int:
        if project_id is None:
            project_id = self.project_id
        if project_id is None:
            raise RequestValidationError(
                f"{operation.name} needs a project: pass project_id= or set POSTHOG_PROJECT_ID",
                attr="project_id",
                operation=operation.name,
            )
        return _positive_int(project_id, "project_id", operation)

    # -- what the lifecycle needs (lifecycle.ports.ExperimentsGateway) -----------------------

    async def invoke(
        self,
        operation: str,
        experiment_id: int,
        body: Mapping[str, Any] | None = None,
        *,
        project_id: int | None = None,
    ) -> Any:
        """Call an experiment operation by its table name; returns PostHog's JSON."""
        op = operation_named(operation)
        response = await self.request(op, id=experiment_id, project_id=project_id, body=body)
        return response.body

    def describe(
        self,
        operation: str,
        experiment_id: int,
        body: Mapping[str, Any] | None = None,
        *,
        project_id: int | None = None,
    ) -> dict[str, Any]:
        """What :meth:`invoke` would send, without sending it."""
        op = operation_named(operation)
        return self.prepare(op, id=experiment_id, project_id=project_id, body=body).describe()

    # -- the 22 operations ------------------------------------------------------------------

    async def list_experiments(
        self,
        query: ListExperimentsQuery | Mapping[str, Any] | None = None,
        *,
        project_id: int | None = None,
    ) -> ExperimentPage:
        """One page of experiments."""
        return await self.call(LIST_EXPERIMENTS, query=query, project_id=project_id)

    async def iter_experiments(
        self,
        query: ListExperimentsQuery | Mapping[str, Any] | None = None,
        *,
        project_id: int | None = None,
        page_size: int = 100,
    ) -> AsyncIterator[Experiment]:
        """Every experiment matching ``query``, page after page (limit/offset)."""
        filters = dict(_as_mapping(query))
        filters.setdefault("limit", page_size)
        offset = int(filters.pop("offset", 0) or 0)
        while True:
            page = await self.list_experiments({**filters, "offset": offset}, project_id=project_id)
            for experiment in page.results:
                yield experiment
            offset += len(page.results)
            if not page.results or page.next is None or offset >= page.count:
                return

    async def create_experiment(
        self, body: ExperimentCreate | Mapping[str, Any], *, project_id: int | None = None
    ) -> Experiment:
        """Create a draft experiment (201)."""
        return await self.call(CREATE_EXPERIMENT, body=body, project_id=project_id)

    async def list_eligible_feature_flags(
        self,
        query: EligibleFeatureFlagsQuery | Mapping[str, Any] | None = None,
        *,
        project_id: int | None = None,
    ) -> EligibleFeatureFlags:
        """Flags that can back an experiment."""
        return await self.call(LIST_ELIGIBLE_FEATURE_FLAGS, query=query, project_id=project_id)

    async def check_flag_implementation(
        self,
        query: FlagImplementationQuery | Mapping[str, Any] | None = None,
        *,
        project_id: int | None = None,
    ) -> FlagImplementationRequirement:
        """Whether recent events still lack ``$feature/`` properties."""
        return await self.call(CHECK_FLAG_IMPLEMENTATION, query=query, project_id=project_id)

    async def get_experiment_stats(self, *, project_id: int | None = None) -> ExperimentStats:
        """Launch velocity of the project."""
        return await self.call(GET_EXPERIMENT_STATS, project_id=project_id)

    async def get_experiment(self, id: int, *, project_id: int | None = None) -> Experiment:
        """One experiment."""
        return await self.call(GET_EXPERIMENT, id=id, project_id=project_id)

    async def update_experiment(
        self, id: int, body: ExperimentUpdate | Mapping[str, Any], *, project_id: int | None = None
    ) -> Experiment:
        """Full update (PUT)."""
        return await self.call(UPDATE_EXPERIMENT, id=id, body=body, project_id=project_id)

    async def patch_experiment(
        self, id: int, body: ExperimentPatch | Mapping[str, Any], *, project_id: int | None = None
    ) -> Experiment:
        """Partial update (PATCH)."""
        return await self.call(PATCH_EXPERIMENT, id=id, body=body, project_id=project_id)

    async def soft_delete_experiment(self, id: int, *, project_id: int | None = None) -> Experiment:
        """Delete the PostHog way: PATCH ``{"deleted": true}``."""
        return await self.patch_experiment(id, {"deleted": True}, project_id=project_id)

    async def restore_experiment(self, id: int, *, project_id: int | None = None) -> Experiment:
        """Undo a soft delete: PATCH ``{"deleted": false}``."""
        return await self.patch_experiment(id, {"deleted": False}, project_id=project_id)

    async def delete_experiment(self, id: int, *, project_id: int | None = None) -> None:
        """Hard delete: PostHog always refuses (MethodNotAllowedError pointing to soft delete)."""
        await self.call(DELETE_EXPERIMENT, id=id, project_id=project_id)

    async def archive_experiment(
        self,
        id: int,
        body: ArchiveExperiment | Mapping[str, Any] | None = None,
        *,
        project_id: int | None = None,
    ) -> Experiment:
        """Archive an ended experiment."""
        return await self.call(ARCHIVE_EXPERIMENT, id=id, body=body, project_id=project_id)

    async def copy_experiment_to_project(
        self,
        id: int,
        body: CopyExperimentToProject | Mapping[str, Any],
        *,
        project_id: int | None = None,
    ) -> Experiment:
        """Copy as a draft into another project (201)."""
        return await self.call(COPY_EXPERIMENT_TO_PROJECT, id=id, body=body, project_id=project_id)

    async def create_exposure_cohort(
        self, id: int, *, project_id: int | None = None
    ) -> ExposureCohort:
        """Cohort of the users exposed to the experiment (201)."""
        return await self.call(CREATE_EXPOSURE_COHORT, id=id, project_id=project_id)

    async def duplicate_experiment(
        self,
        id: int,
        body: DuplicateExperiment | Mapping[str, Any] | None = None,
        *,
        project_id: int | None = None,
    ) -> Experiment:
        """Duplicate as a draft in the same project (201)."""
        return await self.call(DUPLICATE_EXPERIMENT, id=id, body=body, project_id=project_id)

    async def end_experiment(
        self,
        id: int,
        body: EndExperiment | Mapping[str, Any] | None = None,
        *,
        project_id: int | None = None,
    ) -> Experiment:
        """End without shipping."""
        return await self.call(END_EXPERIMENT, id=id, body=body, project_id=project_id)

    async def launch_experiment(self, id: int, *, project_id: int | None = None) -> Experiment:
        """Launch a draft."""
        return await self.call(LAUNCH_EXPERIMENT, id=id, project_id=project_id)

    async def pause_experiment(self, id: int, *, project_id: int | None = None) -> Experiment:
        """Pause (deactivate the flag)."""
        return await self.call(PAUSE_EXPERIMENT, id=id, project_id=project_id)

    async def recalculate_timeseries(
        self,
        id: int,
        body: RecalculateTimeseries | Mapping[str, Any],
        *,
        project_id: int | None = None,
    ) -> TimeseriesRecalculation:
        """Recompute a metric's daily results (201 new, 200 already pending)."""
        return await self.call(RECALCULATE_TIMESERIES, id=id, body=body, project_id=project_id)

    async def reset_experiment(self, id: int, *, project_id: int | None = None) -> Experiment:
        """Back to draft."""
        return await self.call(RESET_EXPERIMENT, id=id, project_id=project_id)

    async def resume_experiment(self, id: int, *, project_id: int | None = None) -> Experiment:
        """Resume (reactivate the flag)."""
        return await self.call(RESUME_EXPERIMENT, id=id, project_id=project_id)

    async def ship_variant(
        self, id: int, body: ShipVariant | Mapping[str, Any], *, project_id: int | None = None
    ) -> Experiment:
        """Ship a variant and end."""
        return await self.call(SHIP_VARIANT, id=id, body=body, project_id=project_id)

    async def get_timeseries_results(
        self,
        id: int,
        query: TimeseriesResultsQuery | Mapping[str, Any],
        *,
        project_id: int | None = None,
    ) -> TimeseriesResults:
        """A metric's stored daily results."""
        return await self.call(GET_TIMESERIES_RESULTS, id=id, query=query, project_id=project_id)

    async def unarchive_experiment(self, id: int, *, project_id: int | None = None) -> Experiment:
        """Unarchive."""
        return await self.call(UNARCHIVE_EXPERIMENT, id=id, project_id=project_id)


def _positive_int(value: Any, name: str, operation: Operation[Any]) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise RequestValidationError(
            f"{name} must be a positive integer, got {value!r}", attr=name, operation=operation.name
        )
    return value


def _as_mapping(value: Input) -> Mapping[str, Any]:
    if value is None:
        return {}
    if isinstance(value, BaseModel):
        return value.model_dump(exclude_unset=True)
    return value


def _validated(model: type[BaseModel], value: Input, operation: Operation[Any]) -> BaseModel:
    if isinstance(value, model):
        return value
    if isinstance(value, BaseModel):
        value = value.model_dump(exclude_unset=True)
    if value is not None and not isinstance(value, Mapping):
        raise RequestValidationError(
            f"{operation.name}: expected a JSON object, got {type(value).__name__}",
            operation=operation.name,
        )
    try:
        return model.model_validate(dict(value or {}))
    except PydanticValidationError as error:
        first = error.errors()[0]
        attr = _location(error) or None
        message = str(first["msg"]).removeprefix("Value error, ")
        if first["type"] == "extra_forbidden":
            message = f"unknown field for {operation.name}"
        raise RequestValidationError(
            f"{attr}: {message}" if attr else message, attr=attr, operation=operation.name
        ) from None


def _query_params(operation: Operation[Any], query: Input) -> dict[str, str]:
    if operation.query is None:
        if query:
            raise RequestValidationError(
                f"{operation.name} takes no query parameters", operation=operation.name
            )
        return {}
    model = _validated(operation.query, query, operation)
    params: dict[str, str] = {}
    for name, value in model.model_dump(mode="json", exclude_none=True).items():
        if isinstance(value, bool):
            params[name] = "true" if value else "false"
        elif isinstance(value, dict | list):
            params[name] = json.dumps(value, separators=(",", ":"))
        else:
            params[name] = str(value)
    return params


def _json_body(operation: Operation[Any], body: Input) -> dict[str, Any] | None:
    if operation.body is None:
        if body:
            raise RequestValidationError(
                f"{operation.name} takes no request body", operation=operation.name
            )
        return None
    model = _validated(operation.body, body, operation)
    return model.model_dump(mode="json", exclude_unset=True, by_alias=True)


def _decode(response: httpx.Response, prepared: PreparedRequest) -> Any:
    if not response.content:
        return None
    try:
        return response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise ResponseDecodeError(
            f"{prepared.method} {prepared.path}: PostHog answered {response.status_code} with a "
            "body that is not JSON"
        ) from None


def _location(error: PydanticValidationError) -> str:
    return ".".join(str(part) for part in error.errors()[0]["loc"])
