"""Posture: how the giver stands and leans in, and oiled hands."""

from __future__ import annotations

from voice_coach.events import Say
from voice_coach.phases.base import Phase, ready


class Posture(Phase):
    name = "posture"

    def enter(self, s) -> None:
        s.say_lines(s.r.posture.lines, "posture")
        self.ask(s, "posture", [Say(s.r.posture.prompt, "posture.prompt")], ready(lambda: s.go("warmup")))
