"""The MCP tools: one per row of the operation table, plus expctl's own, as declarative specs.

A :class:`ToolSpec` says what a tool is called, what it takes, what it does and whether it
changes anything; the server (:mod:`adapters.mcp.server`) turns specs into SDK tools and adds the
access checks, aliases and error translation every tool shares. Tools for lifecycle actions go
through :class:`~lifecycle.service.LifecycleService`; PUT/PATCH through its ``update``; the other
operations straight to the PostHog client, whose JSON is returned untouched.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from mcp.types import CallToolResult, TextContent

from adapters.mcp.arguments import (
    CONFIRM,
    DRY_RUN,
    ID,
    PROJECT_ID,
    REASON,
    ToolArguments,
    experiment_arguments,
    operation_arguments,
    query_and_body,
)
from adapters.posthog.client import PostHogClient
from adapters.posthog.operations import OPERATIONS, Operation
from adapters.security import Caller
from lifecycle.service import ActionResult, LifecycleService, Outcome, refuse_lifecycle_fields

ArgumentsT = TypeVar("ArgumentsT", bound=ToolArguments)

DATA_OUTPUT: dict[str, Any] = {
    "type": "object",
    "description": "PostHog's JSON answer, unchanged (for a dry run: the request that would be sent).",
    "additionalProperties": True,
}
OUTCOME_OUTPUT: dict[str, Any] = {
    "type": "object",
    "description": "What the lifecycle service did, and the experiment (PostHog's JSON) after it.",
    "properties": {
        "outcome": {"type": "string", "enum": [outcome.value for outcome in Outcome]},
        "changed": {"type": "boolean"},
        "message": {"type": "string"},
        "status_before": {"type": "string"},
        "status_after": {"type": "string"},
        "warnings": {"type": "array", "items": {"type": "string"}},
        "request": {"type": ["object", "null"]},
        "change_request_id": {"type": ["string", "null"]},
        "experiment": {"type": "object"},
    },
    "required": ["outcome", "message", "experiment"],
    "additionalProperties": True,
}
LIFECYCLE_NOTE = (
    " Goes through expctl's lifecycle service and returns {outcome, message, status_before, "
    "status_after, experiment}: asking for a state the experiment is already in succeeds with "
    "outcome 'unchanged'; a refused action is an error that gives the reason and the actions "
    "allowed now; a change PostHog holds for approval returns outcome 'approval_required' with "
    "its change_request_id."
)
UPDATE_NOTE = (
    " Goes through expctl's lifecycle service, which refuses lifecycle fields and asks for "
    "confirm: true before soft-deleting a running experiment; returns {outcome, message, "
    "status_before, status_after, experiment}."
)
LIFECYCLE_TOOLS: dict[str, str] = {
    op.lifecycle_action: op.mcp_tool for op in OPERATIONS if op.lifecycle_action is not None
}
"""Lifecycle action → the tool that performs it (what a refusal points an agent to)."""


@dataclass(frozen=True)
class Invocation:
    """Who is calling a tool."""

    caller: Caller | None
    """The authenticated caller over HTTP; ``None`` in-process and over stdio (no auth there)."""

    @property
    def actor(self) -> str:
        """What lifecycle records show as the actor."""
        return f"mcp:{self.caller.name}" if self.caller else "mcp"


@dataclass(frozen=True)
class ToolOutput:
    """A tool's success: structured data, and an optional one-line summary for the reader."""

    data: Any
    summary: str | None = None

    def result(self) -> CallToolResult:
        """The MCP result: the data as structured content and as JSON text."""
        structured = self.data if isinstance(self.data, dict) else {"result": self.data}
        texts = [self.summary] if self.summary else []
        texts.append(json.dumps(self.data, ensure_ascii=False))
        content = [TextContent(type="text", text=text) for text in texts]
        return CallToolResult(content=list(content), structured_content=structured)


Handler = Callable[[ArgumentsT, Invocation], Awaitable[ToolOutput]]


@dataclass(frozen=True)
class ToolSpec(Generic[ArgumentsT]):
    """One tool: its names, what it takes and does, and its hints.

    A tool that is not ``read_only`` changes something: its arguments must have a ``dry_run``
    field (subclass :class:`~adapters.mcp.arguments.MutatingArguments`), and read-only callers
    may call it only with ``dry_run: true``.
    """

    name: str
    title: str
    description: str
    arguments: type[ArgumentsT]
    handler: Handler[ArgumentsT]
    read_only: bool
    destructive: bool = False
    idempotent: bool = False
    open_world: bool = True
    """It calls something outside expctl (PostHog, Prefect)."""
    aliases: tuple[str, ...] = ()
    """Other names that call this tool; never listed."""
    output_schema: dict[str, Any] = field(default_factory=lambda: dict(DATA_OUTPUT))


def operation_tools(client: PostHogClient, service: LifecycleService) -> list[ToolSpec[Any]]:
    """One tool per row of the operation table, in the table's order."""
    return [operation_tool(op, client, service) for op in OPERATIONS]


