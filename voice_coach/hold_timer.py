"""Timers for holds and timed strokes, measured in session run time (paused time excluded).

Pure: they are given the time and say what is due; they never read a clock themselves.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Countdown:
    """A timed phase: cues every `cue_every` seconds, then done at `seconds`."""

    seconds: float
    cue_every: float
    started: float
    _next_cue: float = field(init=False)

    def __post_init__(self) -> None:
        self._next_cue = self.started + self.cue_every

    def elapsed(self, now: float) -> float:
        return max(0.0, now - self.started)

    def remaining(self, now: float) -> float:
        return max(0.0, self.started + self.seconds - now)

    def done(self, now: float) -> bool:
        return now >= self.started + self.seconds

    def due_cues(self, now: float) -> list[float]:
        """Elapsed seconds of each cue that has come due since the last call (none at the end)."""
        due = []
        while self._next_cue <= now and self._next_cue < self.started + self.seconds:
            due.append(round(self._next_cue - self.started, 6))
            self._next_cue += self.cue_every
        return due


@dataclass
class HoldTimer:
    """An ischemic-compression hold: at least `min_seconds`, never more than `max_seconds`.

    Cues every `cue_every` seconds and once when `warn_left` seconds remain; a periodic cue that
    would fall on or after the warning is dropped so that two cues never overlap.
    """

    min_seconds: float
    max_seconds: float
    cue_every: float
    warn_left: float
    started: float
    _next_cue: float = field(init=False)
    _warned: bool = field(init=False, default=False)

    def __post_init__(self) -> None:
        self._next_cue = self.started + self.cue_every

    @property
    def warn_at(self) -> float:
        return self.started + self.max_seconds - self.warn_left

    def elapsed(self, now: float) -> float:
        return max(0.0, now - self.started)

    def remaining(self, now: float) -> float:
        return max(0.0, self.started + self.max_seconds - now)

    def may_end_early(self, now: float) -> bool:
        return self.elapsed(now) >= self.min_seconds

    def expired(self, now: float) -> bool:
        return now >= self.started + self.max_seconds

    def due(self, now: float) -> list[tuple[str, float]]:
        """('cue', elapsed) and ('warn', remaining) items that have come due, in order."""
        out: list[tuple[str, float]] = []
        limit = self.warn_at if self.warn_left > 0 else self.started + self.max_seconds
        while self._next_cue <= now and self._next_cue < limit:
            out.append(("cue", round(self._next_cue - self.started, 6)))
            self._next_cue += self.cue_every
        if self.warn_left > 0 and not self._warned and now >= self.warn_at and not self.expired(now):
            self._warned = True
            out.append(("warn", self.warn_left))
        return out
