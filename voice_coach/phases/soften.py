"""Soften: did the knot let go? Either way, the area is integrated next."""

from __future__ import annotations

from voice_coach.events import Record, Say
from voice_coach.phases.base import Phase


class Soften(Phase):
    name = "soften"

    def enter(self, s) -> None:
        so = s.r.soften

        def answer(softened: bool) -> None:
            knot = s.knot
            knot.softened = softened
            s.emit(Record("softened", {"knot": knot.number, "round": knot.round, "softened": softened, "location": knot.location}))
            s.say(so.yes if softened else so.no, "soften.yes" if softened else "soften.no")
            s.go("integrate")

        yes, no = (lambda i: answer(True)), (lambda i: answer(False))
        self.ask(s, "soften", [Say(so.ask, "soften.ask")], {"yes": yes, "softened": yes, "no": no, "skip": no})
