"""The app factory: ``create_app(settings) -> FastAPI``.

The app serves the experiments API (``api.py``) behind the fault layer (``faults.py``) and the
admin API (``admin.py``). ``app.state.sandbox`` is the :class:`~sandbox.runtime.SandboxRuntime`
(``app.state.sandbox.state`` holds the data, ``.ledger`` the call counts, ``.clock`` the clock).
Errors outside the experiments routes (admin bodies, unknown paths) are rendered in PostHog's
envelope too.
"""

from __future__ import annotations

import json

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from sandbox import errors
from sandbox.admin import build_admin_router
from sandbox.api import build_api_router, operation_name_for
from sandbox.errors import ApiError
from sandbox.faults import FaultMiddleware
from sandbox.runtime import SandboxRuntime
from sandbox.settings import SandboxSettings


def _render(error: ApiError) -> Response:
    return Response(
        content=json.dumps(error.body).encode("utf-8") if error.body is not None else b"",
        status_code=error.status,
        media_type="application/json",
        headers=error.headers,
    )


def create_app(settings: SandboxSettings | None = None) -> FastAPI:
    """Build a sandbox app (seeded, or loaded from ``settings.data_path``)."""
    runtime = SandboxRuntime(settings or SandboxSettings())
    app = FastAPI(title="expctl sandbox", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.sandbox = runtime
    app.include_router(build_admin_router(runtime))
    app.include_router(build_api_router(runtime))

    async def on_api_error(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ApiError)
        return _render(exc)

    async def on_bad_path(_request: Request, _exc: Exception) -> Response:
        return _render(errors.not_found())

    async def on_http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if exc.status_code == 405:
            return _render(errors.method_not_allowed(request.method))
        if exc.status_code == 404:
            return _render(errors.not_found())
        return _render(
            ApiError(exc.status_code, errors.envelope("invalid_request", "error", str(exc.detail)))
        )

    app.add_exception_handler(ApiError, on_api_error)
    app.add_exception_handler(RequestValidationError, on_bad_path)
    app.add_exception_handler(StarletteHTTPException, on_http_error)

    def on_refused(method: str, path: str, status: int | None) -> None:
        runtime.ledger.record_faulted()
        runtime.ledger.record_call(operation_name_for(method, path), method, status or 0)

    app.add_middleware(
        FaultMiddleware,
        injector=runtime.faults,
        on_refused=on_refused,
        on_after=runtime.ledger.record_faulted,
    )
    return app
