"""The coach's voice: renders and plays queued lines, one after another, on its own thread.

Only the runtime's dispatcher drives it (voice_coach/runtime.py). `cancel()` empties the queue and
silences the speaker at once; a line taken from the queue before a cancel, but not yet playing,
is dropped too. `speaking` is true from the moment a line is queued until the last one has
played: the count of lines in hand is kept under a lock, so it can never read false while a line
is still queued or rendering (and `wait_idle` never returns early, dropping a goodbye).

A line that cannot be rendered (the synthesizer failed) is reported through `on_error`, with the
exception for the log; the runtime turns it into a voice fault.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable

from voice_coach.interfaces import AudioSink, Synthesizer


class Voice:
    def __init__(
        self,
        synth: Synthesizer,
        sink: AudioSink,
        on_idle: Callable[[], None] = lambda: None,
        on_error: Callable[[BaseException], None] = lambda e: None,
        on_spoken: Callable[[], None] = lambda: None,
        retries: int = 1,
        retry_after: float = 0.5,
    ):
        self.synth = synth
        self.sink = sink
        self._lines: queue.Queue[tuple[int, str] | None] = queue.Queue()
        self._on_idle = on_idle
        self._on_error = on_error
        self._on_spoken = on_spoken  # a line rendered and played: the voice works
        self.retries = retries  # a line that fails is tried again this many times (unless cancelled)
        self.retry_after = retry_after
        self._generation = 0
        self._lock = threading.Lock()  # guards _generation and _in_hand; a cancel never falls between the check and play()
        self._in_hand = 0  # lines queued or being rendered/played
        self._current: tuple[int, str] | None = None  # the line being rendered or played
        self._thread = threading.Thread(target=self._run, name="voice", daemon=True)
        self._thread.start()

    def say(self, text: str) -> None:
        with self._lock:
            self._in_hand += 1
            # The line carries the generation it was queued in: a cancel that lands after the
            # voice thread took it from the queue, but before it played, must still drop it.
            self._lines.put((self._generation, text))

    def cancel(self) -> None:
        with self._lock:
            self._drain()
            self._generation += 1
            self.sink.cancel()

    def _drain(self) -> list[str]:
        """Empty the queue (the lock held); the lines of this generation that were waiting."""
        waiting = []
        while True:
            try:
                item = self._lines.get_nowait()
            except queue.Empty:
                return waiting
            if item is not None:
                self._in_hand -= 1
                if item[0] == self._generation:
                    waiting.append(item[1])

    def interrupt(self) -> list[str]:
        """Silence now, like cancel(), and give back the lines that had not finished (the one
        being spoken first, then the queued ones), so they can be said again from their start."""
        with self._lock:
            lines = [self._current[1]] if self._current is not None and self._current[0] == self._generation else []
            queued = self._drain()
            self._generation += 1
            self.sink.cancel()
        return lines + queued

    @property
    def speaking(self) -> bool:
        with self._lock:
            if self._in_hand > 0:
                return True
        return self.sink.is_playing()

    def wait_idle(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while self.speaking and time.monotonic() < deadline:
            time.sleep(0.02)
        return not self.speaking

    def close(self) -> None:
        self.cancel()
        self._lines.put(None)
        self._thread.join(timeout=2.0)

    def _speak(self, generation: int, text: str) -> None:
        pcm = self.synth.synthesize(text)
        with self._lock:
            playing = generation == self._generation  # not cancelled meanwhile
            if playing:
                self.sink.play(pcm)
        if playing:
            while self.sink.is_playing() and generation == self._generation:
                time.sleep(0.01)

    def _run(self) -> None:
        while True:
            item = self._lines.get()
            if item is None:
                return
            generation, text = item
            with self._lock:
                self._current = item
            for attempt in range(self.retries + 1):
                if attempt:
                    time.sleep(self.retry_after * attempt)
                    if generation != self._generation:
                        break  # cancelled while waiting to try again
                try:
                    self._speak(generation, text)
                except Exception as e:  # noqa: BLE001 - the voice is gone: the session must pause, not go on blind
                    self._on_error(e)
                    continue
                self._on_spoken()
                break
            with self._lock:
                self._current = None
                self._in_hand -= 1  # this line was taken from the queue, so no cancel counted it off
                idle = self._in_hand == 0
            if idle:
                self._on_idle()
