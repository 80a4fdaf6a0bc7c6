"""The speaker: a sounddevice OutputStream whose callback pulls from a buffer we own.

The stream runs for the sink's whole life and plays silence when idle, so `cancel()` only
empties the buffer: the next callback (one block, 20 ms by default) is already silent. Device
buffering adds its own latency on top; `latency="low"` keeps that small.
"""

from __future__ import annotations

import threading
import time
from typing import Callable

import numpy as np

from voice_coach.audio.devices import close_quietly, find_device, pick_rate, sounddevice
from voice_coach.errors import UserError
from voice_coach.interfaces import SAMPLE_RATE


class SpeakerSink:
    """AudioSink for a real speaker.

    device: index, name or unique part of a name (None: default output).
    on_played: called from the audio thread with each block actually handed to the device,
        as 16 kHz mono int16 (silence included), e.g. EchoCanceller.process_reverse. Keep it cheap.
    """

    def __init__(
        self,
        device: str | int | None = None,
        *,
        block_ms: int = 20,
        on_played: Callable[[np.ndarray], None] | None = None,
        latency: str | float = "low",
    ):
        self._sd = sounddevice()
        self._spec = device
        self._latency = latency
        self.device = find_device(device, "output")
        self.device_rate = pick_rate(self.device, "output", SAMPLE_RATE)
        self.block = int(self.device_rate * block_ms / 1000)
        self._on_played = on_played
        self._ref_resampler = None
        if on_played is not None and self.device_rate != SAMPLE_RATE:
            import soxr  # noqa: PLC0415

            self._ref_resampler = soxr.ResampleStream(self.device_rate, SAMPLE_RATE, 1, dtype="int16")
        self._lock = threading.Lock()
        self._buf = np.zeros(0, dtype=np.int16)  # at device rate
        self._pos = 0
        self.cancels: list[float] = []  # monotonic times of cancel(), for diagnostics
        self.underflows = 0
        self.played_samples = 0  # device-rate samples of real audio handed over
        self._stream = None
        self._open()
        from voice_coach.audio import rescan  # noqa: PLC0415

        rescan.register_sink(self)

    def _open(self) -> None:
        try:
            self._stream = self._sd.OutputStream(
                device=self.device,
                samplerate=self.device_rate,
                channels=1,
                dtype="int16",
                blocksize=self.block,
                latency=self._latency,
                callback=self._callback,
            )
            self._stream.start()
        except Exception as e:  # PortAudioError: device busy, unplugged, rate refused
            self._stream = None
            raise UserError(f"cannot open the speaker (device {self.device}): {e}") from e

    def suspend(self) -> None:
        """Close the stream but keep the sink (audio.rescan restarts PortAudio meanwhile)."""
        s, self._stream = self._stream, None
        if s is not None:
            close_quietly(s)

    def resume(self) -> None:
        """Open the stream again, on the device found afresh by its name, at the same rate."""
        if self._stream is None:
            self.device = find_device(self._spec, "output")
            self._open()

    def _callback(self, outdata, frames, time_info, status) -> None:
        if status.output_underflow:
            self.underflows += 1
        with self._lock:
            n = min(frames, len(self._buf) - self._pos)
            if n > 0:
                outdata[:n, 0] = self._buf[self._pos : self._pos + n]
                self._pos += n
                self.played_samples += n
            if self._pos >= len(self._buf) and len(self._buf):
                self._buf = np.zeros(0, dtype=np.int16)
                self._pos = 0
        outdata[max(n, 0) :, 0] = 0
        if self._on_played is not None:
            ref = outdata[:, 0]
            if self._ref_resampler is not None:
                ref = self._ref_resampler.resample_chunk(ref)
            try:
                self._on_played(ref.copy())
            except Exception:  # a failing observer must never silence or kill the stream
                pass

    def play(self, pcm: np.ndarray) -> None:
        """Queue 16 kHz mono int16 audio after whatever is playing; returns at once."""
        pcm = np.asarray(pcm, dtype=np.int16).reshape(-1)
        if self.device_rate != SAMPLE_RATE:
            import soxr  # noqa: PLC0415

            pcm = soxr.resample(pcm, SAMPLE_RATE, self.device_rate).astype(np.int16)
        with self._lock:
            rest = self._buf[self._pos :]
            self._buf = np.concatenate([rest, pcm]) if len(rest) else pcm
            self._pos = 0

    def cancel(self) -> None:
        with self._lock:
            self._buf = np.zeros(0, dtype=np.int16)
            self._pos = 0
        self.cancels.append(time.monotonic())

    def is_playing(self) -> bool:
        with self._lock:
            return self._pos < len(self._buf)

    def wait(self, timeout: float) -> bool:
        """Block until playback ends; False if still playing after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while self.is_playing():
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.01)
        return True

    def close(self) -> None:
        from voice_coach.audio import rescan  # noqa: PLC0415

        rescan.unregister_sink(self)
        s, self._stream = self._stream, None
        if s is not None:
            self.cancel()
            close_quietly(s)
