"""The live loop: microphone -> recognizer -> session -> synthesizer -> speaker.

Three threads at the edge, the pure session in the middle:
- the listener reads the microphone, removes the coach's own voice, recognizes, and posts
  transcripts; an urgent phrase (stop, pause, red flag) also silences the speaker right there,
  before the session has even seen it, so a stop never waits behind anything;
- the voice renders and plays the coach's lines one after another;
- the main thread feeds the session, one event at a time, and carries out its actions.
"""

from __future__ import annotations

import os
import queue
import sys
import threading
import time
from argparse import Namespace
from pathlib import Path
from typing import Callable

from voice_coach.audio.faults import AudioFault  # light: no audio library behind it
from voice_coach.clock import Clock, MonotonicClock
from voice_coach.driver import SessionDriver
from voice_coach.errors import EXIT_FAILURE, UserError
from voice_coach.events import (
    AudioFault as AudioFaultEvent,
)
from voice_coach.events import (
    AudioRestored,
    CancelSpeech,
    End,
    Heard,
    InputEnded,
    Say,
    SpeechDone,
    Start,
    Tick,
)
from voice_coach.intents import URGENT_INTENTS, PhraseBook
from voice_coach.interfaces import AudioSink, AudioSource, Recognizer, Synthesizer

TICK_SECONDS = 0.02
# A microphone that stays dead this long ends the session: the coach cannot guide blind.
GIVE_UP_AFTER_SECONDS = 60.0


class Voice:
    """Speaks queued lines in order on its own thread; cancel() empties the queue and the speaker."""

    def __init__(self, synth: Synthesizer, sink: AudioSink, on_idle: Callable[[], None], on_error: Callable[[str], None]):
        self.synth = synth
        self.sink = sink
        self._lines: queue.Queue[tuple[int, str] | None] = queue.Queue()
        self._on_idle = on_idle
        self._on_error = on_error
        self._generation = 0
        self._cancel_lock = threading.Lock()  # a cancel never falls between the check and play()
        self._busy = False
        self._thread = threading.Thread(target=self._run, name="voice", daemon=True)
        self._thread.start()

    def say(self, text: str) -> None:
        self._busy = True
        # The line carries the generation it was queued in: a cancel that lands after the voice
        # thread took it from the queue, but before it played, must still drop it.
        self._lines.put((self._generation, text))

    def cancel(self) -> None:
        with self._cancel_lock:
            self._generation += 1
            while True:
                try:
                    self._lines.get_nowait()
                except queue.Empty:
                    break
            self.sink.cancel()

    @property
    def speaking(self) -> bool:
        return self._busy or self.sink.is_playing()

    def wait_idle(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while self.speaking and time.monotonic() < deadline:
            time.sleep(0.02)
        return not self.speaking

    def close(self) -> None:
        self.cancel()
        self._lines.put(None)
        self._thread.join(timeout=2.0)

    def _run(self) -> None:
        while True:
            item = self._lines.get()
            if item is None:
                return
            generation, text = item
            try:
                pcm = self.synth.synthesize(text)
            except Exception as e:  # the voice is gone: the session must pause, not go on blind
                self._on_error(f"the voice failed ({e})")
                pcm = None
            with self._cancel_lock:
                playing = pcm is not None and generation == self._generation  # not cancelled meanwhile
                if playing:
                    self.sink.play(pcm)
            if playing:
                while self.sink.is_playing() and generation == self._generation:
                    time.sleep(0.01)
            if self._lines.empty():
                self._busy = False
                self._on_idle()


class Listener:
    """Reads the microphone on its own thread and posts what it hears as session events."""

    def __init__(
        self,
        source: AudioSource,
        recognizer: Recognizer,
        phrases: PhraseBook,
        post: Callable[[object], None],
        silence_now: Callable[[], None],
        echo=None,
    ):
        self.source = source
        self.recognizer = recognizer
        self.phrases = phrases
        self.post = post
        self.silence_now = silence_now
        self.echo = echo
        self.faulted_since: float | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="listener", daemon=True)

    def start(self) -> None:
        self.source.start()
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2.0)
        self.source.stop()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._listen_once()
            except Exception as e:  # a dead listener thread would leave the coach guiding deaf
                self._fault(f"the listener failed ({e})")
                time.sleep(0.1)

    def _listen_once(self) -> None:
        try:
            chunk = self.source.read(timeout=0.2)
        except AudioFault as f:
            self._fault(f"{f.reason}: {f.detail}" if f.detail else f.reason)
            time.sleep(0.1)
            return
        if chunk is None:
            return
        if self.faulted_since is not None:
            self.faulted_since = None
            self.post(AudioRestored())
        try:
            if self.echo is not None:
                # Align the reference by capture time: the listener may run behind the mic.
                chunk = self.echo.process(chunk, captured_at=getattr(self.source, "last_capture_time", None))
            transcripts = self.recognizer.accept(chunk) if len(chunk) else []
        except Exception as e:
            self._fault(f"the recognizer failed ({e})")
            return
        for tr in transcripts:
            self.hear(tr.text, tr.final, tr.sure)

    def hear(self, text: str, final: bool, sure: bool = True) -> None:
        if not text.strip():
            return
        if self.phrases.parse(text)[0].name in URGENT_INTENTS:
            self.silence_now()
        self.post(Heard(text, final, sure))

    def _fault(self, reason: str) -> None:
        if self.faulted_since is None:
            self.faulted_since = time.monotonic()
            self.post(AudioFaultEvent(reason))


