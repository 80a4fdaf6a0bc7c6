"""Integrate: effleurage then petrissage over the area, each on a timer. Then the next knot, or
another round on this one if it did not soften (up to soften.max_rounds, then advice)."""

from __future__ import annotations

from voice_coach.events import Record, Say
from voice_coach.phases.base import Phase


class Integrate(Phase):
    name = "integrate"

    def enter(self, s) -> None:
        it = s.r.integrate
        self.start_step(s, "effleurage", Say(it.effleurage, "integrate.effleurage"), it.effleurage_seconds, it.cue_every, it.cue, None)

    def step_done(self, s, name: str) -> None:
        it = s.r.integrate
        if name == "effleurage":
            self.start_step(s, "petrissage", Say(it.petrissage, "integrate.petrissage"), it.petrissage_seconds, it.cue_every, it.cue, Say(it.done, "integrate.done"))
            return
        so = s.r.soften
        knot = s.knot
        if knot.softened:
            s.go("next_knot")
        elif knot.round >= so.max_rounds:
            s.advice.append("not_improving")
            s.emit(Record("advice", {"kind": "not_improving", "knot": knot.number, "rounds": knot.round, "location": knot.location}))
            s.say(so.not_improving.format(rounds=knot.round), "soften.not_improving")
            s.go("next_knot")
        else:
            knot.round += 1
            s.say(so.another_round, "soften.another_round")
            s.go("rating")
