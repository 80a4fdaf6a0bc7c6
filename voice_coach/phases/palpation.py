"""Palpation: find a knot, then say where it is (or skip naming it); then the pressure rating."""

from __future__ import annotations

from voice_coach.events import Record, Say
from voice_coach.phases.base import Phase


class Palpation(Phase):
    name = "palpation"

    def __init__(self, found: bool = False) -> None:
        """found=True: the knot is already found (said at the "next knot" question): ask where."""
        super().__init__()
        self.found = found

    def enter(self, s) -> None:
        if self.found:
            self._where(s)
            return
        p = s.r.palpation
        s.say_lines(p.lines, "palpation")
        found = lambda i: self._where(s)  # noqa: E731
        nxt = lambda i: s.go("next_knot")  # noqa: E731
        self.ask(s, "palpation", [Say(p.prompt, "palpation.prompt")], {"found": found, "yes": found, "skip": nxt, "next": nxt})

    def _where(self, s) -> None:
        knot = s.new_knot()

        def named(i) -> None:
            knot.location = i.value
            s.say(s.r.palpation.noted.format(location=i.value), "palpation.noted")
            unnamed(i)

        def unnamed(i) -> None:
            s.emit(Record("knot", {"knot": knot.number, "location": knot.location}))
            s.go("rating")

        self.ask(s, "location", [Say(s.r.palpation.where, "palpation.where")], {"location": named, "skip": unnamed, "next": unnamed, "no": unnamed})
