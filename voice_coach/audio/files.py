"""File-backed twins of the microphone and the speaker, for tests and the demo.

They run on a clock that can be sped up (`speed`), so a 40-second hold takes 2 s in a demo,
and they keep the same fault behaviour as the real devices: a stalled WavFileSource raises
AudioFault("stalled") just like MicSource's watchdog.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from voice_coach.audio.faults import AudioFault
from voice_coach.wav_io import read_wav, wav_to_chunks, write_wav  # noqa: F401  (the twins' file I/O)
from voice_coach.interfaces import SAMPLE_RATE


class WavFileSource:
    """AudioSource that plays a WAV file (or array) into the listener.

    realtime: pace chunks at `speed` times real time; off, chunks come as fast as read.
    stall_after: stop delivering after this many seconds of audio (a simulated dead mic);
        `read()` then raises AudioFault("stalled") once `stall_timeout` seconds (divided by
        `speed`) have passed without a chunk, exactly as MicSource does.
    At the end of the audio `read()` returns None and `exhausted` becomes True.
    """

    def __init__(
        self,
        audio: Path | str | np.ndarray,
        *,
        chunk_ms: int = 20,
        realtime: bool = False,
        speed: float = 1.0,
        stall_after: float | None = None,
        stall_timeout: float = 1.0,
    ):
        self._chunks = list(wav_to_chunks(audio, chunk_ms))
        self.chunk_s = chunk_ms / 1000
        self.realtime = realtime
        self.speed = speed
        self.stall_after = stall_after
        self.stall_timeout = stall_timeout
        self._i = 0
        self.last_capture_time: float | None = None  # like MicSource's; None: "just now"
        self._t0: float | None = None
        self._last = 0.0
        self.exhausted = False

    def start(self) -> None:
        self._t0 = time.monotonic()
        self._last = self._t0

    def _stalled(self) -> bool:
        return self.stall_after is not None and self._i * self.chunk_s >= self.stall_after

    def read(self, timeout: float) -> np.ndarray | None:
        if self._t0 is None:
            self.start()
        now = time.monotonic()
        if self._stalled():
            limit = self._last + self.stall_timeout / self.speed
            if now >= limit:
                raise AudioFault("stalled", f"no audio for {self.stall_timeout:.1f} s (simulated)")
            time.sleep(min(timeout, limit - now))
            if time.monotonic() >= limit:
                raise AudioFault("stalled", f"no audio for {self.stall_timeout:.1f} s (simulated)")
            return None
        if self._i >= len(self._chunks):
            self.exhausted = True
            time.sleep(min(timeout, 0.01))
            return None
        if self.realtime:
            due = self._t0 + self._i * self.chunk_s / self.speed
            if due - now > timeout:
                time.sleep(max(0.0, timeout))
                return None
            if due > now:
                time.sleep(due - now)
        chunk = self._chunks[self._i]
        self._i += 1
        self._last = time.monotonic()
        return chunk

    def stop(self) -> None:
        self._t0 = None


@dataclass
class PlayEvent:
    kind: str  # "play" or "cancel"
    t: float  # seconds on the sink's clock (scaled by speed) since it was made
    samples: int  # play: length queued; cancel: samples of the current line cut off


@dataclass
class _Line:
    pcm: np.ndarray
    start: float  # on the sink clock
    cut_at: int | None = None  # samples actually heard, if cancelled


class WavFileSink:
    """AudioSink that "plays" on a clock and records what would have been heard.

    Lines play back to back from when they are queued; `cancel()` cuts the current line at
    the sample the clock has reached and drops queued ones. `audio()` is the heard timeline
    (with silences between lines), `events` the plays and cancels with their times, and
    `close()` writes `path` if one was given. `speed` > 1 makes lines end sooner, for demos.
    """

    def __init__(self, path: Path | str | None = None, *, speed: float = 1.0):
        self.path = Path(path) if path else None
        self.speed = speed
        self._t0 = time.monotonic()
        self._lines: list[_Line] = []
        self.events: list[PlayEvent] = []
        self._lock = threading.Lock()

    def clock(self) -> float:
        return (time.monotonic() - self._t0) * self.speed

    def _end(self, line: _Line) -> float:
        n = len(line.pcm) if line.cut_at is None else line.cut_at
        return line.start + n / SAMPLE_RATE

    def play(self, pcm: np.ndarray) -> None:
        pcm = np.asarray(pcm, dtype=np.int16).reshape(-1)
        with self._lock:
            now = self.clock()
            start = max([now] + [self._end(x) for x in self._lines])
            self._lines.append(_Line(pcm, start))
            self.events.append(PlayEvent("play", now, len(pcm)))

    def cancel(self) -> None:
        with self._lock:
            now = self.clock()
            cut = 0
            for line in self._lines:
                if line.cut_at is None and self._end(line) > now:
                    heard = max(0, int((now - line.start) * SAMPLE_RATE))
                    cut += len(line.pcm) - heard
                    line.cut_at = heard
                    line.start = min(line.start, now)  # a queued line never starts
            self.events.append(PlayEvent("cancel", now, cut))

    def is_playing(self) -> bool:
        with self._lock:
            now = self.clock()
            return any(self._end(x) > now for x in self._lines)

    def audio(self) -> np.ndarray:
        """Everything heard so far on the sink's timeline."""
        with self._lock:
            if not self._lines:
                return np.zeros(0, dtype=np.int16)
            end = max(self._end(x) for x in self._lines)
            out = np.zeros(int(end * SAMPLE_RATE) + 1, dtype=np.int16)
            for line in self._lines:
                n = len(line.pcm) if line.cut_at is None else line.cut_at
                s = int(line.start * SAMPLE_RATE)
                out[s : s + n] = line.pcm[:n]
            return out

    def close(self) -> None:
        if self.path is not None:
            write_wav(self.path, self.audio())