class CoachLoop:
    def __init__(
        self,
        driver: SessionDriver,
        source: AudioSource,
        sink: AudioSink,
        synth: Synthesizer,
        recognizer: Recognizer,
        phrases: PhraseBook,
        *,
        echo=None,
        out=sys.stdout,
        give_up_after: float = GIVE_UP_AFTER_SECONDS,
    ):
        self.driver = driver
        self.events: queue.Queue = queue.Queue()
        self.out = out
        self.give_up_after = give_up_after
        self.voice_error: str | None = None
        self.voice = Voice(synth, sink, on_idle=lambda: self.events.put(SpeechDone()), on_error=self._voice_failed)
        self.listener = Listener(source, recognizer, phrases, self.events.put, self.voice.cancel, echo=echo)

    def _voice_failed(self, reason: str) -> None:
        self.voice_error = reason
        self.events.put(AudioFaultEvent(reason))

    def run(self) -> int:
        self.listener.start()
        try:
            self._apply(self.driver.feed(Start()))
            while not self.driver.session.ended:
                try:
                    event = self.events.get(timeout=TICK_SECONDS)
                except queue.Empty:
                    event = None
                if event is not None:
                    self._apply(self.driver.feed(event))
                # A tick after every event too, so a stream of transcripts never starves the timers.
                if not self.driver.session.ended:
                    self._apply(self.driver.feed(Tick()))
                problem = self._cannot_recover()
                if problem:
                    self._apply(self.driver.feed(InputEnded()))
                    self.voice.wait_idle(timeout=15.0)
                    print(f"voice-coach: {problem}", file=sys.stderr)
                    return EXIT_FAILURE
            self.voice.wait_idle(timeout=30.0)
            return self.driver.exit_code
        finally:
            self.listener.stop()
            self.voice.close()

    def _cannot_recover(self) -> str | None:
        if self.voice_error is not None:
            return f"{self.voice_error}; session ended. Run `voice-coach check` to find the fix."
        since = self.listener.faulted_since
        if since is not None and time.monotonic() - since > self.give_up_after:
            return (
                f"the microphone stayed dead for {self.give_up_after:g} s; session ended. "
                "Check the microphone, or run `voice-coach check`."
            )
        return None

    def _apply(self, actions) -> None:
        for a in actions:
            if isinstance(a, CancelSpeech):
                self.voice.cancel()
            elif isinstance(a, Say):
                print(f"[{self.driver.clock.now():7.1f}] coach: {a.text}", file=self.out, flush=True)
                self.voice.say(a.text)
            elif a.type in ("pause", "resume", "halt", "hold_start", "hold_end"):
                print(f"[{self.driver.clock.now():7.1f}] ({a.type})", file=self.out, flush=True)
            elif isinstance(a, End):
                print(f"[{self.driver.clock.now():7.1f}] session {a.outcome}", file=self.out, flush=True)


def run_live(content_dir: Path, args: Namespace) -> int:
    from voice_coach.audio.devices import has_sound_card
    from voice_coach.routine import load_content

    content = load_content(content_dir)
    if not has_sound_card():
        print(
            "voice-coach: no sound card found, so the live coach cannot speak or listen here. "
            "Running the headless demo instead (the same session, with synthesized replies).",
            file=sys.stderr,
        )
        from voice_coach.demo import run_demo

        return run_demo(content_dir, Namespace(out=Path("out/demo"), engine=args.engine, model=args.model, events=args.events))
    out = sys.stderr if args.events == "-" else sys.stdout
    loop = build_live_loop(content, args, MonotonicClock(args.speed), out=out)
    button = None
    if getattr(args, "button", None):
        from voice_coach.button import attach_button

        button = attach_button(loop, args.button)
    try:
        code = loop.run()
    finally:
        if button is not None:
            button.close()
    if loop.listener.faulted_since is not None:
        # PortAudio's shutdown hangs while its thread is stuck in a dead device's read(); every
        # event is already journaled and flushed, so leave without it.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code


def build_live_loop(content, args: Namespace, clock: Clock, out=sys.stdout) -> CoachLoop:
    """Everything real: microphone, speaker, pyttsx3 and the chosen recognizer."""
    from voice_coach.audio.echo_cancel import EchoCanceller
    from voice_coach.audio.mic import MicSource
    from voice_coach.audio.speaker import SpeakerSink
    from voice_coach.audio.tts import make_synthesizer
    from voice_coach.event_log import EventLog
    from voice_coach.journal_hook import journaled_driver
    from voice_coach.recognizers import make_recognizer

    recognizer = make_recognizer(args.engine, args.model, content.phrases)
    synth = make_synthesizer(voice=args.voice, rate=args.rate, volume=args.volume)
    if hasattr(synth, "prewarm"):  # Piper: render the routine's fixed lines while the session starts
        from voice_coach.audio.piper_voice import fixed_lines

        synth.prewarm(fixed_lines(content.routine))
    echo = None
    if not getattr(args, "no_echo_cancel", False):
        try:
            echo = EchoCanceller()
        except UserError as e:
            print(f"voice-coach: warning: {e.message}; the coach may hear itself while it speaks", file=sys.stderr)
    sink = SpeakerSink(args.output, on_played=echo.process_reverse if echo else None)
    source = MicSource(args.input)
    driver = journaled_driver(content, clock, [EventLog(getattr(args, "events", None))])
    give_up = getattr(args, "deaf_timeout", GIVE_UP_AFTER_SECONDS)
    return CoachLoop(driver, source, sink, synth, recognizer, content.phrases, echo=echo, out=out, give_up_after=give_up)


