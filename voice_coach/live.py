"""Live audio: microphone -> listener -> runtime -> voice -> speaker (wiring only).

The listener (voice_coach/listener.py) and the voice (voice_coach/voice.py) run on their own
threads; the runtime (voice_coach/runtime.py) drives the session and the voice; the journal
commits on its own thread. This module builds them from the command line and shows what happens.
"""

from __future__ import annotations

import os
import sys
import time
from argparse import Namespace
from pathlib import Path

from voice_coach.clock import Clock, MonotonicClock
from voice_coach.errors import UserError

# A microphone that stays dead this long ends the session: the coach cannot guide blind.
GIVE_UP_AFTER_SECONDS = 60.0
SHOWN = ("pause", "resume", "halt", "hold_start", "hold_end", "fault")


class Screen:
    """What the live coach shows, once the journal has it: its lines, and what happened."""

    def __init__(self, out=sys.stdout):
        self.out = out

    def __call__(self, record: dict) -> None:
        t, kind = record.get("t", 0.0), record.get("type")
        if kind == "say":
            print(f"[{t:7.1f}] coach: {record['text']}", file=self.out, flush=True)
        elif kind == "fault":
            print(f"[{t:7.1f}] ({record['source']} fault: {record['code']})", file=self.out, flush=True)
        elif kind in SHOWN:
            print(f"[{t:7.1f}] ({kind})", file=self.out, flush=True)
        elif kind == "end":
            print(f"[{t:7.1f}] session {record['outcome']}", file=self.out, flush=True)


class LiveCoach:
    """The assembled live coach: `run()` returns the exit code."""

    def __init__(self, runtime, voice, listener, give_up_after: float = GIVE_UP_AFTER_SECONDS):
        self.runtime = runtime
        self.voice = voice
        self.listener = listener
        self.give_up_after = give_up_after
        self._gave_up = False

    def _mic_dead_too_long(self) -> str | None:
        since = self.listener.faulted_since
        if not self._gave_up and since is not None and time.monotonic() - since > self.give_up_after:
            from voice_coach.events import Failed

            self._gave_up = True
            self.runtime.post(Failed("mic", "error", f"no audio for {self.give_up_after:g} s"))
        return None

    def run(self) -> int:
        driver = self.runtime.driver
        self.listener.start()
        try:
            self.runtime.run(until=self._mic_dead_too_long)
            self.runtime.finish(speech_timeout=30.0)
        finally:
            self.listener.stop()
            self.voice.close()
            self.runtime.close()
        if driver.session.outcome == "failed":
            what = "the microphone stayed dead" if self._gave_up else "the voice kept failing"
            print(f"voice-coach: {what}; session ended (outcome failed, see the event log). Run `voice-coach check` to find the fix.", file=sys.stderr)
        return driver.exit_code


def build_live(content, args: Namespace, clock: Clock, out=sys.stdout, *, source=None, sink=None, synth=None, recognizer=None, echo=None, journal=None) -> LiveCoach:
    """Everything real (microphone, speaker, pyttsx3, the chosen recognizer), unless given."""
    from voice_coach.event_log import EventLog
    from voice_coach.journal import Journal
    from voice_coach.journal_hook import announce, session_driver
    from voice_coach.listener import Listener
    from voice_coach.runtime import Runtime
    from voice_coach.understand import Understanding
    from voice_coach.voice import Voice

    if recognizer is None:
        from voice_coach.recognizers import make_recognizer

        recognizer = make_recognizer(args.engine, args.model, content.phrases)
    if synth is None:
        from voice_coach.audio.tts import make_synthesizer

        synth = make_synthesizer(voice=args.voice, rate=args.rate, volume=args.volume)
        if hasattr(synth, "prewarm"):  # Piper: render the routine's fixed lines while the session starts
            from voice_coach.audio.piper_voice import fixed_lines

            synth.prewarm(fixed_lines(content.routine))
    if sink is None:
        if echo is None and not getattr(args, "no_echo_cancel", False):
            from voice_coach.audio.echo_cancel import EchoCanceller

            try:
                echo = EchoCanceller()
                if not echo.has_linear:
                    from voice_coach.audio.echo_cancel import SPEEX_MISSING

                    print(f"voice-coach: warning: echo cancelling with {SPEEX_MISSING}", file=sys.stderr)
            except UserError as e:
                print(f"voice-coach: warning: {e.message}; the coach may hear itself while it speaks", file=sys.stderr)
        from voice_coach.audio.speaker import SpeakerSink

        sink = SpeakerSink(args.output, on_played=echo.process_reverse if echo else None)
    if source is None:
        from voice_coach.audio.mic import MicSource

        source = MicSource(args.input)
    log = EventLog(getattr(args, "events", None))
    journal = journal if journal is not None else Journal()
    driver = session_driver(content, clock, journal)
    box: dict = {}
    voice = Voice(
        synth, sink,
        on_idle=lambda: box["rt"].speech_done(),
        on_error=lambda e: box["rt"].voice_failed(e),
        on_spoken=lambda: box["rt"].voice_works(),
    )
    runtime = box["rt"] = Runtime(driver, voice, Understanding(content.phrases), journal=journal, acks=[log, Screen(out)])
    announce(journal)
    barge_in = None
    # Off unless asked for: offline, a stop said over the coach was recognized in 25.6% of trials
    # after the duck against 34.4% with the coach not ducked (docs/benchmarks/hearing.md).
    if echo is not None and getattr(args, "barge_in", False):
        from voice_coach.audio.barge_in import BargeIn

        try:
            barge_in = BargeIn()
        except UserError as e:
            print(f"voice-coach: warning: {e.message}; the coach will not fall quiet when you start to speak", file=sys.stderr)
    listener = Listener(source, recognizer, runtime.post, echo=echo, barge_in=barge_in, speaking=lambda: voice.speaking)
    give_up = getattr(args, "deaf_timeout", GIVE_UP_AFTER_SECONDS)
    return LiveCoach(runtime, voice, listener, give_up_after=give_up)


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
    coach = build_live(content, args, MonotonicClock(args.speed), out=out)
    button = None
    if getattr(args, "button", None):  # a physical stop, on the system lane
        from voice_coach.button import attach_button

        button = attach_button(coach, args.button)
    try:
        code = coach.run()
    finally:
        if button is not None:
            button.close()
    if coach.listener.faulted_since is not None:
        # PortAudio's shutdown hangs while its thread is stuck in a dead device's read(); every
        # event is already journaled and flushed, so leave without it.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code
