"""Preparation: the welcome, advice from earlier sessions, the room and the recipient's position."""

from __future__ import annotations

from voice_coach.events import Say
from voice_coach.phases.base import Phase, ready


class Preparation(Phase):
    name = "preparation"

    def enter(self, s) -> None:
        r = s.r
        s.say_lines(r.welcome.lines, "welcome")
        for note in s.start_notes:
            s.emit(note)
        s.say_lines(r.preparation.lines, "preparation")
        self.ask(s, "preparation", [Say(r.preparation.prompt, "preparation.prompt")], ready(lambda: s.go("screening")))
