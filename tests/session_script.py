"""Drive a Session through a script of utterances and waits, with a fake clock."""

from __future__ import annotations

from voice_coach.clock import FakeClock
from voice_coach.events import Heard, Say, Start, Tick
from voice_coach.session import Session

# The answers that walk a session from the start to the first rating.
TO_FIRST_RATING = ["ready", "no", "no", "no", "no", "no", "ready", ("until_question",), "found it", "left shoulder blade"]

# A script that brings a fresh session to the start of each phase (summary ends the session).
TO_PHASE = {
    "preparation": [],
    "screening": ["ready"],
    "posture": ["ready", "no", "no", "no", "no", "no"],
    "warmup": ["ready", "no", "no", "no", "no", "no", "ready"],
    "palpation": ["ready", "no", "no", "no", "no", "no", "ready", ("until_question",)],
    "rating": TO_FIRST_RATING,
    "hold": [*TO_FIRST_RATING, "six"],
    "soften": [*TO_FIRST_RATING, "six", ("wait", 60)],
    "integrate": [*TO_FIRST_RATING, "six", ("wait", 60), "yes"],
    "next_knot": [*TO_FIRST_RATING, "six", ("wait", 60), "yes", ("until_question",)],
    "summary": [*TO_FIRST_RATING, "six", ("wait", 60), "yes", ("until_question",), "no"],
}


def start_in(content, phase: str) -> tuple[Session, FakeClock]:
    """A session at the start of `phase`, driven there by TO_PHASE."""
    clock = FakeClock()
    s = Session(content, clock)
    r = Runner(s, clock)
    r.start()
    r.run(TO_PHASE[phase])
    assert s.phase_name == phase, (phase, s.phase_name)
    return s, clock


class Runner:
    def __init__(self, session: Session, clock: FakeClock, step: float = 0.1):
        self.s = session
        self.clock = clock
        self.step = step
        self.log: list[tuple[float, object]] = []

    def feed(self, event) -> list:
        actions = self.s.handle(event)
        self.log += [(self.s.run_time, a) for a in actions]
        return actions

    def start(self) -> list:
        return self.feed(Start())

    def say(self, text: str, final: bool = True, sure: bool = True) -> list:
        return self.feed(Heard(text, final, sure))

    def wait(self, seconds: float) -> list:
        out = []
        end = round(self.clock.now() + seconds, 6)
        while self.clock.now() < end - 1e-9:
            self.clock.advance(min(self.step, round(end - self.clock.now(), 6)))
            out += self.feed(Tick())
        return out

    def until_question(self, limit: float = 600) -> list:
        out = []
        waited = 0.0
        while not self.s.awaiting_answer and not self.s.ended:
            if waited > limit:
                raise AssertionError(f"no question within {limit}s")
            out += self.wait(self.step)
            waited += self.step
        return out

    def run(self, script) -> list:
        out = []
        for item in script:
            if isinstance(item, tuple):
                op, *args = item
                out += getattr(self, op)(*args)
            else:
                out += self.say(item)
        return out

    def said(self, actions=None) -> list[str]:
        acts = actions if actions is not None else [a for _, a in self.log]
        return [a.key for a in acts if isinstance(a, Say)]

    def types(self, actions=None) -> list[str]:
        acts = actions if actions is not None else [a for _, a in self.log]
        return [a.type for a in acts]
