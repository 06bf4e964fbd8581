"""The capability's ``/v1`` routes, generated from the operation table: one route per row.

Each row is served once at its REST path, with ``{project-id}`` as the integer path parameter
``project_id`` (PostHog's project) and ``{id}`` as an integer; routes whose paths are all static
are registered before the ``{id}`` ones. Query parameters come from the row's query model (JSON
for list- and object-typed ones); bodies are read here, held to the JSON types of the row's body
model, and validated against it by the client. What a route does depends on its kind:

* **read** (GET): sent as it is; PostHog's status and JSON pass through whole;
* **create**: lifecycle fields refused, then sent (PostHog's 201 passes through);
* **update** (PUT, PATCH): through ``LifecycleService.update`` (lifecycle fields refused;
  ``{"deleted": true}`` on a running experiment needs ``?confirm=true``);
* **lifecycle** (launch, pause, resume, end, ship-variant, archive, unarchive, reset): through
  ``LifecycleService.apply``; the body is PostHog's JSON of the re-read experiment and the
  ``Expctl-*`` headers say what happened (``applied``, or ``unchanged`` for a no-op);
* **action** (copy, duplicate, exposure cohort, recalculate) and **delete**: sent as they are.

Every mutating route takes ``?dry_run=true``: nothing is sent, and the answer describes the
request that would be (read-only tokens may do this).
"""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import Awaitable, Callable, Sequence
from enum import StrEnum
from typing import Annotated, Any, get_args, get_origin

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel
from starlette.responses import JSONResponse, Response

from adapters.posthog.client import PostHogClient, PostHogResponse
from adapters.posthog.models import Experiment
from adapters.posthog.operations import (
    COPY_EXPERIMENT_TO_PROJECT,
    OPERATIONS,
    Operation,
)
from adapters.rest.bodies import check_json_types, read_json_object
from adapters.rest.dependencies import CallerDep, Mutation, MutationDep, RestContext, context_of
from adapters.rest.errors import ApiError
from adapters.rest.models import DryRun, ErrorEnvelope
from adapters.rest.openapi import request_body
from lifecycle.service import ActionResult, Outcome, refuse_lifecycle_fields

MAX_ID = 2**63 - 1
QUERY_PREFIX = "query__"

OUTCOME = "Expctl-Outcome"
STATUS_BEFORE = "Expctl-Status-Before"
STATUS_AFTER = "Expctl-Status-After"
MESSAGE = "Expctl-Message"
WARNING = "Expctl-Warning"

OUTCOME_HEADERS: dict[str, dict[str, Any]] = {
    OUTCOME: {
        "description": "applied, unchanged (already there: a no-op), dry_run or approval_required",
        "schema": {"type": "string"},
    },
    STATUS_BEFORE: {"description": "The experiment's status before.", "schema": {"type": "string"}},
    STATUS_AFTER: {"description": "The experiment's status after.", "schema": {"type": "string"}},
    MESSAGE: {
        "description": "What happened (ASCII; other characters percent-encoded).",
        "schema": {"type": "string"},
    },
    WARNING: {
        "description": "expctl's launch checks that did not block (one header each).",
        "schema": {"type": "string"},
    },
}


class RouteKind(StrEnum):
    """What a generated route does with its request."""

    READ = "read"
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"
    LIFECYCLE = "lifecycle"
    ACTION = "action"


def kind_of(operation: Operation[Any]) -> RouteKind:
    """The route kind of a row."""
    if operation.lifecycle_action is not None:
        return RouteKind.LIFECYCLE
    if operation.method == "GET":
        return RouteKind.READ
    if operation.method in ("PUT", "PATCH"):
        return RouteKind.UPDATE
    if operation.method == "DELETE":
        return RouteKind.DELETE
    return RouteKind.ACTION if operation.has_id else RouteKind.CREATE


def route_path(operation: Operation[Any]) -> str:
    """The row's REST path as Starlette matches it: ``{project-id}`` → ``{project_id:int}``.

    The int convertors keep ``/experiments/stats`` from ever matching ``/experiments/{id}``, so a
    wrong method on a static path is a 405, not a bad id.
    """
    return re.sub(
        r"\{([A-Za-z0-9_-]+)\}",
        lambda m: "{" + m[1].replace("-", "_") + ":int}",
        operation.rest_path,
    )


def routing_order(operations: Sequence[Operation[Any]]) -> list[Operation[Any]]:
    """Rows in registration order: all-static paths before ``{id}`` paths; a duplicate is an error."""
    seen: dict[tuple[str, str], str] = {}
    for operation in operations:
        key = (route_path(operation), operation.method)
        if key in seen:
            raise ValueError(f"{operation.name} and {seen[key]} are both {key[1]} {key[0]}")
        seen[key] = operation.name
    return sorted(operations, key=lambda operation: operation.has_id)


