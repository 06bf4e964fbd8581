"""The inbound REST adapter: the capability's /v1 routes over PostHog, guarded by the lifecycle.

``create_app`` (``app.py``) assembles it from explicit parts; ``serve`` (``server.py``) builds
those parts from the environment and runs uvicorn (``expctl serve rest``). Routers added with
``create_app(extra_routers=...)`` reuse the dependencies in ``dependencies.py`` and the error
translation in ``errors.py``.
"""

from adapters.rest.app import create_app
from adapters.rest.dependencies import (
    CallerDep,
    ClientDep,
    ContextDep,
    Mutation,
    MutationDep,
    RestContext,
    ServiceDep,
    WriterDep,
)
from adapters.rest.errors import ApiError
from adapters.rest.health import Probe
from adapters.rest.server import assemble, serve

__all__ = [
    "ApiError",
    "CallerDep",
    "ClientDep",
    "ContextDep",
    "Mutation",
    "MutationDep",
    "Probe",
    "RestContext",
    "ServiceDep",
    "WriterDep",
    "assemble",
    "create_app",
    "serve",
]
