"""Tool arguments: the models the SDK validates calls against, and the input schemas they publish.

Every tool's arguments are a :class:`ToolArguments` model. For an operation of the table the model
is generated from the row: ``project_id``, ``id`` for detail operations, the query model's fields
(GET) or the body model's fields (flattened as top-level arguments), plus expctl's own ``dry_run``,
``confirm`` and ``reason`` where they apply. Field types, constraints, enums and descriptions come
from the row's models, so the schema an agent sees is the one the client enforces.
"""

from __future__ import annotations

import copy
import functools
from typing import Annotated, Any

from mcp.server.mcpserver.utilities.func_metadata import ArgModelBase
from pydantic import BaseModel, ConfigDict, Field, create_model

from adapters.posthog.operations import Operation, operation_named

PROJECT_ID = "project_id"
ID = "id"
DRY_RUN = "dry_run"
CONFIRM = "confirm"
REASON = "reason"
RESERVED = frozenset({PROJECT_ID, ID, DRY_RUN, CONFIRM, REASON})
"""Argument names expctl adds; an operation's own fields may not reuse them."""


class ToolArguments(ArgModelBase):
    """Base of every tool's arguments: unknown arguments are an error, not silently dropped.

    The SDK validates a call against this model and hands the tool function what
    :meth:`model_dump_one_level` returns; returning the validated model itself lets a tool tell
    the arguments the caller gave from the defaults it did not (``model_fields_set``).
    """

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True, populate_by_name=True)

    def model_dump_one_level(self) -> dict[str, Any]:
        return {"arguments": self}

    def given(self) -> dict[str, Any]:
        """The arguments the caller passed, JSON-ready, under their public names."""
        return self.model_dump(mode="json", by_alias=True, exclude_unset=True)


class MutatingArguments(ToolArguments):
    """Base of the arguments of a tool that changes something: it can always be dry-run."""

    dry_run: bool = Field(
        default=False,
        description="true: check the call and return what would be sent, without changing anything.",
    )


def experiment_arguments(name: str, *, default_project: int | None) -> type[ToolArguments]:
    """Arguments that name one experiment: ``project_id`` and ``id``."""
    fields: dict[str, Any] = {PROJECT_ID: _project_field(default_project), ID: _id_field()}
    return create_model(name, __base__=ToolArguments, **fields)


def operation_arguments(
    operation: Operation[Any], *, default_project: int | None
) -> type[ToolArguments]:
    """The argument model of ``operation``'s tool (see the module docstring)."""
    return _operation_arguments(operation.name, default_project)


@functools.cache
def _operation_arguments(name: str, default_project: int | None) -> type[ToolArguments]:
    # Cached: a model depends only on its row and the default project, and building one costs.
    operation = operation_named(name)
    fields: dict[str, Any] = {PROJECT_ID: _project_field(default_project)}
    if operation.has_id:
        fields[ID] = _id_field()
    for model in (operation.query, operation.body):
        if model is not None:
            fields.update(_copied_fields(model, operation))
    if not operation.read_only:
        if operation.lifecycle_action is not None or operation.method in ("PUT", "PATCH"):
            fields[REASON] = (
                str | None,
                Field(default=None, description="Why: recorded with the action (who/what/why)."),
            )
        if operation.method in ("PUT", "PATCH"):
            fields[CONFIRM] = (
                bool,
                Field(
                    default=False,
                    description=(
                        "true: go ahead with a consequential change expctl asks to confirm "
                        "(soft-deleting a running experiment with deleted: true)."
                    ),
                ),
            )
        dry_run = MutatingArguments.model_fields[DRY_RUN]
        fields[DRY_RUN] = (dry_run.annotation, copy.copy(dry_run))
    model_name = "".join(part.capitalize() for part in operation.name.split("_")) + "Arguments"
    return create_model(model_name, __base__=ToolArguments, **fields)


def query_and_body(
    operation: Operation[Any], given: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Split an operation tool's given arguments into its query and its body (expctl's own removed)."""
    query_names = _public_names(operation.query)
    body_names = _public_names(operation.body)
    query = {name: value for name, value in given.items() if name in query_names}
    body = {name: value for name, value in given.items() if name in body_names}
    return query, body


def input_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The JSON schema a tool publishes: the model's, with ``$ref``s inlined for plain clients."""
    return copy.deepcopy(_input_schema(model))


@functools.cache
def _input_schema(model: type[BaseModel]) -> dict[str, Any]:
    schema = model.model_json_schema(by_alias=True)
    definitions = schema.pop("$defs", {})
    return dict(_inline(schema, definitions))


def _project_field(default_project: int | None) -> tuple[Any, Any]:
    if default_project is None:
        return (
            Annotated[int, Field(ge=1)],
            Field(description="PostHog project id (required: POSTHOG_PROJECT_ID is not set)."),
        )
    return (
        Annotated[int, Field(ge=1)],
        Field(
            default=default_project,
            description=f"PostHog project id. Optional: defaults to POSTHOG_PROJECT_ID ({default_project}).",
        ),
    )


def _id_field() -> tuple[Any, Any]:
    return (Annotated[int, Field(ge=1)], Field(description="The experiment's id."))


def _copied_fields(model: type[BaseModel], operation: Operation[Any]) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        public = info.alias or name
        if public in RESERVED:
            raise ValueError(f"{operation.name}: field {public!r} clashes with an expctl argument")
        # Copied, because pydantic finalises a FieldInfo into the model that owns it.
        fields[name] = (info.annotation, copy.copy(info))
    return fields


def _public_names(model: type[BaseModel] | None) -> set[str]:
    if model is None:
        return set()
    return {info.alias or name for name, info in model.model_fields.items()}


def _inline(node: Any, definitions: dict[str, Any]) -> Any:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            target = definitions[ref.removeprefix("#/$defs/")]
            siblings = {key: value for key, value in node.items() if key != "$ref"}
            return _inline({**target, **siblings}, definitions)
        return {key: _inline(value, definitions) for key, value in node.items()}
    if isinstance(node, list):
        return [_inline(item, definitions) for item in node]
    return node