def operation_router(operations: Sequence[Operation[Any]] = OPERATIONS) -> APIRouter:
    """One route per row of the operation table."""
    router = APIRouter()
    for operation in routing_order(operations):
        kind = kind_of(operation)
        router.add_api_route(
            route_path(operation),
            _endpoint(operation, kind),
            methods=[operation.method],
            name=operation.name,
            operation_id=operation.name,
            summary=operation.summary,
            description=_description(operation, kind),
            tags=["lifecycle" if kind is RouteKind.LIFECYCLE else "experiments"],
            status_code=operation.success_statuses[0],
            response_model=None,
            responses=_responses(operation, kind),
            openapi_extra=_openapi_extra(operation),
        )
    return router


# -- the endpoints ------------------------------------------------------------------------------

Handler = Callable[[Operation[Any], RestContext, Request, dict[str, Any]], Awaitable[Response]]


def _endpoint(operation: Operation[Any], kind: RouteKind) -> Callable[..., Awaitable[Response]]:
    handler = _HANDLERS[kind]

    async def endpoint(**params: Any) -> Response:
        request: Request = params["request"]
        return await handler(operation, context_of(request), request, params)

    endpoint.__name__ = endpoint.__qualname__ = operation.name
    endpoint.__doc__ = operation.summary
    endpoint.__signature__ = _signature(operation, kind)  # type: ignore[attr-defined]
    return endpoint


async def _read(
    operation: Operation[Any], context: RestContext, request: Request, params: dict[str, Any]
) -> Response:
    response = await context.client.request(
        operation,
        id=params.get("id"),
        project_id=params["project_id"],
        query=_query(operation, params),
    )
    return _passthrough(response)


async def _create(
    operation: Operation[Any], context: RestContext, request: Request, params: dict[str, Any]
) -> Response:
    body = await _body(operation, request) or {}
    refuse_lifecycle_fields(body, action="create")
    return await _send(operation, context, params, body)


async def _action(
    operation: Operation[Any], context: RestContext, request: Request, params: dict[str, Any]
) -> Response:
    return await _send(operation, context, params, await _body(operation, request))


async def _send(
    operation: Operation[Any],
    context: RestContext,
    params: dict[str, Any],
    body: dict[str, Any] | None,
) -> Response:
    mutation: Mutation = params["mutation"]
    client: PostHogClient = context.client
    prepared = client.prepare(
        operation, id=params.get("id"), project_id=params["project_id"], body=body
    )
    if operation is COPY_EXPERIMENT_TO_PROJECT and prepared.body is not None:
        context.check_project(int(prepared.body["target_team_id"]), attr="target_team_id")
    if mutation.dry_run:
        dry = DryRun(
            operation=operation.name,
            message=f"would send {prepared.method} {prepared.path}: nothing was sent",
            request=prepared.describe(),
        )
        return _json(dry.model_dump(mode="json"), 200, {OUTCOME: Outcome.DRY_RUN.value})
    response = await client.send(prepared, retry_safe=operation.idempotent)
    return _passthrough(response)


async def _update(
    operation: Operation[Any], context: RestContext, request: Request, params: dict[str, Any]
) -> Response:
    mutation: Mutation = params["mutation"]
    changes = await _body(operation, request) or {}
    # Validate the body before the service reads the experiment: a bad body costs no call.
    context.client.prepare(
        operation, id=params["id"], project_id=params["project_id"], body=changes
    )
    result = await context.service.update(
        params["id"],
        changes,
        full=operation.method == "PUT",
        project_id=params["project_id"],
        dry_run=mutation.dry_run,
        confirm=params["confirm"],
        actor=mutation.caller.name,
        reason=params.get("reason"),
    )
    return _result(operation, result)


async def _lifecycle(
    operation: Operation[Any], context: RestContext, request: Request, params: dict[str, Any]
) -> Response:
    mutation: Mutation = params["mutation"]
    arguments = await _body(operation, request)
    assert operation.lifecycle_action is not None
    result = await context.service.apply(
        params["id"],
        operation.lifecycle_action,
        arguments,
        project_id=params["project_id"],
        dry_run=mutation.dry_run,
        actor=mutation.caller.name,
        reason=params.get("reason"),
    )
    return _result(operation, result)


async def _body(operation: Operation[Any], request: Request) -> dict[str, Any] | None:
    """The request's JSON object (``None`` when empty), held to the row's body types."""
    body = await read_json_object(request)
    if body is not None and operation.body is not None:
        check_json_types(operation.body, await request.body())
    return body


