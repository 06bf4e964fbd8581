"""The running sandbox: settings, state, and the machinery around it (limits, faults, ledger).

One :class:`SandboxRuntime` per app. ``create_app`` builds it and exposes it as
``app.state.sandbox``; tests reach the data through ``app.state.sandbox.state``.
"""

from __future__ import annotations

from sandbox.accounting import CallLedger
from sandbox.clock import Clock
from sandbox.faults import FaultInjector
from sandbox.seed import apply_seed, ensure_default_key
from sandbox.settings import SandboxSettings
from sandbox.simulator import TrafficSimulator
from sandbox.state import SandboxState
from sandbox.store import SqliteStore
from sandbox.throttle import RateLimitConfig, RateLimiter


class SandboxRuntime:
    """Everything one sandbox instance holds."""

    def __init__(self, settings: SandboxSettings) -> None:
        self.settings = settings
        self.clock = Clock(settings.clock_start, frozen=settings.clock_frozen)
        store = SqliteStore(settings.data_path) if settings.data_path is not None else None
        self.state = SandboxState(self.clock, store)
        self.ledger = CallLedger()
        self.simulator = TrafficSimulator()
        self.faults = FaultInjector(settings.faults)
        self.limiter = RateLimiter(
            RateLimitConfig(
                enabled=settings.rate_limit_enabled,
                per_minute=settings.rate_limit_per_minute,
                per_hour=settings.rate_limit_per_hour,
                minute_seconds=settings.rate_limit_minute_seconds,
            )
        )
        if self.state.load():
            ensure_default_key(self.state, settings)
            self.state.flush()
        else:
            self.reset()

    def reset(self, seed: str | None = None, *, use_settings_seed: bool = True) -> None:
        """Wipe everything and apply the seed (the configured one unless told otherwise)."""
        self.state.clear()
        self.simulator.clear()
        apply_seed(self.state, self.settings, self.settings.seed if use_settings_seed else seed)
        self.state.flush()

    def close(self) -> None:
        """Release the store."""
        if self.state.store is not None:
            self.state.store.close()
