"""The microphone: a sounddevice InputStream at the device's own rate, delivered as 16 kHz mono int16.

Fault reporting (see AudioFault): `read()` raises AudioFault while
  - no callback has delivered audio for more than `stall_timeout` seconds after start,
  - the stream has stopped or raised an error on its own,
  - input overflowed at least `overflow_limit` times within `overflow_window` seconds
    (a lost block could be the "stop"); a single overflow is only counted.
It returns chunks again once audio flows normally.

`last_capture_time` is the monotonic time the chunk last returned by `read()` was captured;
hand it to EchoCanceller.process(captured_at=...) so a reader that lags stays aligned.
"""

from __future__ import annotations

import collections
import queue
import threading
import time

import numpy as np

from voice_coach.audio.devices import close_quietly, find_device, pick_rate, sounddevice
from voice_coach.audio.faults import AudioFault
from voice_coach.errors import UserError
from voice_coach.interfaces import SAMPLE_RATE


class MicSource:
    """AudioSource for a real microphone.

    device: index, name, or unique part of a name (None: default input).
    block_ms: callback block length; chunks returned by `read()` are about this long.
    reopen_every: while the microphone is faulted (unplugged, stalled, ended), `read()` keeps
        raising AudioFault, and every this many seconds closes the stream and opens the device
        again, found afresh by its name; when that fails too, PortAudio is asked to rescan its
        devices (audio.rescan: only while no speaker is playing). None: never reopen.
    """

    def __init__(
        self,
        device: str | int | None = None,
        *,
        block_ms: int = 20,
        stall_timeout: float = 1.0,
        overflow_limit: int = 3,
        overflow_window: float = 2.0,
        max_queue_s: float = 2.0,
        reopen_every: float | None = 2.0,
    ):
        self._sd = sounddevice()
        self.spec = device
        self.reopen_every = reopen_every
        self.reopens = 0  # successful reopens, for diagnostics
        self._faulted_at: float | None = None
        self._next_reopen = 0.0
        self._gone: str | None = None  # set while a reopen has not found the device
        self.block_ms = block_ms
        self.device = find_device(device, "input")
        self.device_rate = pick_rate(self.device, "input", SAMPLE_RATE)
        self.block = int(self.device_rate * block_ms / 1000)
        self.stall_timeout = stall_timeout
        self.overflow_limit = overflow_limit
        self.overflow_window = overflow_window
        self.last_capture_time: float | None = None  # monotonic time the last chunk read was captured
        self._q: queue.Queue[tuple[np.ndarray, float]] = queue.Queue(maxsize=max(1, int(max_queue_s * 1000 / block_ms)))
        self._resampler = None
        self._stream = None
        self._last_audio = 0.0
        self._overflow_times: collections.deque[float] = collections.deque()
        self.overflows = 0  # total, for diagnostics
        self.dropped = 0  # chunks dropped because nobody read them in time
        self._error: str | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        if self._stream is not None:
            return
        if self.device_rate != SAMPLE_RATE:
            import soxr  # noqa: PLC0415

            # A streaming resampler keeps the filter state across blocks: no clicks at block edges.
            self._resampler = soxr.ResampleStream(self.device_rate, SAMPLE_RATE, 1, dtype="int16")
        self._error = None
        self._last_audio = time.monotonic()  # the watchdog counts from start
        try:
            self._stream = self._sd.InputStream(
                device=self.device,
                samplerate=self.device_rate,
                channels=1,
                dtype="int16",
                blocksize=self.block,
                callback=self._callback,
                finished_callback=self._finished,
            )
            self._stream.start()
            self._gone = None
        except Exception as e:  # PortAudioError: device busy, unplugged, rate refused
            self._stream = None
            raise UserError(f"cannot open the microphone (device {self.device}): {e}") from e

    def _callback(self, indata, frames, time_info, status) -> None:
        now = time.monotonic()
        if status.input_overflow:
            self._note_overflow(now)
        pcm = indata[:, 0]
        if self._resampler is not None:
            pcm = self._resampler.resample_chunk(pcm)
        else:
            pcm = pcm.copy()
        self._last_audio = now
        if len(pcm) == 0:
            return
        try:
            self._q.put_nowait((pcm, now))
        except queue.Full:
            # The reader fell behind; drop the oldest so the newest (maybe a "stop") gets in.
            try:
                self._q.get_nowait()
            except queue.Empty:
                pass
            self.dropped += 1
            self._note_overflow(now)
            try:
                self._q.put_nowait((pcm, now))
            except queue.Full:
                pass

    def _note_overflow(self, now: float) -> None:
        with self._lock:
            self.overflows += 1
            self._overflow_times.append(now)

    def _finished(self) -> None:
        if self._stream is not None and self._error is None:
            self._error = "the input stream ended"

    def fault(self) -> AudioFault | None:
        """The current fault, if any (what `read()` would raise)."""
        if self._gone:
            return AudioFault("error", self._gone)
        if self._stream is None:
            return None
        if self._error:
            return AudioFault("error", self._error)
        now = time.monotonic()
        if not self._stream.active:
            return AudioFault("error", "the input stream stopped")
        silent = now - self._last_audio
        if silent > self.stall_timeout:
            return AudioFault("stalled", f"no audio for {silent:.1f} s")
        with self._lock:
            while self._overflow_times and now - self._overflow_times[0] > self.overflow_window:
                self._overflow_times.popleft()
            recent = len(self._overflow_times)
        if recent >= self.overflow_limit:
            return AudioFault("overflow", f"{recent} overflows in {self.overflow_window:.0f} s")
        return None

    def read(self, timeout: float) -> np.ndarray | None:
        deadline = time.monotonic() + timeout
        while True:
            f = self.fault()
            if f is not None:
                self._maybe_reopen(f)
                raise f
            self._faulted_at = None
            # Wake at least every 100 ms so a stall is noticed while waiting.
            wait = min(0.1, deadline - time.monotonic())
            try:
                pcm, self.last_capture_time = self._q.get(timeout=max(0.0, wait))
                return pcm
            except queue.Empty:
                if time.monotonic() >= deadline:
                    return None

    def _maybe_reopen(self, fault: AudioFault) -> None:
        now = time.monotonic()
        if self._faulted_at is None:
            # Overflows mean a working device read too slowly: reopen only if they go on and on
            # (a file device at its end floods); a dead or stalled device is reopened sooner.
            wait = (self.reopen_every or 0) * (3 if fault.reason == "overflow" else 1)
            self._faulted_at, self._next_reopen = now, now + wait
            return
        if self.reopen_every is None or now < self._next_reopen:
            return
        self._next_reopen = now + self.reopen_every
        self.reopen()

    def reopen(self) -> bool:
        """Close the stream and open the device again (a replugged USB mic); True if it opened."""
        from voice_coach.audio import rescan  # noqa: PLC0415

        old, self._stream = self._stream, None
        closed = old is None or close_quietly(old, timeout=1.0)
        for attempt in range(2):
            try:
                self.device = find_device(self.spec, "input")
                self.device_rate = pick_rate(self.device, "input", SAMPLE_RATE)
                self.block = int(self.device_rate * self.block_ms / 1000)
                self._resampler = None
                with self._lock:
                    self._overflow_times.clear()  # the old stream's overflows are not the new one's
                while not self._q.empty():
                    self._q.get_nowait()  # nor is its stale audio
                self.start()
                self.reopens += 1
                self._faulted_at = None
                return True
            except UserError:
                self._stream = None
                # A device that came back under a new card number is unknown to PortAudio until
                # it rescans; never while its thread may be stuck in the old stream.
                if attempt or not closed or not rescan.rescan():
                    break
        self._gone = "the microphone is gone; trying to open it again"
        return False

    def stop(self) -> None:
        self._gone = None
        s, self._stream = self._stream, None
        if s is not None:
            close_quietly(s)
        while not self._q.empty():
            self._q.get_nowait()