def _result(operation: Operation[Any], result: ActionResult) -> Response:
    """The answer for a lifecycle or update result: PostHog's experiment, the outcome in headers."""
    record = result.record
    status_after = record.status_after
    headers = {
        OUTCOME: result.outcome.value,
        STATUS_BEFORE: record.status_before,
        STATUS_AFTER: status_after,
        MESSAGE: header_text(result.message),
    }
    if result.outcome is Outcome.DRY_RUN:
        dry = DryRun(
            operation=operation.name,
            message=result.message,
            status_before=record.status_before,
            status_after=status_after,
            request=result.request,
            warnings=result.warnings,
            experiment=_experiment_json(result.experiment),
        )
        response = _json(dry.model_dump(mode="json"), 200, headers)
    elif result.outcome is Outcome.APPROVAL_REQUIRED:
        body = result.upstream
        if body is None:
            body = ApiError(409, result.message, code="approval_required").envelope()
        response = _json(body, 409, headers)
    else:
        response = _json(result.experiment.raw(), 200, headers)
    for warning in result.warnings:
        response.headers.append(WARNING, header_text(warning))
    return response


def _experiment_json(experiment: Experiment) -> dict[str, Any] | None:
    raw = experiment.raw()
    return raw if isinstance(raw, dict) else None


def _passthrough(response: PostHogResponse) -> Response:
    return _json(response.body, response.status_code)


def _json(body: Any, status: int, headers: dict[str, str] | None = None) -> Response:
    if body is None:
        return Response(status_code=status, headers=headers)
    return JSONResponse(body, status, headers=headers)


def header_text(text: str) -> str:
    """``text`` as a header value: arrows spelled out, anything outside printable ASCII escaped."""
    text = text.replace("→", "->")
    return "".join(char if " " <= char <= "~" and char != "%" else _percent(char) for char in text)


def _percent(char: str) -> str:
    return "".join(f"%{byte:02X}" for byte in char.encode("utf-8", "surrogatepass"))


_HANDLERS: dict[RouteKind, Handler] = {
    RouteKind.READ: _read,
    RouteKind.CREATE: _create,
    RouteKind.UPDATE: _update,
    RouteKind.DELETE: _action,
    RouteKind.LIFECYCLE: _lifecycle,
    RouteKind.ACTION: _action,
}


# -- parameters ---------------------------------------------------------------------------------


def _signature(operation: Operation[Any], kind: RouteKind) -> inspect.Signature:
    """The endpoint's parameters, for FastAPI to parse, validate and document."""

    def param(name: str, annotation: Any, default: Any = inspect.Parameter.empty) -> Any:
        return inspect.Parameter(
            name, inspect.Parameter.KEYWORD_ONLY, annotation=annotation, default=default
        )

    params = [
        param("request", Request),
        param(
            "project_id",
            Annotated[
                int,
                Path(
                    ge=1,
                    le=MAX_ID,
                    description="PostHog project id (the capability's `{project-id}`).",
                    examples=[1],
                ),
            ],
        ),
    ]
    if operation.has_id:
        params.append(
            param(
                "id",
                Annotated[int, Path(ge=1, le=MAX_ID, description="Experiment id.", examples=[1])],
            )
        )
    params.append(
        param("caller", CallerDep) if kind is RouteKind.READ else param("mutation", MutationDep)
    )
    if kind is RouteKind.UPDATE:
        params.append(
            param(
                "confirm",
                Annotated[
                    bool,
                    Query(
                        description='Confirm a soft delete ({"deleted": true}) of a running experiment.'
                    ),
                ],
                False,
            )
        )
    if kind in (RouteKind.UPDATE, RouteKind.LIFECYCLE):
        params.append(
            param(
                "reason",
                Annotated[
                    str | None,
                    Query(
                        max_length=500, description="Why: kept in expctl's action record and logs."
                    ),
                ],
                None,
            )
        )
    if operation.query is not None:
        params.extend(_query_parameters(operation.query, param))
    return inspect.Signature(params)


def _query_parameters(model: type[BaseModel], param: Callable[..., Any]) -> list[Any]:
    found = []
    for name, field in model.model_fields.items():
        description = field.description or ""
        if is_json_typed(field.annotation):
            annotation: Any = Annotated[
                str | None, Query(alias=name, description=f"{description} JSON-encoded.".strip())
            ]
        else:
            annotation = Annotated[
                (field.annotation, *field.metadata, Query(alias=name, description=description))
            ]
        default = inspect.Parameter.empty if field.is_required() else None
        found.append(param(QUERY_PREFIX + name, annotation, default))
    return found


