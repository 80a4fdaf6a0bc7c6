"""The one runtime: events in on two lanes, the session in the middle, the voice and the journal out.

Live audio, the console, the demo and the bench's live paths all run on it. Each supplies only a
source of events (`post`), a voice (`say`, `cancel`, `speaking`) and a clock.

Two lanes, after Pipecat's SystemFrame and DataFrame:
- the **system lane** carries what must cut through: an urgent transcript (red flag, stop, pause),
  a button press, voice onset, faults. It is always drained before the data lane;
- the **data lane** carries the rest: answers, ticks, speech done, and lines ready to be spoken.

The dispatcher (`step`) is the only thing that drives the voice. An urgent transcript silences the
voice before the session even sees it, and any CancelSpeech the session emits reaches the voice
as it is emitted, before its record is handed to the journal. Everything else the person sees or
hears is acknowledged only after the journal has committed it: the journal is an ordered observer
on its own thread (`JournalStage`), which commits each batch of records and only then writes them
to the event log and the screen and hands the lines to be spoken back to the dispatcher, through
the data lane. So a slow disk delays speech, never a stop, and kill -9 loses nothing acknowledged.
"""

from __future__ import annotations

import collections
import queue
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

from voice_coach.errors import UserError
from voice_coach.events import (
    Failed,
    Fault,
    Heard,
    InputEnded,
    Pressed,
    Restored,
    SpeechDone,
    Start,
    Tick,
    VoiceOnset,
)
from voice_coach.interfaces import Transcript
from voice_coach.understand import STOPS, Understanding

TICK_SECONDS = 0.02
# While the voice fails, the last line is tried again this often; failures that go on this long
# (and at least VOICE_GIVE_UP_AFTER of them) end the session `failed`.
VOICE_RETRY_SECONDS = 3.0
VOICE_GIVE_UP_SECONDS = 20.0
VOICE_GIVE_UP_AFTER = 4
# How long voice onset holds the coach's next line back, unless words come first.
ONSET_HOLD_SECONDS = 1.0

Record = dict
Ack = Callable[[Record], None]


class VoiceOut(Protocol):
    """What the dispatcher drives: voice_coach.voice.Voice, the console's screen, the demo's track."""

    def say(self, text: str) -> None: ...

    def cancel(self) -> None: ...

    @property
    def speaking(self) -> bool: ...


@dataclass(frozen=True)
class Speak:
    """A line the journal has committed, to be spoken unless a cancel came after it was emitted."""

    text: str
    generation: int


@dataclass(frozen=True)
class CancelRequest:
    """Silence the voice now (a source that knows it must, e.g. a key)."""


SYSTEM_EVENTS = (Fault, Restored, Failed, Pressed, VoiceOnset, CancelRequest)


class JournalStage:
    """An ordered observer: commits records (in batches) on its own thread, then acknowledges each,
    in order, to `acks` (event log, screen, speech). With threaded=False it does the same inline
    (the demo, whose time is virtual)."""

    def __init__(self, journal=None, acks: Iterable[Ack] = (), threaded: bool = True):
        self.journal = journal  # voice_coach.journal.Journal (its `batch`), or None
        self.acks = list(acks)
        self.threaded = threaded
        self._q: queue.Queue = queue.Queue()
        self._inline: collections.deque = collections.deque()
        self._inline_busy = False
        self._pending = 0
        self._lock = threading.Condition()
        self.errors: list[str] = []
        # An output that cannot start at all (an event log on a full disk: UserError) stops the
        # session before anything is shown or said; Runtime.run raises it.
        self.fatal: UserError | None = None
        self._thread = None
        if threaded:
            self._thread = threading.Thread(target=self._run, name="journal", daemon=True)
            self._thread.start()

    def submit(self, record: Record) -> None:
        with self._lock:
            self._pending += 1
        if self.threaded:
            self._q.put(record)
            return
        self._inline.append(record)
        if self._inline_busy:  # told again from inside an acknowledgement (a journal warning)
            return
        self._inline_busy = True
        try:
            while self._inline:
                batch = list(self._inline)
                self._inline.clear()
                self._handle(batch)
        finally:
            self._inline_busy = False

    @property
    def pending(self) -> int:
        return self._pending

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every record submitted so far is committed and acknowledged."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while self._pending:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._lock.wait(left)
        return True

    def close(self, timeout: float = 10.0) -> None:
        self.flush(timeout)
        if self._thread is not None:
            self._q.put(None)
            self._thread.join(timeout=2.0)

    def _run(self) -> None:
        while True:
            item = self._q.get()
            if item is None:
                return
            batch = [item]
            while True:  # group commit: whatever queued up behind the last commit goes in one
                try:
                    nxt = self._q.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    self._handle(batch)
                    return
                batch.append(nxt)
            self._handle(batch)

    def _handle(self, batch: list[Record]) -> None:
        try:
            if self.journal is not None:
                self.journal.batch(batch)
            for record in batch:
                for ack in self.acks:
                    if self.fatal is not None:
                        break
                    try:
                        ack(record)
                    except UserError as e:
                        self.fatal = e
                    except Exception as e:  # noqa: BLE001 - one broken output must not stop the others
                        self.errors.append(f"{type(e).__name__}: {e}")
        finally:
            with self._lock:
                self._pending -= len(batch)
                self._lock.notify_all()


