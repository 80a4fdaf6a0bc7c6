"""Screening: the safety questions. A yes to any contraindication declines the massage; the last,
advisory question (pain that disturbs daily life) is advice, not a stop."""

from __future__ import annotations

from voice_coach.events import Halt, Record, Say
from voice_coach.phases.base import Phase


class Screening(Phase):
    name = "screening"

    def enter(self, s) -> None:
        s.say(s.r.screening.intro, "screening.intro")
        self._ask(s, 0)

    def _ask(self, s, index: int) -> None:
        sc = s.r.screening
        if index == len(sc.questions):
            s.say(sc.all_clear, "screening.all_clear")
            self._advisory(s)
            return
        q = sc.questions[index]

        def answer(yes: bool) -> None:
            s.emit(Record("screening", {"question": q.id, "answer": "yes" if yes else "no"}))
            if yes:
                s.emit(Halt("contraindication", q.id))
                s.say(sc.declined, "screening.declined")
                s.end(s.DECLINED)
            else:
                self._ask(s, index + 1)

        cannot_skip = lambda i: s.say(s.r.control.cannot_skip, "control.cannot_skip")  # noqa: E731
        self.ask(
            s, f"screening.{q.id}", [Say(q.ask, f"screening.{q.id}")],
            {"yes": lambda i: answer(True), "no": lambda i: answer(False), "skip": cannot_skip, "next": cannot_skip},
        )

    def _advisory(self, s) -> None:
        a = s.r.screening.advisory

        def answer(yes: bool) -> None:
            s.emit(Record("screening", {"question": a.id, "answer": "yes" if yes else "no"}))
            if yes:
                s.advice.append(a.id)
                s.emit(Record("advice", {"kind": a.id}))
                s.say(a.if_yes, "screening.advisory.if_yes")
            s.screening_passed = True
            s.go("posture")

        self.ask(s, f"screening.{a.id}", [Say(a.ask, "screening.advisory.ask")], {"yes": lambda i: answer(True), "no": lambda i: answer(False)})