def is_json_typed(annotation: Any) -> bool:
    options = get_args(annotation) if get_origin(annotation) is not None else (annotation,)
    return any(get_origin(option) in (list, dict) or option in (list, dict) for option in options)


def _query(operation: Operation[Any], params: dict[str, Any]) -> dict[str, Any] | None:
    """The row's query values that were given; JSON-encoded ones decoded (422 when not JSON)."""
    if operation.query is None:
        return None
    values: dict[str, Any] = {}
    for name, field in operation.query.model_fields.items():
        value = params.get(QUERY_PREFIX + name)
        if value is None:
            continue
        if is_json_typed(field.annotation):
            try:
                value = json.loads(value)
            except ValueError:
                raise ApiError(
                    422, f'{name}: must be JSON, e.g. [{{"id": "$pageview"}}]', attr=name
                ) from None
        values[name] = value
    return values


# -- documentation ------------------------------------------------------------------------------

_NOTES: dict[RouteKind, str] = {
    RouteKind.READ: "PostHog's status and JSON are passed through whole.",
    RouteKind.CREATE: (
        "Lifecycle fields (start_date, end_date, archived, conclusion, conclusion_comment) are "
        "refused with 422: create a draft, then use the lifecycle routes. PostHog's answer "
        "passes through whole. `?dry_run=true` describes the request and sends nothing."
    ),
    RouteKind.UPDATE: (
        "Goes through expctl's lifecycle guard: lifecycle fields are refused with 422 naming the "
        "action to use (an unchanged value echoed from a GET is dropped). "
        '`{"deleted": true}` soft-deletes; on a running experiment it needs `?confirm=true` '
        "(409 otherwise). The answer is PostHog's experiment; `Expctl-Outcome` says what "
        "happened. `?dry_run=true` describes the request and sends nothing."
    ),
    RouteKind.DELETE: (
        "PostHog's answer (405, empty body) is passed through. `?dry_run=true` describes the "
        "request and sends nothing."
    ),
    RouteKind.LIFECYCLE: (
        "Goes through expctl's lifecycle service: checked before any write (409 with the "
        "reason, the current `status` and the `allowed_actions` when not possible now); "
        "idempotent (asking for the state the experiment is already in answers 200 with "
        "`Expctl-Outcome: unchanged`). The body is PostHog's JSON of the experiment re-read "
        "after the action; the `Expctl-*` headers give the outcome and the status before and "
        "after. If PostHog requires approval, 409 with PostHog's approval body and "
        "`Expctl-Outcome: approval_required`. `?dry_run=true` describes the request and the "
        "target status and sends nothing."
    ),
    RouteKind.ACTION: (
        "PostHog's status and JSON are passed through whole. `?dry_run=true` describes the "
        "request and sends nothing."
    ),
}


def _description(operation: Operation[Any], kind: RouteKind) -> str:
    return (
        f"{operation.description}\n\n{_NOTES[kind]}\n\n"
        f"PostHog: `{operation.method} {operation.path}` (`{operation.posthog_operation_id}`, "
        f"scope `{operation.scope}`)."
    )


def _responses(operation: Operation[Any], kind: RouteKind) -> dict[int | str, dict[str, Any]]:
    responses: dict[int | str, dict[str, Any]] = {
        "default": {"model": ErrorEnvelope, "description": "An error, in PostHog's envelope."}
    }
    success = operation.response
    for status in operation.success_statuses:
        if success is None:
            responses[status] = {"description": "Success (PostHog never answers this)."}
        else:
            responses[status] = {"model": success, "description": "PostHog's answer."}
    if kind is RouteKind.READ:
        return responses
    dry = "With `?dry_run=true`: what would be sent."
    if 200 in responses and "model" in responses[200]:
        responses[200] = {
            "model": success | DryRun,
            "description": f"PostHog's answer. {dry}",
        }
    else:
        responses[200] = {"model": DryRun, "description": dry}
    if kind in (RouteKind.LIFECYCLE, RouteKind.UPDATE):
        responses[200]["headers"] = OUTCOME_HEADERS
        responses[409] = {
            "model": ErrorEnvelope,
            "description": (
                "Refused now (reason, status, allowed_actions), confirmation required, or "
                "PostHog's approval request (ship_variant)."
            ),
        }
    if kind is RouteKind.DELETE:
        responses[405] = {"description": "PostHog refuses hard deletes (empty body)."}
    return responses


def _openapi_extra(operation: Operation[Any]) -> dict[str, Any]:
    extra: dict[str, Any] = {
        "x-capability-path": operation.rest_path,
        "x-posthog-operation": operation.posthog_operation_id,
    }
    if operation.body is not None:
        extra["requestBody"] = request_body(operation.body, operation.examples)
    return extra
