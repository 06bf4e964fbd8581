"""The sandbox's settings: one pydantic object, built by whoever starts the sandbox.

The sandbox never reads the environment itself; ``expctl sandbox`` / ``expctl up`` (the
composition roots) build :class:`SandboxSettings` and pass it to ``create_app`` or ``serve``.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from sandbox.faults import FaultConfig

DEFAULT_KNOWN_EVENTS = (
    "$pageview",
    "$pageleave",
    "$autocapture",
    "$identify",
    "$feature_flag_called",
    "$screen",
    "signup_completed",
    "checkout_started",
    "add_to_cart",
    "purchase_completed",
)


class SandboxSettings(BaseModel):
    """How the sandbox starts.

    * ``host``/``port``: where ``serve`` listens (``running_server`` always uses 127.0.0.1:0);
    * ``api_key``: the sandbox's own dev key, scope ``*`` (never a user's PostHog key);
    * ``seed``: ``"demo"`` (see ``seed.py``) or ``None`` (organisations, projects, users only);
    * ``data_path``: a SQLite file that keeps the state across restarts (``None``: memory);
    * ``rate_limit_enabled``/``rate_limit_per_minute``/``rate_limit_per_hour``: PostHog's
      burst and sustained limits per organisation;
    * ``recalculation_seconds``: real seconds a timeseries recalculation stays pending
      (0: it completes at the next read);
    * ``faults``: the fault rules in force at start (``faults.py``);
    * ``default_exposures_per_day``: simulated exposures per variant per day at an even split;
    * ``clock_start``/``clock_frozen``: start the domain clock at an instant, running or frozen;
    * ``known_events``: the event names every project has "ingested" (metrics naming others
      are refused unless ``allow_unknown_events``).
    """

    model_config = ConfigDict(extra="forbid")

    host: str = "127.0.0.1"
    port: int = Field(default=8010, ge=0, le=65535)
    api_key: str = Field(default="phx_sandbox", min_length=1, repr=False)
    seed: Literal["demo"] | None = "demo"
    data_path: Path | None = None
    rate_limit_enabled: bool = True
    rate_limit_per_minute: int = Field(default=480, ge=1)
    rate_limit_per_hour: int = Field(default=4800, ge=1)
    rate_limit_minute_seconds: float = Field(default=60.0, gt=0)
    recalculation_seconds: float = Field(default=2.0, ge=0.0)
    faults: FaultConfig = Field(default_factory=FaultConfig)
    default_exposures_per_day: float = Field(default=500.0, ge=0.0)
    clock_start: datetime | None = None
    clock_frozen: bool = False
    known_events: list[str] = Field(default_factory=lambda: list(DEFAULT_KNOWN_EVENTS))
