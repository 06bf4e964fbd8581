"""What routes depend on: the app's parts, the authenticated caller and the write rule.

Every route of the app uses these, the generated ``/v1`` routes and any router passed to
``create_app(extra_routers=...)`` alike::

    from fastapi import APIRouter
    from adapters.rest.dependencies import CallerDep, MutationDep, ServiceDep
    from adapters.rest.errors import ApiError

    router = APIRouter(tags=["automation"])

    @router.get("/v1/api/projects/{project_id}/experiments/{id}/schedule")
    async def read_schedule(project_id: int, id: int, caller: CallerDep) -> dict[str, object]:
        ...                                     # any valid token; project allowlist checked

    @router.put("/v1/api/projects/{project_id}/experiments/{id}/schedule")
    async def put_schedule(project_id: int, id: int, mutation: MutationDep) -> dict[str, object]:
        if mutation.dry_run: ...                # read-only tokens get here only with ?dry_run=true
        raise ApiError(409, "...", code="...")  # refusals in PostHog's envelope

Name the project path parameter ``project_id`` so the ``EXPCTL_PROJECTS`` allowlist applies to it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from adapters.posthog.client import PostHogClient
from adapters.rest.errors import forbidden, unauthenticated
from adapters.security import Caller, TokenVerifier
from lifecycle.service import LifecycleService


@dataclass(frozen=True)
class RestContext:
    """The parts one app serves with; kept on ``app.state.expctl``."""

    client: PostHogClient
    service: LifecycleService
    verifier: TokenVerifier
    projects: frozenset[int] | None = None
    """The ``EXPCTL_PROJECTS`` allowlist (``None``: every project the PostHog key reaches)."""

    def check_project(self, project_id: int, *, attr: str = "project_id") -> None:
        """Refuse (403) a project outside the allowlist."""
        if self.projects is not None and project_id not in self.projects:
            raise forbidden(f"Project {project_id} is not served by this expctl.", attr=attr)


@dataclass(frozen=True)
class Mutation:
    """A caller allowed to make this change, and whether it is only a dry run."""

    caller: Caller
    dry_run: bool


bearer = HTTPBearer(
    auto_error=False,
    scheme_name="bearer",
    description="EXPCTL_API_TOKEN (full access) or EXPCTL_READONLY_TOKEN (reads and dry runs).",
)


def context_of(request: Request) -> RestContext:
    """The app's parts."""
    context: RestContext = request.app.state.expctl
    return context


async def authenticate(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Caller:
    """The caller this bearer token identifies (401 otherwise); checks the project allowlist."""
    context = context_of(request)
    if credentials is None:
        raise unauthenticated("Authentication credentials were not provided: send a bearer token.")
    caller = context.verifier.verify(credentials.credentials)
    if caller is None:
        raise unauthenticated("Invalid token.")
    project = request.path_params.get("project_id")
    if isinstance(project, str) and project.isdigit():
        project = int(project)
    if isinstance(project, int):
        context.check_project(project)
    return caller


CallerDep = Annotated[Caller, Depends(authenticate)]
"""Any valid token (reads)."""


async def authorize_write(caller: CallerDep) -> Caller:
    """A caller with full access (403 for the read-only token)."""
    if not caller.can_write:
        raise forbidden("This token is read-only: it can read and dry-run, not change anything.")
    return caller


async def authorize_mutation(
    caller: CallerDep,
    dry_run: Annotated[
        bool,
        Query(description="Validate and describe what would be sent to PostHog; change nothing."),
    ] = False,
) -> Mutation:
    """A change: full access, or any valid token when it is only a dry run."""
    if not dry_run and not caller.can_write:
        raise forbidden(
            "This token is read-only: it can read and dry-run (?dry_run=true), not change "
            "experiments."
        )
    return Mutation(caller, dry_run)


async def _context(request: Request) -> RestContext:
    return context_of(request)


async def _client(request: Request) -> PostHogClient:
    return context_of(request).client


async def _service(request: Request) -> LifecycleService:
    return context_of(request).service


WriterDep = Annotated[Caller, Depends(authorize_write)]
"""A caller with full access, whatever the query says."""
MutationDep = Annotated[Mutation, Depends(authorize_mutation)]
"""A change that a read-only token may only dry-run (declares the ``dry_run`` query parameter)."""
ContextDep = Annotated[RestContext, Depends(_context)]
ClientDep = Annotated[PostHogClient, Depends(_client)]
ServiceDep = Annotated[LifecycleService, Depends(_service)]
