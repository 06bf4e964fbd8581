"""The sandbox's injectable domain clock.

Every domain timestamp (created_at, start_date on launch, end_date, simulated traffic, "today" in
timeseries) comes from :class:`Clock`. It has three modes:

* ``real``: the wall clock in UTC;
* ``offset``: the wall clock shifted by a fixed number of seconds (what ``advance`` and ``run``
  produce, so time keeps flowing from a chosen instant);
* ``frozen``: a fixed instant that only moves when advanced.

Rate limits and recalculation delays deliberately use ``time.monotonic`` instead, because they
model real waiting, not domain time.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Literal

from pydantic import BaseModel

ClockMode = Literal["real", "offset", "frozen"]


class ClockState(BaseModel):
    """The persisted form of a clock."""

    mode: ClockMode = "real"
    offset_seconds: float = 0.0
    frozen_at: datetime | None = None


def to_utc(value: datetime) -> datetime:
    """Return ``value`` as an aware UTC datetime (naive values are taken as UTC)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


class Clock:
    """Domain time: real, shifted, or frozen."""

    def __init__(self, start: datetime | None = None, *, frozen: bool = False) -> None:
        self._state = ClockState()
        if start is not None:
            if frozen:
                self.freeze_at(start)
            else:
                self._state = ClockState(mode="offset", offset_seconds=self._offset_to(start))
        elif frozen:
            self.freeze_at(datetime.now(UTC))

    @staticmethod
    def _offset_to(instant: datetime) -> float:
        return (to_utc(instant) - datetime.now(UTC)).total_seconds()

    def now(self) -> datetime:
        """The current domain instant, aware, in UTC."""
        state = self._state
        if state.mode == "frozen" and state.frozen_at is not None:
            return state.frozen_at
        real = datetime.now(UTC)
        if state.mode == "offset":
            return real + timedelta(seconds=state.offset_seconds)
        return real

    @property
    def frozen(self) -> bool:
        """Whether the clock is stopped."""
        return self._state.mode == "frozen"

    def freeze_at(self, instant: datetime) -> None:
        """Stop the clock at ``instant``."""
        self._state = ClockState(mode="frozen", frozen_at=to_utc(instant))

    def advance(self, seconds: float) -> None:
        """Move the clock forward (or back, for a negative value) by ``seconds``."""
        state = self._state
        if state.mode == "frozen" and state.frozen_at is not None:
            self._state = ClockState(
                mode="frozen", frozen_at=state.frozen_at + timedelta(seconds=seconds)
            )
        else:
            self._state = ClockState(mode="offset", offset_seconds=state.offset_seconds + seconds)

    def run(self) -> None:
        """Let time flow again from the current domain instant."""
        if self._state.mode == "frozen":
            self._state = ClockState(mode="offset", offset_seconds=self._offset_to(self.now()))

    def snapshot(self) -> ClockState:
        """The state to persist."""
        return self._state.model_copy()

    def restore(self, state: ClockState) -> None:
        """Adopt a persisted state."""
        self._state = state.model_copy()
