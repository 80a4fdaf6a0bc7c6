"""Console mode: the coach's lines are printed, replies are typed one utterance a line.

Typed at a terminal, a line goes to the session at once. Piped from a script, lines are read one
at a time and each waits for the session to ask for an answer, so a script behaves like a person
answering each question in turn; a stop, pause or red flag still goes through at once, even in
the middle of a hold.
"""

from __future__ import annotations

import queue
import sys
import threading
import time
from pathlib import Path

from voice_coach.clock import MonotonicClock
from voice_coach.event_log import EventLog
from voice_coach.events import (
    CancelSpeech,
    Heard,
    InputEnded,
    Say,
    SpeechDone,
    Start,
    Tick,
)
from voice_coach.journal_hook import journaled_driver
from voice_coach.routine import load_content

TICK_SECONDS = 0.01
_EOF = object()


def run_console(content_dir: Path, speed: float = 1.0, events: str | None = None, stdin=None, stdout=None) -> int:
    content = load_content(content_dir)
    stdin = stdin or sys.stdin
    log = EventLog(events)
    out = sys.stderr if log.to_stdout else (stdout or sys.stdout)
    driver = journaled_driver(content, MonotonicClock(speed), [log])
    interactive = _isatty(stdin)
    lines: queue.Queue = queue.Queue(maxsize=1)
    threading.Thread(target=_read_lines, args=(stdin, lines), daemon=True).start()

    def apply(actions) -> None:
        spoke = False
        for a in actions:
            if isinstance(a, Say):
                print(f"coach: {a.text}", file=out, flush=True)
                spoke = True
            elif isinstance(a, CancelSpeech):
                print("coach: [silenced]", file=out, flush=True)
        if spoke and not driver.session.ended:
            # Text on a screen is "spoken" the moment it is printed.
            apply(driver.feed(SpeechDone()))

    try:
        apply(driver.feed(Start()))
        pending = None
        eof = False
        while not driver.session.ended:
            if pending is None and not eof:
                try:
                    item = lines.get(timeout=TICK_SECONDS)
                except queue.Empty:
                    item = None
                if item is _EOF:
                    eof = True
                elif item is not None:
                    pending = item
            else:
                time.sleep(TICK_SECONDS)
            session = driver.session
            if pending is not None and (interactive or session.awaiting_answer or session.paused or session.understand.urgent(pending) is not None):
                text, pending = pending, None
                if text.strip():
                    print(f"you: {text}", file=out, flush=True)
                    apply(driver.feed(Heard(text)))
                continue
            if eof and pending is None and (driver.session.awaiting_answer or driver.session.paused):
                apply(driver.feed(InputEnded()))
                break
            apply(driver.feed(Tick()))
        return driver.exit_code
    finally:
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
