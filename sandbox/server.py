"""Running the sandbox with uvicorn: ``serve`` (blocking) and ``running_server`` (for tests).

``serve`` prints one block with the URL, the sandbox's own dev key and the demo project, then
runs uvicorn until interrupted (``expctl sandbox`` calls it). ``running_server`` starts the app on
127.0.0.1 and an ephemeral port in a background thread, yields a :class:`RunningServer`, and
shuts it down cleanly.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import uvicorn
from fastapi import FastAPI

from sandbox.app import create_app
from sandbox.faults import ConnectionDropped
from sandbox.runtime import SandboxRuntime
from sandbox.seed import DEMO_PROJECT_ID
from sandbox.settings import SandboxSettings


class _DroppedConnectionFilter(logging.Filter):
    """Injected connection drops are deliberate: keep their tracebacks out of the log."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc_info = record.exc_info
        return not (exc_info and isinstance(exc_info[1], ConnectionDropped))


_FILTER = _DroppedConnectionFilter()


def quiet_dropped_connections() -> None:
    """Install the filter on uvicorn's error logger (idempotent)."""
    logger = logging.getLogger("uvicorn.error")
    if _FILTER not in logger.filters:
        logger.addFilter(_FILTER)


def banner(settings: SandboxSettings, url: str) -> str:
    """The block ``serve`` prints (the key is the sandbox's own dev key, not a user secret)."""
    lines = [
        "expctl sandbox: a local PostHog experiments API",
        f"  URL:          {url}",
        f"  API key:      {settings.api_key}",
        f"  Project:      {DEMO_PROJECT_ID}" + (" (demo data)" if settings.seed == "demo" else ""),
        f"  Try:          curl -H 'Authorization: Bearer {settings.api_key}' "
        f"{url}/api/projects/{DEMO_PROJECT_ID}/experiments/",
    ]
    return "\n".join(lines)


def serve(settings: SandboxSettings | None = None) -> None:
    """Run the sandbox until interrupted."""
    settings = settings or SandboxSettings()
    app = create_app(settings)
    print(banner(settings, f"http://{settings.host}:{settings.port}"), flush=True)
    quiet_dropped_connections()
    try:
        # PostHog keeps idle connections open for long; uvicorn's 5 s default races with reuse.
        uvicorn.run(
            app, host=settings.host, port=settings.port, log_level="info", timeout_keep_alive=75
        )
    finally:
        app.state.sandbox.close()


@dataclass
class RunningServer:
    """A sandbox served over real HTTP."""

    url: str
    app: FastAPI
    runtime: SandboxRuntime
    api_key: str


@contextmanager
def running_server(
    settings: SandboxSettings | None = None, *, startup_timeout: float = 10.0
) -> Iterator[RunningServer]:
    """Serve the sandbox on 127.0.0.1 and an ephemeral port for the duration of the block."""
    settings = (settings or SandboxSettings()).model_copy(update={"host": "127.0.0.1", "port": 0})
    app = create_app(settings)
    runtime: SandboxRuntime = app.state.sandbox
    quiet_dropped_connections()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=0, log_config=None, log_level="warning", lifespan="off"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="sandbox-uvicorn", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + startup_timeout
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the sandbox server did not start")
            time.sleep(0.01)
        port = server.servers[0].sockets[0].getsockname()[1]
        yield RunningServer(
            url=f"http://127.0.0.1:{port}", app=app, runtime=runtime, api_key=settings.api_key
        )
    finally:
        server.should_exit = True
        thread.join(timeout=startup_timeout)
        runtime.close()
