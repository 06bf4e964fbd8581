"""A faithful local stand-in for PostHog's experiments API (Era B), for local runs and tests.

``create_app(settings)`` builds the FastAPI app; ``sandbox.server.serve`` runs it with uvicorn and
``sandbox.server.running_server`` serves it in a background thread for tests. Behaviour follows
``posthog-experiments-api.md``; every choice where that reference is silent is documented in the
module that makes it.
"""

from sandbox.app import create_app
from sandbox.settings import SandboxSettings

__all__ = ["SandboxSettings", "create_app"]
