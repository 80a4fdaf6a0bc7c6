"""The massage session: a pure state machine.

Events go in (`handle`), actions come out. No audio, threads, sleeps or wall-clock reads: time
comes from the injected clock, and only run time counts, so a pause freezes every timer.

Safety order, for every transcript (partial ones included), in every state, before anything else:
red flag -> halt; stop/pause -> cancel speech and pause. Only then is the current step asked
what the words mean.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

from voice_coach.clock import Clock
from voice_coach.events import (
    Action,
    AudioFault,
    AudioRestored,
    CancelSpeech,
    End,
    Event,
    Halt,
    Heard,
    HoldEnd,
    HoldStart,
    InputEnded,
    Paused,
    Record,
    Resumed,
    Say,
    SpeechDone,
    Start,
    Tick,
    Understood,
)
from voice_coach.hold_timer import Countdown, HoldTimer
from voice_coach.intents import RED_FLAG, URGENT_INTENTS, Intent
from voice_coach.routine import Content

# Outcomes, and the exit codes the CLI maps them to.
COMPLETED, HALTED, DECLINED, QUIT = "completed", "halted", "declined", "quit"


@dataclass
class Question:
    """A step waiting for an answer: which intents it takes and what to do with each."""

    name: str
    prompt: list[Say]
    handlers: dict[str, Callable[[Intent], None]]
    misses: int = 0
    asked_at: float = 0.0


@dataclass
class Timed:
    """A step that runs on a timer (warm-up, effleurage, petrissage)."""

    name: str
    countdown: Countdown
    cue: str
    end: Say | None
    then: Callable[[], None]


@dataclass
class Knot:
    number: int
    location: str | None = None
    round: int = 1
    softened: bool = False
    adjustments: int = 0


class Session:
    def __init__(
        self,
        content: Content,
        clock: Clock,
        start_notes: Sequence[Say] = (),
        summary_notes: Callable[[Session], Sequence[Say]] | None = None,
    ):
        """`start_notes` are said right after the welcome; `summary_notes(session)` is asked for lines
        to say before the goodbye (the journal's advice across sessions). Both are optional."""
        self.start_notes = list(start_notes)
        self.summary_notes = summary_notes
        self.r = content.routine
        self.phrases = content.phrases
        self.clock = clock
        self.outcome: str | None = None
        self.paused = False
        self.deaf = False
        self.question: Question | None = None
        self.timed: Timed | None = None
        self.hold: HoldTimer | None = None
        self.knot: Knot | None = None
        self.knots: list[Knot] = []
        self.advice: list[str] = []
        self.screening_passed = False
        self._run = 0.0
        self._last_wall: float | None = None
        self._out: list[Action] = []
        self._last_spoken: list[Say] = []
        self._reminded_paused = False
        self._unconfirmed: int | None = None  # a low rating heard during the hold, not yet confirmed

    # -- public ---------------------------------------------------------------------------------

    @property
    def ended(self) -> bool:
        return self.outcome is not None

    @property
    def awaiting_answer(self) -> bool:
        """True when the coach has asked something and is waiting for a reply."""
        return not self.ended and not self.paused and self.question is not None

    @property
    def run_time(self) -> float:
        return self._run

    def is_urgent(self, text: str) -> bool:
        return any(i.name in URGENT_INTENTS for i in self.phrases.parse(text))

    def handle(self, event: Event) -> list[Action]:
        if self.ended:
            return []
        self._out = []
        self._advance_clock()
        if isinstance(event, Heard):
            self._heard(event)
        elif isinstance(event, Start):
            self._start()
        elif isinstance(event, Tick):
            self._tick()
        elif isinstance(event, SpeechDone):
            if self.question is not None:
                self.question.asked_at = self._run
        elif isinstance(event, InputEnded):
            self._input_ended()
        elif isinstance(event, AudioFault):
            self._audio_fault(event.reason)
        elif isinstance(event, AudioRestored):
            if self.deaf:
                self.deaf = False
                self._say(self.r.control.hearing_again, "control.hearing_again")
        out, self._out = self._out, []
        return out

    # -- time -----------------------------------------------------------------------------------

    def _advance_clock(self) -> None:
        now = self.clock.now()
        if self._last_wall is not None and not self.paused:
            self._run = round(self._run + (now - self._last_wall), 6)
        self._last_wall = now

    def _tick(self) -> None:
        if self.paused:
            return
        if self.hold is not None:
            self._tick_hold()
        elif self.timed is not None:
            self._tick_timed()
        elif self.question is not None:
            self._tick_question()

    # -- transcripts ----------------------------------------------------------------------------

    def _heard(self, event: Heard) -> None:
        intents = self.phrases.parse(event.text, event.sure)
        first = intents[0]
        if first.name == RED_FLAG:
            self._emit(Understood(RED_FLAG, first.value, partial=not event.final))
            self._halt_red_flag(first.value)
            return
        urgent = next((i for i in intents if i.name in ("stop", "pause")), None)
        if urgent is not None:
            if not self.paused:
                self._emit(Understood(urgent.name, None, partial=not event.final))
            self._pause(urgent.name)
            return
        if not event.final:
            return
        if self.paused:
            self._heard_while_paused(intents)
            return
        self._dispatch(intents)

    def _dispatch(self, intents: list[Intent]) -> None:
        handlers = self._current_handlers()
        for intent in intents:
            handler = handlers.get(intent.name)
            if handler is not None:
                self._emit(Understood(intent.name, intent.value))
                if self.question is not None:
                    self.question.misses = 0
                handler(intent)
                return
        self._emit(Understood("none", None))
        self._miss(heard_something=True)

    def _current_handlers(self) -> dict[str, Callable[[Intent], None]]:
        common: dict[str, Callable[[Intent], None]] = {
            "help": lambda i: self._say(self.r.control.help, "control.help"),
            "repeat": lambda i: self._repeat(),
            "finish": lambda i: self._finish_early(),
            "time_left": lambda i: self._time_left(),
            "resume": lambda i: None,
        }
        if self.hold is not None:
            return {**common, **self._hold_handlers()}
        if self.timed is not None:
            return {**common, "skip": lambda i: self._end_timed(), "next": lambda i: self._end_timed()}
        if self.question is not None:
            return {**common, **self.question.handlers}
        return common

    def _heard_while_paused(self, intents: list[Intent]) -> None:
        names = [i.name for i in intents]
        if "resume" in names:
            self._emit(Understood("resume", None))
            self._resume()
        elif "finish" in names:
            self._emit(Understood("finish", None))
            self.paused = False
            self._emit(Resumed())
            self._finish_early()
        elif "help" in names:
            self._emit(Understood("help", None))
            self._say(self.r.control.help, "control.help")
        elif not self._reminded_paused:
            self._reminded_paused = True
            self._say(self.r.control.paused, "control.paused")

    # -- safety ---------------------------------------------------------------------------------

    def _halt_red_flag(self, kind: str) -> None:
        self._emit(CancelSpeech())
        self._end_hold("halted")
        what = getattr(self.r.halt.kinds, kind)
        self._emit(Halt("red_flag", kind))
        self._emit(Record("red_flag", {"kind": kind, "knot": self.knot.number if self.knot else None}))
        self._say(self.r.halt.red_flag.format(what=what), "halt.red_flag")
        self._end(HALTED)

    def _pause(self, reason: str) -> None:
        if self.paused:
            return
        self.paused = True
        self._reminded_paused = False
        self._emit(CancelSpeech())
        self._emit(Paused(reason))
        self._say(self.r.control.paused, "control.paused")

    def _resume(self) -> None:
        self.paused = False
        self._emit(Resumed())
        self._say(self.r.control.resumed, "control.resumed")
        if self.question is not None:
            self.question.misses = 0
            self._ask_again()
        elif self.hold is not None:
            self._time_left()

    def _audio_fault(self, reason: str) -> None:
        if self.deaf:
            return
        self.deaf = True
        was_paused = self.paused
        self._pause("cannot_hear")
        if was_paused:
            self._emit(CancelSpeech())
        self._say(self.r.control.cannot_hear.format(reason=reason), "control.cannot_hear")

    def _input_ended(self) -> None:
        self._end_hold("input_ended")
        self._say(self.r.control.input_ended, "control.input_ended")
        self._end(QUIT)

    # -- the routine, in order ------------------------------------------------------------------

    def _start(self) -> None:
        self._say_lines(self.r.welcome.lines, "welcome")
        for note in self.start_notes:
            self._emit(note)
        self._say_lines(self.r.preparation.lines, "preparation")
        self._ask("preparation", [Say(self.r.preparation.prompt, "preparation.prompt")], self._ready(self._screen_intro))

    def _ready(self, then: Callable[[], None]) -> dict[str, Callable[[Intent], None]]:
        go = lambda i: then()  # noqa: E731
        return {"ready": go, "yes": go, "resume": go, "next": go, "skip": go}

    def _screen_intro(self) -> None:
        self._say(self.r.screening.intro, "screening.intro")
        self._screen(0)

    def _screen(self, index: int) -> None:
        questions = self.r.screening.questions
        if index == len(questions):
            self._say(self.r.screening.all_clear, "screening.all_clear")
            self._advisory()
            return
        q = questions[index]

        def answer(yes: bool) -> None:
            self._emit(Record("screening", {"question": q.id, "answer": "yes" if yes else "no"}))
            if yes:
                self._emit(Halt("contraindication", q.id))
                self._say(self.r.screening.declined, "screening.declined")
                self._end(DECLINED)
            else:
                self._screen(index + 1)

        cannot_skip = lambda i: self._say(self.r.control.cannot_skip, "control.cannot_skip")  # noqa: E731
        self._ask(
            f"screening.{q.id}",
            [Say(q.ask, f"screening.{q.id}")],
            {"yes": lambda i: answer(True), "no": lambda i: answer(False), "skip": cannot_skip, "next": cannot_skip},
        )

    def _advisory(self) -> None:
        a = self.r.screening.advisory

        def answer(yes: bool) -> None:
            self._emit(Record("screening", {"question": a.id, "answer": "yes" if yes else "no"}))
            if yes:
                self.advice.append(a.id)
                self._emit(Record("advice", {"kind": a.id}))
                self._say(a.if_yes, "screening.advisory.if_yes")
            self.screening_passed = True
            self._posture()

        self._ask(
            f"screening.{a.id}",
            [Say(a.ask, "screening.advisory.ask")],
            {"yes": lambda i: answer(True), "no": lambda i: answer(False)},
        )

    def _posture(self) -> None:
        self._say_lines(self.r.posture.lines, "posture")
        self._ask("posture", [Say(self.r.posture.prompt, "posture.prompt")], self._ready(self._warmup))

    def _warmup(self) -> None:
        w = self.r.warmup
        self._run_timed("warmup", Say(w.start, "warmup.start"), w.seconds, w.cue_every, w.cue, Say(w.end, "warmup.end"), self._palpate)

    def _palpate(self) -> None:
        p = self.r.palpation
        self._say_lines(p.lines, "palpation")
        self._ask(
            "palpation",
            [Say(p.prompt, "palpation.prompt")],
            {"found": lambda i: self._new_knot(), "yes": lambda i: self._new_knot(), "skip": lambda i: self._next_prompt(), "next": lambda i: self._next_prompt()},
        )

    def _new_knot(self) -> None:
        self.knot = Knot(number=len(self.knots) + 1)
        self.knots.append(self.knot)

        def named(i: Intent) -> None:
            self.knot.location = i.value
            self._say(self.r.palpation.noted.format(location=i.value), "palpation.noted")
            self._record_knot()
            self._press()

        def unnamed(i: Intent) -> None:
            self._record_knot()
            self._press()

        self._ask("location", [Say(self.r.palpation.where, "palpation.where")], {"location": named, "skip": unnamed, "next": unnamed, "no": unnamed})

    def _record_knot(self) -> None:
        self._emit(Record("knot", {"knot": self.knot.number, "location": self.knot.location}))

    def _press(self) -> None:
        p = self.r.pressure
        self.knot.adjustments = 0
        self._say_lines(p.lines, "pressure")
        self._say(p.ask_rating, "pressure.ask_rating")
        self._ask_rating(p.rating_prompt, "pressure.rating_prompt")

    def _ask_rating(self, text: str, key: str) -> None:
        self._ask("rating", [Say(text, key)], {"rating": self._rated, "skip": lambda i: self._integrate()})

    def _rated(self, intent: Intent) -> None:
        value = int(intent.value)
        if value > self.r.guidance.confirm_at_or_below:
            self._apply_rating(value)
            return

        def again(i: Intent) -> None:
            if int(i.value) == value:  # the same number twice is a yes
                self._apply_rating(value)
            else:
                self._rated(i)

        self._ask(
            "confirm_rating",
            [Say(self.r.guidance.confirm.format(rating=value), "guidance.confirm")],
            {"yes": lambda i: self._apply_rating(value), "rating": again,
             "no": lambda i: self._ask_rating(self.r.guidance.ask_again, "guidance.ask_again"),
             "skip": lambda i: self._integrate()},
        )

    def _apply_rating(self, value: int) -> None:
        g = self.r.guidance
        self._record_rating(value, "pressure")
        if g.low <= value <= g.high:
            self._say(g.in_range, "guidance.in_range")
            self._start_hold()
            return
        self.knot.adjustments += 1
        if self.knot.adjustments > g.max_adjustments:
            if value >= 9:
                self._say(g.release_now, "guidance.release_now")
                self._integrate()
            else:
                self._say(g.give_up, "guidance.give_up")
                self._start_hold()
            return
        if value >= 9:
            self._say(g.release_now, "guidance.release_now")
        elif value > g.high:
            self._say(g.too_high, "guidance.too_high")
        else:
            self._say(g.too_low, "guidance.too_low")
        self._ask_rating(g.ask_again, "guidance.ask_again")

    def _record_rating(self, value: int, phase: str) -> None:
        self._emit(Record("rating", {"knot": self.knot.number, "round": self.knot.round, "value": value, "phase": phase, "location": self.knot.location}))

    # -- the hold -------------------------------------------------------------------------------

    def _start_hold(self) -> None:
        h = self.r.hold
        self.question = None
        self.hold = HoldTimer(h.min_seconds, h.max_seconds, h.cue_every, h.warn_left, started=self._run)
        self._emit(HoldStart(h.max_seconds, h.min_seconds, self.knot.number, self.knot.round))
        self._say(h.start, "hold.start")

    def _hold_handlers(self) -> dict[str, Callable[[Intent], None]]:
        handlers = {
            "softened": lambda i: self._hold_softened(),
            "rating": self._hold_rated,
            "skip": lambda i: self._finish_hold("skipped"),
            "next": lambda i: self._finish_hold("skipped"),
        }
        if self._unconfirmed is not None:
            handlers["yes"] = lambda i: self._apply_hold_rating(self._unconfirmed)
            handlers["no"] = lambda i: self._drop_unconfirmed()
        return handlers

    def _drop_unconfirmed(self) -> None:
        self._unconfirmed = None
        self._say(self.r.guidance.ask_again, "guidance.ask_again")

    def _tick_hold(self) -> None:
        h = self.r.hold
        for what, value in self.hold.due(self._run):
            if what == "cue":
                self._say(h.cue.format(elapsed=int(value)), "hold.cue")
            else:
                self._say(h.warn.format(seconds=int(value)), "hold.warn")
        if self.hold.expired(self._run):
            self._finish_hold("max")

    def _hold_softened(self) -> None:
        if self.hold.may_end_early(self._run):
            self._finish_hold("softened")
        else:
            self._say(self.r.hold.too_early, "hold.too_early")

    def _hold_rated(self, intent: Intent) -> None:
        value = int(intent.value)
        g = self.r.guidance
        if value <= g.confirm_at_or_below and value != self._unconfirmed:
            # The hold keeps running while the coach asks; nothing changes until it is confirmed.
            self._unconfirmed = value
            self._say(g.confirm.format(rating=value), "guidance.confirm")
            return
        self._apply_hold_rating(value)

    def _apply_hold_rating(self, value: int) -> None:
        g = self.r.guidance
        self._unconfirmed = None
        self._record_rating(value, "hold")
        if value >= 9:
            self._say(g.release_now, "guidance.release_now")
            self._end_hold("too_intense")
            self._ask_soften()
        elif value > g.high:
            self._say(g.too_high, "guidance.too_high")
        elif value < g.low:
            self._say(g.too_low, "guidance.too_low")
        else:
            self._say(g.in_range, "guidance.in_range")

    def _finish_hold(self, reason: str) -> None:
        self._say(self.r.hold.release, "hold.release")
        self._end_hold(reason)
        self._ask_soften()

    def _end_hold(self, reason: str) -> None:
        if self.hold is None:
            return
        held = round(min(self.hold.elapsed(self._run), self.hold.max_seconds), 3)
        self._emit(HoldEnd(held, reason, self.knot.number, self.knot.round))
        self.hold = None
        self._unconfirmed = None

    # -- after the hold -------------------------------------------------------------------------

    def _ask_soften(self) -> None:
        s = self.r.soften

        def answer(softened: bool) -> None:
            self.knot.softened = softened
            self._emit(Record("softened", {"knot": self.knot.number, "round": self.knot.round, "softened": softened, "location": self.knot.location}))
            self._say(s.yes if softened else s.no, "soften.yes" if softened else "soften.no")
            self._integrate()

        self._ask(
            "soften",
            [Say(s.ask, "soften.ask")],
            {"yes": lambda i: answer(True), "softened": lambda i: answer(True), "no": lambda i: answer(False), "skip": lambda i: answer(False)},
        )

    def _integrate(self) -> None:
        it = self.r.integrate
        self._run_timed(
            "effleurage", Say(it.effleurage, "integrate.effleurage"), it.effleurage_seconds, it.cue_every, it.cue, None,
            lambda: self._run_timed(
                "petrissage", Say(it.petrissage, "integrate.petrissage"), it.petrissage_seconds, it.cue_every, it.cue,
                Say(it.done, "integrate.done"), self._after_round,
            ),
        )

    def _after_round(self) -> None:
        s = self.r.soften
        knot = self.knot
        if knot.softened:
            self._next_prompt()
            return
        if knot.round >= s.max_rounds:
            self.advice.append("not_improving")
            self._emit(Record("advice", {"kind": "not_improving", "knot": knot.number, "rounds": knot.round, "location": knot.location}))
            self._say(s.not_improving.format(rounds=knot.round), "soften.not_improving")
            self._next_prompt()
            return
        knot.round += 1
        self._say(s.another_round, "soften.another_round")
        self._press()

    def _next_prompt(self) -> None:
        self._ask(
            "next",
            [Say(self.r.next.prompt, "next.prompt")],
            {"next": lambda i: self._palpate(), "found": lambda i: self._new_knot(), "yes": lambda i: self._palpate(), "ready": lambda i: self._palpate(), "no": lambda i: self._summary()},
        )

    def _finish_early(self) -> None:
        self._end_hold("finished")
        self.timed = None
        self.question = None
        if not self.screening_passed:
            self._say(self.r.control.finished_early, "control.finished_early")
            self._end(QUIT)
            return
        self._summary()

    def _summary(self) -> None:
        s = self.r.summary
        self.question = None
        self._say(s.intro, "summary.intro")
        if self.knots:
            self._say(s.knots.format(knots=len(self.knots)), "summary.knots")
            self._say(s.softened.format(softened=sum(k.softened for k in self.knots)), "summary.softened")
        else:
            self._say(s.no_knots, "summary.no_knots")
        if self.advice:
            self._say(s.advice, "summary.advice")
        for note in self.summary_notes(self) if self.summary_notes is not None else ():
            self._emit(note)
        self._say(s.goodbye, "summary.goodbye")
        self._end(COMPLETED)

    # -- timed steps ----------------------------------------------------------------------------

    def _run_timed(self, name: str, start: Say, seconds: float, cue_every: float, cue: str, end: Say | None, then: Callable[[], None]) -> None:
        self.question = None
        self._say(start.text, start.key)
        self._last_spoken = [start]
        self.timed = Timed(name, Countdown(seconds, cue_every, started=self._run), cue, end, then)

    def _tick_timed(self) -> None:
        t = self.timed
        for _ in t.countdown.due_cues(self._run):
            self._say(t.cue, f"{t.name}.cue")
        if t.countdown.done(self._run):
            self._end_timed()

    def _end_timed(self) -> None:
        t, self.timed = self.timed, None
        if t.end is not None:
            self._say(t.end.text, t.end.key)
        t.then()

    # -- questions ------------------------------------------------------------------------------

    def _ask(self, name: str, prompt: list[Say], handlers: dict[str, Callable[[Intent], None]]) -> None:
        self.question = Question(name, prompt, handlers, asked_at=self._run)
        self._last_spoken = prompt
        for s in prompt:
            self._emit(s)

    def _ask_again(self) -> None:
        self.question.asked_at = self._run
        for s in self.question.prompt:
            self._emit(s)

    def _miss(self, heard_something: bool) -> None:
        """Something unusable was heard, or nothing at all: re-prompt once, then help, then wait."""
        q = self.question
        if q is None:
            return
        q.misses += 1
        if q.misses == 1:
            if heard_something:
                self._say(self.r.control.not_understood, "control.not_understood")
            self._ask_again()
        elif q.misses == 2:
            self._say(self.r.control.help, "control.help")
            q.asked_at = self._run

    def _tick_question(self) -> None:
        q = self.question
        if q.misses < 2 and self._run - q.asked_at >= self.r.control.listen_timeout_seconds:
            self._miss(heard_something=False)

    # -- small helpers --------------------------------------------------------------------------

    def _repeat(self) -> None:
        for s in self._last_spoken:
            self._emit(s)
        if self.question is not None:
            self.question.asked_at = self._run

    def _time_left(self) -> None:
        if self.hold is not None:
            left = self.hold.remaining(self._run)
        elif self.timed is not None:
            left = self.timed.countdown.remaining(self._run)
        else:
            self._say(self.r.control.no_timer, "control.no_timer")
            return
        self._say(self.r.control.time_left.format(seconds=round(left)), "control.time_left")

    def _say(self, text: str, key: str) -> None:
        self._emit(Say(text, key))

    def _say_lines(self, lines: list[str], key: str) -> None:
        for n, line in enumerate(lines):
            self._say(line, f"{key}.lines[{n}]")

    def _emit(self, action: Action) -> None:
        self._out.append(action)

    def _end(self, outcome: str) -> None:
        self.question = None
        self.timed = None
        self.hold = None
        self.outcome = outcome
        self._emit(End(outcome))
