"""What every phase of the session is made of.

A phase is a small unit with a `name` (it is in the event log and the journal), what it says when
it starts (`enter`), what it accepts (`accepts`: intent name -> handler), what it does on a tick
(`tick`) and what comes next (each handler ends with `s.go("next phase")`, or `s.end(...)`).

Phases never see a clock, a thread or a device: they get the Session (`s`), which owns run time,
the knots worked on, and what is said. Safety (red flag, stop, pause, faults) is not a phase's
business: the session handles it before any phase is asked what the words mean.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, ClassVar

from voice_coach.events import Say
from voice_coach.hold_timer import Countdown
from voice_coach.intents import Intent

if TYPE_CHECKING:
    from voice_coach.session import Session

Handler = Callable[[Intent], None]


@dataclass
class Question:
    """A question waiting for an answer: which intents it takes and what to do with each."""

    name: str
    prompt: list[Say]
    handlers: dict[str, Handler]
    misses: int = 0
    asked_at: float = 0.0


@dataclass
class TimedStep:
    """A stretch of strokes on a timer (warm-up, effleurage, petrissage): cues, then an end line."""

    name: str
    countdown: Countdown
    cue: str
    end: Say | None


class Phase:
    name: ClassVar[str] = ""

    def __init__(self) -> None:
        self.question: Question | None = None  # set while the phase waits for an answer
        self.step: TimedStep | None = None  # set while a timed step runs

    # -- what it says ---------------------------------------------------------------------------

    def enter(self, s: Session) -> None:
        raise NotImplementedError

    # -- what it accepts ------------------------------------------------------------------------

    def accepts(self, s: Session) -> dict[str, Handler]:
        if self.step is not None:
            return {"skip": lambda i: self.end_step(s), "next": lambda i: self.end_step(s)}
        return dict(self.question.handlers) if self.question is not None else {}

    # -- what it does on a tick -------------------------------------------------------------------

    def tick(self, s: Session) -> None:
        if self.step is not None:
            t = self.step
            for _ in t.countdown.due_cues(s.run_time):
                s.say(t.cue, f"{t.name}.cue")
            if t.countdown.done(s.run_time):
                self.end_step(s)
        elif self.question is not None:
            s.tick_question(self.question)

    # -- timers and leaving -------------------------------------------------------------------------

    def remaining(self, s: Session) -> float | None:
        """Seconds left on the phase's timer, or None when no timer runs."""
        return self.step.countdown.remaining(s.run_time) if self.step is not None else None

    def resumed(self, s: Session) -> None:
        """After a pause: ask the pending question again."""
        if self.question is not None:
            self.question.misses = 0
            s.ask_again(self.question)

    def leave(self, s: Session, reason: str) -> None:
        """The session leaves this phase early (finished, halted, input ended)."""
        self.question = None
        self.step = None

    # -- helpers for phases ---------------------------------------------------------------------

    def ask(self, s: Session, name: str, prompt: list[Say], handlers: dict[str, Handler]) -> None:
        self.step = None
        self.question = Question(name, prompt, handlers, asked_at=s.run_time)
        s.spoke(prompt)
        for line in prompt:
            s.emit(line)

    def start_step(self, s: Session, name: str, start: Say, seconds: float, cue_every: float, cue: str, end: Say | None) -> None:
        self.question = None
        s.say(start.text, start.key)
        s.spoke([start])
        self.step = TimedStep(name, Countdown(seconds, cue_every, started=s.run_time), cue, end)

    def end_step(self, s: Session) -> None:
        t, self.step = self.step, None
        if t.end is not None:
            s.say(t.end.text, t.end.key)
        self.step_done(s, t.name)

    def step_done(self, s: Session, name: str) -> None:
        """A timed step ran out (or was skipped): what comes next."""
        raise NotImplementedError


def ready(then: Callable[[], None]) -> dict[str, Handler]:
    """The answers that mean "ready, go on"."""
    go = lambda i: then()  # noqa: E731
    return {"ready": go, "yes": go, "resume": go, "next": go, "skip": go}
