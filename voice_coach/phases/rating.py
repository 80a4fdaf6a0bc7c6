"""Rating: press into the knot and ask how strong it is, 1 to 10, until it is in range (then the
hold), too intense to go on, or the adjustments run out. A rating that would mean "deeper" and
might be misheard is read back first (Understanding.reads_back)."""

from __future__ import annotations

from voice_coach.events import Say
from voice_coach.phases.base import Phase


class Rating(Phase):
    name = "rating"

    def enter(self, s) -> None:
        p = s.r.pressure
        s.knot.adjustments = 0
        s.say_lines(p.lines, "pressure")
        s.say(p.ask_rating, "pressure.ask_rating")
        self._ask_rating(s, p.rating_prompt, "pressure.rating_prompt")

    def _ask_rating(self, s, text: str, key: str) -> None:
        self.ask(s, "rating", [Say(text, key)], {"rating": lambda i: self._rated(s, i), "skip": lambda i: s.go("integrate")})

    def _rated(self, s, intent) -> None:
        value = int(intent.value)
        if not s.understand.reads_back(value, s.understand.sure_rating(intent)):
            self._apply(s, value)
            return
        g = s.r.guidance

        def again(i) -> None:
            if int(i.value) == value:  # the same number twice is a yes
                self._apply(s, value)
            else:
                self._rated(s, i)

        def no_deeper() -> None:
            # Not sure the low rating was right: no deeper pressure; hold where it is.
            s.say(g.unsure_no_deeper, "guidance.unsure_no_deeper")
            s.go("hold")

        unsure = lambda i: s.unsure(self.question, no_deeper)  # noqa: E731
        self.ask(
            s, "confirm_rating", [Say(g.confirm.format(rating=value), "guidance.confirm")],
            {"yes": lambda i: self._apply(s, value), "rating": again,
             "no": lambda i: self._ask_rating(s, g.ask_again, "guidance.ask_again"),
             "hedge": unsure, "ambiguous": unsure,
             "skip": lambda i: s.go("integrate")},
        )

    def _apply(self, s, value: int) -> None:
        g = s.r.guidance
        knot = s.knot
        s.record_rating(value, "pressure")
        if g.low <= value <= g.high:
            s.say(g.in_range, "guidance.in_range")
            s.go("hold")
            return
        if value >= g.release_at:
            # Release now, and no more deep pressure on this knot this round: gentle strokes only.
            s.say(g.release_now, "guidance.release_now")
            knot.gentle_round = knot.round
            s.go("integrate")
            return
        knot.adjustments += 1
        if knot.adjustments > g.max_adjustments:
            if value >= g.release_at:
                s.say(g.release_now, "guidance.release_now")
                s.go("integrate")
            else:
                s.say(g.give_up, "guidance.give_up")
                s.go("hold")
            return
        if value >= g.release_at:
            s.say(g.release_now, "guidance.release_now")
        elif value > g.high:
            s.say(g.too_high, "guidance.too_high")
        else:
            s.say(g.too_low, "guidance.too_low")
        self._ask_rating(s, g.ask_again, "guidance.ask_again")
