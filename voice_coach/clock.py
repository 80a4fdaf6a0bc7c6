"""Clocks the session can be given. The session never reads the time any other way."""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Seconds, monotonic, from an arbitrary start."""


class MonotonicClock:
    """Real time, optionally running `speed` times faster (for demos and scripted runs)."""

    def __init__(self, speed: float = 1.0):
        self.speed = speed
        self._start = time.monotonic()

    def now(self) -> float:
        return (time.monotonic() - self._start) * self.speed


class FakeClock:
    """Time that moves only when a test says so; exact to the millisecond."""

    def __init__(self, start: float = 0.0):
        self._now = start

    def now(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("time does not go backwards")
        self._now = round(self._now + seconds, 6)

    def set(self, t: float) -> None:
        self._now = t
