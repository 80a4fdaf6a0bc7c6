"""The massage session: a pure state machine of named phases (voice_coach/phases/).

Events go in (`handle`), actions come out. No audio, threads, sleeps or wall-clock reads: time
comes from the injected clock, and only run time counts, so a pause freezes every timer.

Safety order, for every transcript (partial ones included), in every phase, before anything else:
red flag -> halt; stop/pause -> cancel speech and pause. Only then is the current phase asked
what the words mean. What counts as urgent, and whether an answer is sure, is decided before the
session: it is given the meanings (`Heard.intents`, or the phrase book's parse of `Heard.text`).

The session owns what every phase shares: run time, pause and deafness, the knots worked on, the
advice given, and the commands that work anywhere (help, repeat, finish, time left).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable, Sequence

from voice_coach.clock import Clock
from voice_coach.events import (
    Action,
    CancelSpeech,
    End,
    Event,
    Failed,
    Fault,
    Halt,
    Heard,
    InputEnded,
    Paused,
    Pressed,
    Record,
    Restored,
    Resumed,
    Say,
    SpeechDone,
    Start,
    Tick,
    Understood,
)
from voice_coach.intents import PRESSURE, RATING, RED_FLAG, RELEASE, Context, Intent
from voice_coach.phases import PHASES, Phase, Question
from voice_coach.routine import Content
from voice_coach.understand import STOPS, Understanding
from voice_coach.understand import urgent as urgent_of

# Outcomes, and the exit codes the CLI maps them to.
COMPLETED, HALTED, DECLINED, QUIT, FAILED = "completed", "halted", "declined", "quit", "failed"
# The steps with a thumb on the knot: a stop or "I'm done" there takes the pressure off first.
PRESSING = frozenset({"hold", "rating", "read_back"})


@dataclass
class Knot:
    number: int
    location: str | None = None
    round: int = 1
    softened: bool = False
    adjustments: int = 0
    gentle_round: int = 0  # a round in which this knot gets no more deep pressure (after a 9)


class Session:
    COMPLETED, HALTED, DECLINED, QUIT, FAILED = COMPLETED, HALTED, DECLINED, QUIT, FAILED

    def __init__(
        self,
        content: Content,
        clock: Clock,
        start_notes: Sequence[Say] = (),
        summary_notes: Callable[[], Sequence[Say]] | None = None,
    ):
        """`start_notes` are said right after the welcome; `summary_notes()` is asked for lines to
        say before the goodbye (the journal's advice across sessions). Both are optional, and both
        are fixed here: nothing changes a session after it is built."""
        self.start_notes = tuple(start_notes)
        self._summary_notes = summary_notes
        self.r = content.routine
        self.understand = Understanding(content.phrases, content.routine.guidance)
        self.clock = clock
        self.outcome: str | None = None
        self.paused = False
        self.deaf = False  # a mic or recognizer fault: cannot hear
        self.mute = False  # a voice fault: cannot speak
        self.phase: Phase | None = None
        self.knot: Knot | None = None
        self.knots: list[Knot] = []
        self.advice: list[str] = []
        self.screening_passed = False
        self._run = 0.0
        self._last_wall: float | None = None
        self._out: list[Action] = []
        self._last_spoken: list[Say] = []
        self._reminded_paused = False
        self._rerate = False  # pressure came off after a stop: a new rating before it goes on again

    # -- public ---------------------------------------------------------------------------------

    @property
    def ended(self) -> bool:
        return self.outcome is not None

    @property
    def phase_name(self) -> str:
        return self.phase.name if self.phase is not None else ""

    @property
    def question(self) -> Question | None:
        return self.phase.question if self.phase is not None else None

    @property
    def awaiting_answer(self) -> bool:
        """True when the coach has asked something and is waiting for a reply."""
        return not self.ended and not self.paused and self.question is not None

    @property
    def run_time(self) -> float:
        return self._run

    def handle(self, event: Event) -> list[Action]:
        if self.ended:
            return []
        self._out = []
        self._advance_clock()
        if isinstance(event, Heard):
            self._heard(event)
        elif isinstance(event, Pressed):
            self._pressed(event.command)
        elif isinstance(event, Start):
            self.go("preparation")
        elif isinstance(event, Tick):
            if not self.paused and self.phase is not None:
                self.phase.tick(self)
        elif isinstance(event, SpeechDone):
            if self.question is not None:
                self.question.asked_at = self._run
        elif isinstance(event, InputEnded):
            self._input_ended()
        elif isinstance(event, Fault):
            self._fault(event)
        elif isinstance(event, Restored):
            self._restored(event.source)
        elif isinstance(event, Failed):
            self._failed()
        out, self._out = self._out, []
        return out

    # -- for phases -----------------------------------------------------------------------------

    def go(self, name: str, **kw) -> None:
        """Enter the named phase (voice_coach/phases/)."""
        self.phase = PHASES[name](**kw)
        self.phase.enter(self)

    def end(self, outcome: str) -> None:
        if self.phase is not None:
            self.phase.question = None
            self.phase.step = None
        self.outcome = outcome
        self.emit(End(outcome))

    def emit(self, action: Action) -> None:
        self._out.append(replace(action, phase=self.phase_name) if self.phase is not None else action)

    def say(self, text: str, key: str) -> None:
        self.emit(Say(text, key))

    def say_lines(self, lines: list[str], key: str) -> None:
        for n, line in enumerate(lines):
            self.say(line, f"{key}.lines[{n}]")

    def spoke(self, lines: list[Say]) -> None:
        """What "repeat" says again."""
        self._last_spoken = list(lines)

    def summary_notes(self) -> Sequence[Say]:
        return self._summary_notes() if self._summary_notes is not None else ()

    def new_knot(self) -> Knot:
        self.knot = Knot(number=len(self.knots) + 1)
        self.knots.append(self.knot)
        return self.knot

    def record_rating(self, value: int, phase: str) -> None:
        k = self.knot
        self.emit(Record("rating", {"knot": k.number, "round": k.round, "value": value, "phase": phase, "location": k.location}))

    def context(self) -> Context:
        """What the coach is waiting for, for the understanding stage (voice_coach/intents.py)."""
        step = self.step()
        q = self.question
        question = " ".join(x.text for x in q.prompt) if q is not None and step in ("yes_no", "soften", "read_back", "next") else ""
        return Context(step, question)

    def step(self) -> str | None:
        """The kind of step the session is in: a name from intents.STEPS, or None."""
        p = self.phase
        if p is None:
            return None
        if p.name == "hold":
            return "hold"
        if p.step is not None:
            return "strokes"
        q = p.question
        if q is None:
            return None
        if q.name.startswith("screening."):
            return "yes_no"
        return {"preparation": "ready", "posture": "ready", "rating": "rating", "confirm_rating": "read_back",
                "location": "location", "palpation": "palpation", "soften": "soften", "next": "next"}.get(q.name)

    def help(self) -> None:
        step = self.step()
        if step is not None and hasattr(self.r.help, step):
            self.say(getattr(self.r.help, step), f"help.{step}")
        else:
            self.say(self.r.control.help, "control.help")

    def unsure(self, q: Question, safe: Callable[[], None]) -> None:
        """A hedge ("not sure") or a yes-and-no: asked again once, then taken the safe way."""
        q.hedges += 1
        if q.hedges == 1:
            self.say(self.r.control.unsure, "control.unsure")
            self.ask_again(q)
        else:
            safe()

    def ask_again(self, q: Question) -> None:
        q.asked_at = self._run
        for s in q.prompt:
            self.emit(s)

    def tick_question(self, q: Question) -> None:
        step = self.step()
        wait = getattr(self.r.control.pace, step, self.r.control.listen_timeout_seconds) if step else self.r.control.listen_timeout_seconds
        if q.misses < 2 and self._run - q.asked_at >= wait:
            self._miss(heard_something=False)

    def time_left(self) -> None:
        left = self.phase.remaining(self) if self.phase is not None else None
        if left is None:
            self.say(self.r.control.no_timer, "control.no_timer")
            return
        self.say(self.r.control.time_left.format(seconds=round(left)), "control.time_left")

    # -- time -----------------------------------------------------------------------------------

    def _advance_clock(self) -> None:
        now = self.clock.now()
        if self._last_wall is not None and not self.paused:
            self._run = round(self._run + (now - self._last_wall), 6)
        self._last_wall = now

    # -- transcripts ----------------------------------------------------------------------------

    def _heard(self, event: Heard) -> None:
        intents = self.understand.intents(event.text, event.sure, self.context())
        urgent = urgent_of(intents)
        if urgent is not None and urgent.name == RED_FLAG:
            if urgent.reason == RATING and not event.final:
                return  # a 10 halts from the final transcript: a partial "ten" may become "ten minutes"
            self.emit(Understood(RED_FLAG, urgent.value, partial=not event.final))
            self._halt_red_flag(urgent.value)
            return
        names = [i.name for i in intents]
        if RELEASE in names and not self.paused and self.phase is not None and self.phase.name == "hold" and getattr(self.phase, "timer", None) is not None:
            # "let go", "stop pressing" during a hold: pressure off now, never "softened".
            self.emit(Understood(RELEASE, None, partial=not event.final))
            self.emit(CancelSpeech())
            self.phase.release_now(self)
            return
        if urgent is None and RELEASE in names:
            urgent = Intent("stop", reason=PRESSURE)  # "let go" outside a hold: pressure off, and pause
        if urgent is not None:
            if not self.paused:
                self.emit(Understood(urgent.name, urgent.reason, partial=not event.final))
                pressing = self.step() in PRESSING
                self._pause(urgent.name)
                if urgent.reason == PRESSURE or (urgent.name == "stop" and pressing):
                    self.say(self.r.control.ease_off, "control.ease_off")
                    self._rerate = self._rerate or pressing
            return
        if not event.final:
            return
        if self.paused:
            self._heard_while_paused(intents)
            return
        self._dispatch(intents)

    def _pressed(self, command: str) -> None:
        if command in STOPS:
            if not self.paused:
                self.emit(Understood(command, None))
            self._pause(command)
        elif command == "resume" and self.paused:
            self.emit(Understood("resume", None))
            self._resume()

    def _dispatch(self, intents: list[Intent]) -> None:
        handlers = self._handlers()
        for intent in intents:
            handler = handlers.get(intent.name)
            if handler is not None:
                self.emit(Understood(intent.name, intent.value))
                if self.question is not None:
                    self.question.misses = 0
                handler(intent)
                return
        self.emit(Understood("none", None))
        self._miss(heard_something=True)

    def _handlers(self) -> dict[str, Callable[[Intent], None]]:
        """What the current phase accepts, over the commands that work in every phase."""
        common: dict[str, Callable[[Intent], None]] = {
            "help": lambda i: self.help(),
            "repeat": lambda i: self._repeat(),
            "finish": lambda i: self._finish_early(),
            "time_left": lambda i: self.time_left(),
            "resume": lambda i: None,
        }
        return {**common, **(self.phase.accepts(self) if self.phase is not None else {})}

    def _heard_while_paused(self, intents: list[Intent]) -> None:
        names = [i.name for i in intents]
        if "resume" in names:
            self.emit(Understood("resume", None))
            self._resume()
        elif "finish" in names:
            self.emit(Understood("finish", None))
            self.paused = False
            self.emit(Resumed())
            self._finish_early()
        elif "help" in names:
            self.emit(Understood("help", None))
            self.help()
        elif not self._reminded_paused:
            self._reminded_paused = True
            self.say(self.r.control.paused, "control.paused")

    # -- safety ---------------------------------------------------------------------------------

    def _halt_red_flag(self, kind: str) -> None:
        self.emit(CancelSpeech())
        self._leave_phase("halted")
        what = getattr(self.r.halt.kinds, kind)
        self.emit(Halt("red_flag", kind))
        self.emit(Record("red_flag", {"kind": kind, "knot": self.knot.number if self.knot else None}))
        self.say(self.r.halt.red_flag.format(what=what), "halt.red_flag")
        self.end(HALTED)

    def _pause(self, reason: str) -> None:
        if self.paused:
            return
        self.paused = True
        self._reminded_paused = False
        self.emit(CancelSpeech())
        self.emit(Paused(reason))
        self.say(self.r.control.paused, "control.paused")

    def _resume(self) -> None:
        if self.deaf or self.mute:
            # Not while the coach cannot hear a stop, or cannot be heard: it would guide blind.
            key = "voice_failed" if self.mute else "mic_error"
            self.say(getattr(self.r.faults, key), f"faults.{key}")
            return
        self.paused = False
        self.emit(Resumed())
        self.say(self.r.control.resumed, "control.resumed")
        if self._rerate and self.knot is not None and self.phase is not None and self.phase.name in ("hold", "rating"):
            self._rerate = False
            self._leave_phase("eased_off")
            self.say(self.r.control.rerate, "control.rerate")
            self.go("rating")
            return
        self._rerate = False
        if self.phase is not None:
            self.phase.resumed(self)

    def _fault(self, fault: Fault) -> None:
        """Pause and say why, once per fault: the line for its code, never the exception."""
        voice = fault.source == "voice"
        if (self.mute if voice else self.deaf):
            return
        if voice:
            self.mute = True
        else:
            self.deaf = True
        was_paused = self.paused
        self._pause("voice_failed" if voice else "cannot_hear")
        if was_paused:
            self.emit(CancelSpeech())
        self.say(getattr(self.r.faults, fault.key), f"faults.{fault.key}")

    def _restored(self, source: str) -> None:
        if source == "voice":
            if self.mute:
                self.mute = False
                self.say(self.r.faults.voice_back, "faults.voice_back")
        elif self.deaf:
            self.deaf = False
            self.say(self.r.control.hearing_again, "control.hearing_again")

    def _failed(self) -> None:
        self._leave_phase("failed")
        self.say(self.r.faults.failed, "faults.failed")
        self.end(FAILED)

    def _input_ended(self) -> None:
        self._leave_phase("input_ended")
        self.say(self.r.control.input_ended, "control.input_ended")
        self.end(QUIT)

    def _leave_phase(self, reason: str) -> None:
        if self.phase is not None:
            self.phase.leave(self, reason)

    # -- commands that work in every phase --------------------------------------------------------

    def _finish_early(self) -> None:
        if self.step() in PRESSING:
            # "I'm done" with a thumb on the knot: the pressure comes off before the goodbye.
            self.say(self.r.control.ease_off, "control.ease_off")
        self._leave_phase("finished")
        if not self.screening_passed:
            self.say(self.r.control.finished_early, "control.finished_early")
            self.end(QUIT)
            return
        self.go("summary")

    def _repeat(self) -> None:
        for s in self._last_spoken:
            self.emit(s)
        if self.question is not None:
            self.question.asked_at = self._run

    def _miss(self, heard_something: bool) -> None:
        """Something unusable was heard, or nothing at all: re-prompt once, then help, then wait."""
        q = self.question
        if q is None:
            return
        q.misses += 1
        if q.misses == 1:
            if heard_something:
                self.say(self.r.control.not_understood, "control.not_understood")
            self.ask_again(q)
        elif q.misses == 2:
            self.help()
            q.asked_at = self._run
        elif heard_something:
            # A third unusable reply still gets an answer: what this step accepts, and the question.
            self.say(self.r.control.not_understood, "control.not_understood")
            self.help()
            self.ask_again(q)