class Runtime:
    """The dispatcher. `post()` from any thread; `run()` (or `step()` for virtual time) on one."""

    def __init__(
        self,
        driver,
        voice: VoiceOut,
        understand: Understanding,
        *,
        journal=None,
        acks: Iterable[Ack] = (),
        threaded_journal: bool = True,
        tick_seconds: float = TICK_SECONDS,
        polls: Iterable[Callable[[Runtime], None]] = (),
        monotonic: Callable[[], float] = time.monotonic,
        voice_retry_seconds: float = VOICE_RETRY_SECONDS,
        voice_give_up_seconds: float = VOICE_GIVE_UP_SECONDS,
    ):
        self.driver = driver
        self.voice = voice
        self.understand = understand
        self.tick_seconds = tick_seconds
        self.polls = list(polls)
        self._monotonic = monotonic
        self._system: collections.deque = collections.deque()
        self._data: collections.deque = collections.deque()
        self._wake = threading.Condition()
        self.generation = 0  # bumped by every cancel; a line emitted before it is never spoken
        self._hold_until = 0.0
        self.interruptions = 0  # lines cut by voice onset (barge-in)
        self._held: collections.deque[str] = collections.deque()
        self.journal_stage = JournalStage(journal, [*acks, self._spoken_ack], threaded=threaded_journal)
        self._gen_of: dict[int, int] = {}
        if driver is not None:
            driver.observers.append(self._observe)
        self.voice_errors = 0  # voice failures since it last spoke a line
        self._voice_lock = threading.Lock()
        self._voice_failing_since: float | None = None
        self._voice_retried_at = 0.0
        self._voice_gave_up = False
        self._last_line = ""
        self.voice_retry_seconds = voice_retry_seconds
        self.voice_give_up_seconds = voice_give_up_seconds
        # Seen by the tests and the bench: when the last cancel reached the voice.
        self.last_cancel_at: float | None = None
        # The session's step (Session.step()) after the last event, for the understanding stage:
        # a plain value written on the dispatcher's thread, read on the listener's.
        self.step_now: str | None = None

    # -- in ---------------------------------------------------------------------------------------

    def post(self, item) -> None:
        """An event from a source: a Transcript (judged here), or an Event. Safe from any thread;
        the understanding of a non-urgent transcript (which may decode again) runs on the caller's
        thread, never on the dispatcher's."""
        if isinstance(item, Transcript):
            if not item.text.strip():
                return
            if self.understand.urgent(item.text) is not None:
                self._put(self._system, Heard(item.text, item.final, True))
                return
            heard = self.understand.heard(item, self.step_now)
            if heard.text != item.text and self.understand.urgent(heard.text) is not None:
                self._put(self._system, heard)  # heard as urgent only with the question as context
                return
            item = heard
        elif isinstance(item, Heard) and self.understand.urgent(item.text) is not None:
            self._put(self._system, item)
            return
        self._put(self._system if isinstance(item, SYSTEM_EVENTS) else self._data, item)

    def _put(self, lane: collections.deque, item) -> None:
        with self._wake:
            lane.append(item)
            self._wake.notify()

    @property
    def idle(self) -> bool:
        """Nothing queued, nothing waiting for the journal, nothing being spoken."""
        stage = self.journal_stage
        return not self._system and not self._data and not self._held and stage.pending == 0 and stage.fatal is None and not self.voice.speaking

    # -- the dispatcher ------------------------------------------------------------------------------

    def start(self) -> None:
        self._feed(Start())

    def step(self, wait: float = 0.0) -> None:
        """Wait up to `wait` seconds for something, then handle everything queued, the system lane
        first each time, then a tick."""
        with self._wake:
            if wait > 0 and not self._system and not self._data:
                self._wake.wait(wait)
        for poll in self.polls:
            poll(self)
        while not self.ended:
            with self._wake:
                if self._system:
                    item = self._system.popleft()
                elif self._data:
                    item = self._data.popleft()
                else:
                    break
            self._handle(item)
        self._release_held()
        self._voice_check()
        if not self.ended and self.driver is not None:
            self._feed(Tick())

    def run(self, until: Callable[[], str | None] = lambda: None) -> str | None:
        """Step until the session ends, or `until()` names a reason to stop (returned)."""
        self.start()
        while not self.ended:
            self.step(self.tick_seconds)
            if self.journal_stage.fatal is not None:
                raise self.journal_stage.fatal
            why = until()
            if why:
                return why
        return None

    @property
    def ended(self) -> bool:
        return self.driver is not None and self.driver.session.ended

    def finish(self, speech_timeout: float = 30.0) -> None:
        """After the end: let the journal acknowledge everything, and the voice say it."""
        deadline = self._monotonic() + speech_timeout
        while self._monotonic() < deadline:
            self.journal_stage.flush(timeout=max(0.0, deadline - self._monotonic()))
            with self._wake:
                items = list(self._data)
                self._data.clear()
            for item in items:
                if isinstance(item, Speak):
                    self._speak(item)
            self._release_held(force=True)
            if not self._data and self.journal_stage.pending == 0 and not self.voice.speaking:
                return
            time.sleep(0.02)

    def close(self) -> None:
        self.journal_stage.close()

    # -- what each item does ----------------------------------------------------------------------

    def _handle(self, item) -> None:
        if isinstance(item, Speak):
            self._speak(item)
        elif isinstance(item, CancelRequest):
            self._cancel()
        elif isinstance(item, VoiceOnset):
            # Barge-in: the person started speaking. The coach falls quiet at once; its unfinished
            # lines wait, and are said again from their start when the hold ends (ONSET_HOLD_SECONDS,
            # or at once when the words turn out not to be urgent). An urgent word cancels them.
            self._hold_until = self._monotonic() + ONSET_HOLD_SECONDS
            interrupt = getattr(self.voice, "interrupt", None)
            if interrupt is not None and self.voice.speaking:
                self._held.extendleft(reversed(interrupt()))
                self.interruptions += 1
        elif isinstance(item, Heard):
            if self.understand.urgent(item.text) is not None:
                self._cancel()  # the voice first: before the session, before any journal write
            self._hold_until = 0.0
            self._feed(item)
        elif isinstance(item, Pressed) and item.command in STOPS:
            self._cancel()
            self._feed(item)
        elif self.driver is not None:
            self._feed(item)

    def _feed(self, event) -> None:
        if self.driver is None or self.driver.session.ended:
            return
        self.driver.feed(event)
        # While paused, words are "resume" or talk, not the question's answer: no context then.
        s = self.driver.session
        self.step_now = None if s.paused else s.step()

    def _observe(self, record: Record) -> None:
        """Every record the driver tells, in order, on the dispatcher's thread."""
        if record.get("type") == "cancel_speech":
            self._cancel()
        if record.get("type") == "say":
            self._gen_of[id(record)] = self.generation
        self.journal_stage.submit(record)

    def _spoken_ack(self, record: Record) -> None:
        """The journal committed it: a line goes back to the dispatcher to be spoken."""
        if record.get("type") == "say":
            gen = self._gen_of.pop(id(record), self.generation)
            self._put(self._data, Speak(record["text"], gen))

    def _speak(self, item: Speak) -> None:
        if item.generation != self.generation:
            return  # cancelled after it was emitted
        if self._held or self._monotonic() < self._hold_until:
            self._held.append(item.text)
            return
        self._last_line = item.text
        self.voice.say(item.text)

    def _release_held(self, force: bool = False) -> None:
        while self._held and (force or self._monotonic() >= self._hold_until):
            self.voice.say(self._held.popleft())

    def _cancel(self) -> None:
        self.generation += 1
        self._held.clear()
        self.voice.cancel()
        self.last_cancel_at = self._monotonic()

    # -- the voice reports ------------------------------------------------------------------------

    def voice_failed(self, error: BaseException) -> None:
        """From the voice's thread: a line could not be rendered or played. The session pauses and
        says so (screen and event log; the exception only in the log), the voice tries again, and
        only failures that keep coming end the session."""
        with self._voice_lock:
            self.voice_errors += 1
            if self._voice_failing_since is None:
                self._voice_failing_since = self._monotonic()
            self._voice_detail = f"{type(error).__name__}: {error}"
        self.post(Fault("voice", "failed", self._voice_detail))

    def voice_works(self) -> None:
        """From the voice's thread: a line was spoken."""
        with self._voice_lock:
            was_failing = self.voice_errors > 0
            self.voice_errors = 0
            self._voice_failing_since = None
        if was_failing:
            self.post(Restored("voice"))

    def _voice_check(self) -> None:
        """While the voice fails: try the last line again now and then; give up when it goes on."""
        with self._voice_lock:
            since, errors = self._voice_failing_since, self.voice_errors
        if since is None or self._voice_gave_up:
            return
        now = self._monotonic()
        if errors >= VOICE_GIVE_UP_AFTER and now - since >= self.voice_give_up_seconds:
            self._voice_gave_up = True
            self.post(Failed("voice", "failed", self._voice_detail))
        elif not self.voice.speaking and now - self._voice_retried_at >= self.voice_retry_seconds and self._last_line:
            self._voice_retried_at = now
            self.voice.say(self._last_line)

    # -- for sources --------------------------------------------------------------------------------

    def input_ended(self) -> None:
        self.post(InputEnded())

    def speech_done(self) -> None:
        self.post(SpeechDone())
