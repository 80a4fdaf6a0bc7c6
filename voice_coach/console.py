"""Console mode: the coach's lines are printed, replies are typed one utterance a line.

It runs on the same runtime as live audio (voice_coach/runtime.py): the screen is its voice, and
stdin is its source of events. Typed at a terminal, a line goes to the session at once. Piped
from a script, lines are read one at a time and each waits until the session asks for an answer
and everything before it is shown, so a script behaves like a person answering each question in
turn; a stop, pause or red flag still goes through at once, even in the middle of a hold.
"""

from __future__ import annotations

import queue
import sys
import threading
from pathlib import Path

from voice_coach.clock import MonotonicClock
from voice_coach.event_log import EventLog
from voice_coach.events import Heard, InputEnded
from voice_coach.routine import load_content

TICK_SECONDS = 0.01
_EOF = object()


class ScreenVoice:
    """The console's voice: a line is "spoken" the moment it is printed."""

    def __init__(self, out, on_idle=lambda: None):
        self.out = out
        self.on_idle = on_idle

    def say(self, text: str) -> None:
        print(f"coach: {text}", file=self.out, flush=True)
        self.on_idle()

    def cancel(self) -> None:
        print("coach: [silenced]", file=self.out, flush=True)

    @property
    def speaking(self) -> bool:
        return False


class TypedLines:
    """Stdin as a source of events, polled by the runtime on its own thread."""

    def __init__(self, stdin, out, interactive: bool):
        self.out = out
        self.interactive = interactive
        self.lines: queue.Queue = queue.Queue(maxsize=1)
        self.pending: str | None = None
        self.eof = False
        self.ended_input = False
        threading.Thread(target=_read_lines, args=(stdin, self.lines), daemon=True).start()

    def __call__(self, runtime) -> None:
        if self.pending is None and not self.eof:
            try:
                item = self.lines.get_nowait()
            except queue.Empty:
                item = None
            if item is _EOF:
                self.eof = True
            elif item is not None:
                self.pending = item
        session = runtime.driver.session
        waiting = (session.awaiting_answer or session.paused) and runtime.idle
        if self.pending is not None:
            if self.interactive or waiting or runtime.understand.urgent(self.pending) is not None:
                text, self.pending = self.pending, None
                if text.strip():
                    print(f"you: {text}", file=self.out, flush=True)
                    runtime.post(Heard(text))
        elif self.eof and waiting and not self.ended_input:
            self.ended_input = True
            runtime.post(InputEnded())


def run_console(content_dir: Path, speed: float = 1.0, events: str | None = None, stdin=None, stdout=None) -> int:
    from voice_coach.journal import Journal
    from voice_coach.journal_hook import announce, session_driver
    from voice_coach.runtime import Runtime
    from voice_coach.understand import Understanding

    content = load_content(content_dir)
    stdin = stdin or sys.stdin
    log = EventLog(events)
    out = sys.stderr if log.to_stdout else (stdout or sys.stdout)
    journal = Journal()
    driver = session_driver(content, MonotonicClock(speed), journal)
    box: dict = {}
    voice = ScreenVoice(out, on_idle=lambda: box["rt"].speech_done())
    source = TypedLines(stdin, out, _isatty(stdin))
    runtime = box["rt"] = Runtime(
        driver, voice, Understanding(content.phrases), journal=journal, acks=[log], tick_seconds=TICK_SECONDS, polls=[source],
    )
    announce(journal)
    try:
        runtime.run()
        runtime.finish(speech_timeout=10.0)
        return driver.exit_code
    finally:
        runtime.close()
        log.close()


def _isatty(stream) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _read_lines(stdin, lines: queue.Queue) -> None:
    try:
        for line in stdin:
            lines.put(line.rstrip("\r\n"))
    except (OSError, ValueError):
        pass
    lines.put(_EOF)
