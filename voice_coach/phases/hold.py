"""The hold: sustained pressure on the knot, between hold.min_seconds and hold.max_seconds of run
time, with cues and a warning before the end. "Softened" ends it (after the minimum); a new rating
re-guides the pressure while it runs, and one at or above guidance.release_at ends it at once."""

from __future__ import annotations

from voice_coach.events import HoldEnd, HoldStart
from voice_coach.hold_timer import HoldTimer
from voice_coach.phases.base import Phase


class Hold(Phase):
    name = "hold"

    def __init__(self) -> None:
        super().__init__()
        self.timer: HoldTimer | None = None
        self.unconfirmed: int | None = None  # a low rating heard during the hold, not yet confirmed

    def enter(self, s) -> None:
        h = s.r.hold
        self.timer = HoldTimer(h.min_seconds, h.max_seconds, h.cue_every, h.warn_left, started=s.run_time)
        s.emit(HoldStart(h.max_seconds, h.min_seconds, s.knot.number, s.knot.round))
        s.say(h.start, "hold.start")

    def accepts(self, s) -> dict:
        if self.timer is None:
            return {}
        handlers = {
            "softened": lambda i: self._softened(s),
            "rating": lambda i: self._rated(s, int(i.value), s.understand.sure_rating(i)),
            "skip": lambda i: self._finish(s, "skipped"),
            "next": lambda i: self._finish(s, "skipped"),
        }
        if self.unconfirmed is not None:
            handlers["yes"] = lambda i: self._apply(s, self.unconfirmed)
            handlers["no"] = lambda i: self._drop_unconfirmed(s)
            unsure = lambda i: self._unsure(s)  # noqa: E731
            handlers["hedge"] = handlers["ambiguous"] = unsure
        return handlers

    def release_now(self, s) -> None:
        """ "Let go", "stop pressing": the pressure comes off now, whatever the timer says."""
        s.say(s.r.guidance.release_now, "guidance.release_now")
        self._end(s, "released")
        s.go("soften")

    def tick(self, s) -> None:
        if self.timer is None:
            return
        h = s.r.hold
        for what, value in self.timer.due(s.run_time):
            if what == "cue":
                s.say(h.cue.format(elapsed=int(value)), "hold.cue")
            else:
                s.say(h.warn.format(seconds=int(value)), "hold.warn")
        if self.timer.expired(s.run_time):
            self._finish(s, "max")

    def remaining(self, s) -> float | None:
        return self.timer.remaining(s.run_time) if self.timer is not None else None

    def resumed(self, s) -> None:
        if self.timer is not None:
            s.time_left()

    def leave(self, s, reason: str) -> None:
        super().leave(s, reason)
        self._end(s, reason)

    # -----------------------------------------------------------------------------------------

    def _softened(self, s) -> None:
        if self.timer.may_end_early(s.run_time):
            self._finish(s, "softened")
        else:
            s.say(s.r.hold.too_early, "hold.too_early")

    def _rated(self, s, value: int, sure: bool = True) -> None:
        if s.understand.reads_back(value, sure) and value != self.unconfirmed:
            # The hold keeps running while the coach asks; nothing changes until it is confirmed.
            self.unconfirmed = value
            s.say(s.r.guidance.confirm.format(rating=value), "guidance.confirm")
            return
        self._apply(s, value)

    def _unsure(self, s) -> None:
        """Not sure the low rating was right: read back once more, then no deeper pressure."""
        self.hedges = getattr(self, "hedges", 0) + 1
        if self.hedges == 1:
            s.say(s.r.guidance.confirm.format(rating=self.unconfirmed), "guidance.confirm")
            return
        self.unconfirmed = None
        self.hedges = 0
        s.say(s.r.guidance.unsure_no_deeper, "guidance.unsure_no_deeper")

    def _drop_unconfirmed(self, s) -> None:
        self.unconfirmed = None
        s.say(s.r.guidance.ask_again, "guidance.ask_again")

    def _apply(self, s, value: int) -> None:
        g = s.r.guidance
        self.unconfirmed = None
        s.record_rating(value, "hold")
        if value >= g.release_at:
            s.say(g.release_now, "guidance.release_now")
            s.knot.gentle_round = s.knot.round  # no more deep pressure on this knot this round
            self._end(s, "too_intense")
            s.go("soften")
        elif value > g.high:
            s.say(g.too_high, "guidance.too_high")
        elif value < g.low:
            s.say(g.too_low, "guidance.too_low")
        else:
            s.say(g.in_range, "guidance.in_range")

    def _finish(self, s, reason: str) -> None:
        s.say(s.r.hold.release, "hold.release")
        self._end(s, reason)
        s.go("soften")

    def _end(self, s, reason: str) -> None:
        if self.timer is None:
            return
        held = round(min(self.timer.elapsed(s.run_time), self.timer.max_seconds), 3)
        s.emit(HoldEnd(held, reason, s.knot.number, s.knot.round))
        self.timer = None
        self.unconfirmed = None
