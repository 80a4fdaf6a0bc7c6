"""Next knot: find another knot, or finish."""

from __future__ import annotations

from voice_coach.events import Say
from voice_coach.phases.base import Phase


class NextKnot(Phase):
    name = "next_knot"

    def enter(self, s) -> None:
        palpate = lambda i: s.go("palpation")  # noqa: E731
        self.ask(
            s, "next", [Say(s.r.next.prompt, "next.prompt")],
            {"next": palpate, "yes": palpate, "ready": palpate, "found": lambda i: s.go("palpation", found=True), "no": lambda i: s.go("summary")},
        )