def operation_tool(
    operation: Operation[Any], client: PostHogClient, service: LifecycleService
) -> ToolSpec[ToolArguments]:
    """The tool for one row: named, described, hinted and typed from the row."""
    note = ""
    if operation.lifecycle_action is not None:
        note = LIFECYCLE_NOTE
    elif operation.method in ("PUT", "PATCH"):
        note = UPDATE_NOTE
    return ToolSpec(
        name=operation.mcp_tool,
        title=operation.title,
        description=operation.description + note,
        arguments=operation_arguments(operation, default_project=client.project_id),
        handler=_handler(operation, client, service),
        read_only=operation.read_only,
        destructive=operation.destructive,
        idempotent=operation.idempotent,
        aliases=operation.mcp_aliases,
        output_schema=dict(OUTCOME_OUTPUT if note else DATA_OUTPUT),
    )


def allowed_actions_tool(
    service: LifecycleService, *, default_project: int | None
) -> ToolSpec[Any]:
    """``experiment-allowed-actions``: the lifecycle actions possible now, and why not the others."""

    async def handle(arguments: ToolArguments, call: Invocation) -> ToolOutput:
        given = arguments.given()
        data = await service.options(given[ID], project_id=_project(arguments))
        allowed = list(data.get("allowed_actions", []))
        data["allowed_tools"] = [LIFECYCLE_TOOLS[action] for action in allowed]
        summary = f"Experiment {given[ID]} is {data.get('status')}; allowed now: " + (
            ", ".join(f"{a} ({LIFECYCLE_TOOLS[a]})" for a in allowed) or "nothing"
        )
        return ToolOutput(data, summary)

    tools = ", ".join(f"{action} → {tool}" for action, tool in LIFECYCLE_TOOLS.items())
    return ToolSpec(
        name="experiment-allowed-actions",
        title="Allowed lifecycle actions",
        description=(
            "Tell which lifecycle actions are possible for an experiment now, and why each other "
            "one is refused. Reads the experiment and changes nothing. Returns {experiment_id, "
            "status, allowed_actions, refused: {action: reason}, allowed_tools}. Each action is a "
            f"tool: {tools}."
        ),
        arguments=experiment_arguments("AllowedActionsArguments", default_project=default_project),
        handler=handle,
        read_only=True,
        idempotent=True,
    )


def outcome_output(result: ActionResult) -> ToolOutput:
    """A lifecycle service result as a tool output, with a summary that says what happened."""
    message = result.message
    summaries = {
        Outcome.APPLIED: message,
        Outcome.UNCHANGED: f"No change: {message}",
        Outcome.DRY_RUN: f"Dry run, nothing was sent: {message}",
        Outcome.APPROVAL_REQUIRED: f"Not applied yet: {message}",
    }
    return ToolOutput(result.as_dict(), summaries[result.outcome])


def _project(arguments: ToolArguments) -> int | None:
    # The default project is resolved here, not left to the client, so the service records it
    # and serialises calls on one experiment under one key whether or not project_id was given.
    project: int | None = getattr(arguments, PROJECT_ID, None)
    return project


def _handler(
    operation: Operation[Any], client: PostHogClient, service: LifecycleService
) -> Handler[ToolArguments]:
    action = operation.lifecycle_action

    async def lifecycle(arguments: ToolArguments, call: Invocation) -> ToolOutput:
        given = arguments.given()
        _, body = query_and_body(operation, given)
        result = await service.apply(
            given[ID],
            str(action),
            body,
            project_id=_project(arguments),
            dry_run=given.get(DRY_RUN, False),
            actor=call.actor,
            reason=given.get(REASON),
        )
        return outcome_output(result)

    async def update(arguments: ToolArguments, call: Invocation) -> ToolOutput:
        given = arguments.given()
        _, body = query_and_body(operation, given)
        result = await service.update(
            given[ID],
            body,
            full=operation.method == "PUT",
            project_id=_project(arguments),
            dry_run=given.get(DRY_RUN, False),
            confirm=given.get(CONFIRM, False),
            actor=call.actor,
            reason=given.get(REASON),
        )
        return outcome_output(result)

    async def read(arguments: ToolArguments, call: Invocation) -> ToolOutput:
        given = arguments.given()
        query, _ = query_and_body(operation, given)
        response = await client.request(
            operation, id=given.get(ID), project_id=_project(arguments), query=query or None
        )
        return ToolOutput(response.body)

    async def send(arguments: ToolArguments, call: Invocation) -> ToolOutput:
        given = arguments.given()
        _, body = query_and_body(operation, given)
        if operation.method == "POST" and not operation.has_id:
            refuse_lifecycle_fields(body, action="create")
        sent = body if operation.body is not None else None
        if given.get(DRY_RUN, False):
            prepared = client.prepare(
                operation, id=given.get(ID), project_id=_project(arguments), body=sent
            )
            message = f"would send {prepared.method} {prepared.path}"
            return ToolOutput(
                {
                    "outcome": Outcome.DRY_RUN.value,
                    "message": message,
                    "request": prepared.describe(),
                },
                f"Dry run, nothing was sent: {message}",
            )
        response = await client.request(
            operation, id=given.get(ID), project_id=_project(arguments), body=sent
        )
        return ToolOutput(response.body)

    if action is not None:
        return lifecycle
    if operation.method in ("PUT", "PATCH"):
        return update
    if operation.read_only:
        return read
    return send
