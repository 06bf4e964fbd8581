"""The OpenAPI document's parts FastAPI cannot derive: request bodies read by the routes, tags.

The routes read their bodies themselves (see :mod:`adapters.rest.bodies`), so each documents its
body with :func:`request_body`, and :func:`add_request_schemas` puts the referenced models in
``components.schemas``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

REF_PREFIX = "#/components/schemas/"

TAGS: list[dict[str, str]] = [
    {
        "name": "experiments",
        "description": "PostHog's experiment operations, passed through (the capability's /v1 routes).",
    },
    {
        "name": "lifecycle",
        "description": (
            "Launch, pause, resume, end, ship, archive, unarchive and reset, through expctl's "
            "lifecycle service: checked first, idempotent, dry-runnable."
        ),
    },
    {
        "name": "automation",
        "description": "Schedules, stopping-rule evaluation and Prefect flow runs.",
    },
    {"name": "health", "description": "Liveness and readiness probes (no token needed)."},
]


def request_body(model: type[BaseModel], example: Mapping[str, Any] | None) -> dict[str, Any]:
    """The requestBody object for a JSON body of ``model`` (required when it has required fields)."""
    media: dict[str, Any] = {"schema": {"$ref": REF_PREFIX + model.__name__}}
    if example:
        media["example"] = dict(example)
    required = any(field.is_required() for field in model.model_fields.values())
    return {"required": required, "content": {"application/json": media}}


def add_request_schemas(document: dict[str, Any], models: Iterable[type[BaseModel]]) -> None:
    """Add the body models (and the schemas they refer to) to the document's components."""
    unique = list(dict.fromkeys(models))
    if not unique:
        return
    _, definitions = models_json_schema(
        [(model, "validation") for model in unique], ref_template=REF_PREFIX + "{model}"
    )
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for name, schema in definitions.get("$defs", {}).items():
        schemas.setdefault(name, schema)
