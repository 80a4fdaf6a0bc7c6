"""Warm-up: broad strokes on a timer, with cues; then palpation."""

from __future__ import annotations

from voice_coach.events import Say
from voice_coach.phases.base import Phase


class Warmup(Phase):
    name = "warmup"

    def enter(self, s) -> None:
        w = s.r.warmup
        self.start_step(s, "warmup", Say(w.start, "warmup.start"), w.seconds, w.cue_every, w.cue, Say(w.end, "warmup.end"))

    def step_done(self, s, name: str) -> None:
        s.go("palpation")
