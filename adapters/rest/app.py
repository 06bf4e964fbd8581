"""The REST app: assembled from explicit parts, reading no environment (see ``server.py`` for that).

::

    app = create_app(client=client, service=LifecycleService(client), verifier=verifier)

``create_app`` wires the generated ``/v1`` routes, ``/healthz`` and ``/readyz``, the error
translation, the body limit and any ``extra_routers`` (the automation routes), which reuse the
same dependencies (:mod:`adapters.rest.dependencies`) and error translation
(:mod:`adapters.rest.errors`).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from fastapi import APIRouter, FastAPI
from pydantic import BaseModel
from starlette.types import Lifespan

from adapters.posthog.client import PostHogClient
from adapters.posthog.operations import OPERATIONS, Operation
from adapters.rest import errors
from adapters.rest.bodies import DEFAULT_MAX_BODY_BYTES, BodyLimit
from adapters.rest.dependencies import RestContext
from adapters.rest.health import Probe, health_router, posthog_probe
from adapters.rest.openapi import TAGS, add_request_schemas
from adapters.rest.routes import operation_router
from adapters.security import TokenVerifier
from lifecycle.service import LifecycleService

TITLE = "expctl"
DESCRIPTION = (
    "PostHog experiments over REST: the capability's 22 operations under /v1 (PostHog's JSON "
    "passed through), with lifecycle actions checked, idempotent and dry-runnable. Send "
    "`Authorization: Bearer <EXPCTL_API_TOKEN>`; the read-only token can read and dry-run."
)


class RestApp(FastAPI):
    """FastAPI with the route-read request bodies added to its OpenAPI document."""

    body_models: tuple[type[BaseModel], ...] = ()

    def openapi(self) -> dict[str, Any]:
        if self.openapi_schema is None:
            add_request_schemas(super().openapi(), self.body_models)
        assert self.openapi_schema is not None
        return self.openapi_schema


def create_app(
    *,
    client: PostHogClient,
    service: LifecycleService,
    verifier: TokenVerifier,
    projects: Collection[int] | None = None,
    probes: Sequence[Probe] = (),
    extra_routers: Sequence[APIRouter] = (),
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    operations: Sequence[Operation[Any]] = OPERATIONS,
    lifespan: Lifespan[Any] | None = None,
    version: str = "0.1.0",
) -> FastAPI:
    """The REST app.

    ``projects`` is the allowlist of PostHog project ids (``None``: any); readiness checks the
    key against the client's default project, else the lowest allowed one. ``extra_routers`` are
    included after the generated routes; ``lifespan`` is the composition root's (e.g. closing
    the client).
    """
    allowed = frozenset(projects) if projects is not None else None
    app = RestApp(
        title=TITLE,
        description=DESCRIPTION,
        version=version,
        openapi_tags=TAGS,
        lifespan=lifespan,
    )
    app.body_models = tuple(op.body for op in operations if op.body is not None)
    app.state.expctl = RestContext(client, service, verifier, allowed)
    readiness_project = client.project_id
    if readiness_project is None and allowed:
        readiness_project = min(allowed)
    app.include_router(health_router([posthog_probe(client, readiness_project), *probes]))
    app.include_router(operation_router(operations))
    for router in extra_routers:
        app.include_router(router)
    app.add_middleware(BodyLimit, max_bytes=max_body_bytes)
    errors.install(app)  # last: its boundary is the outermost middleware
    return app
