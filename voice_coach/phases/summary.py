"""Summary: what was done today, advice, and goodbye. The session ends completed."""

from __future__ import annotations

from voice_coach.phases.base import Phase


class Summary(Phase):
    name = "summary"

    def enter(self, s) -> None:
        su = s.r.summary
        s.say(su.intro, "summary.intro")
        if s.knots:
            s.say(su.knots.format(knots=len(s.knots)), "summary.knots")
            s.say(su.softened.format(softened=sum(k.softened for k in s.knots)), "summary.softened")
        else:
            s.say(su.no_knots, "summary.no_knots")
        if s.advice:
            s.say(su.advice, "summary.advice")
        for note in s.summary_notes():
            s.emit(note)
        s.say(su.goodbye, "summary.goodbye")
        s.end(s.COMPLETED)
