"""Acoustic echo cancellation: remove the coach's own voice from the microphone signal.

The coach's lines contain "stop", "numbness" and "tingling"; without this the listener would
hear the coach say them and halt the session. The played signal is the reference.

Backend: WebRTC AEC3 through livekit's AudioProcessingModule (chosen by measurement, see
tests/test_audio_echo.py and docs in the module report). Frames are 10 ms at 16 kHz.
"""

from __future__ import annotations

import collections
import threading
import time

import numpy as np

from voice_coach.errors import UserError
from voice_coach.interfaces import SAMPLE_RATE

FRAME = SAMPLE_RATE // 100  # WebRTC's APM only takes 10 ms frames


class _Framer:
    """Re-cuts arbitrary chunk lengths into whole 10 ms frames, keeping the remainder."""

    def __init__(self) -> None:
        self._rest = np.zeros(0, dtype=np.int16)

    def push(self, pcm: np.ndarray) -> list[np.ndarray]:
        data = np.concatenate([self._rest, np.asarray(pcm, dtype=np.int16).reshape(-1)])
        n = len(data) // FRAME * FRAME
        self._rest = data[n:].copy()
        return [data[i : i + FRAME] for i in range(0, n, FRAME)]


class EchoCanceller:
    """Feed what the speaker played with `process_reverse`, and the microphone with `process`.

    Both take any chunk length of 16 kHz mono int16. `process` returns the cleaned audio for
    the whole 10 ms frames it has so far (a chunk that is a multiple of 160 samples comes back
    the same length, with no delay). The two may be called from different threads: the
    speaker's callback feeds the reference while the listener cleans the microphone.

    Alignment: the reference is held back and handed to AEC3 only up to the capture time of
    each microphone frame, so a listener that falls behind (a slow recognizer) does not
    present the echo canceller with reference audio from its future (what that costs is in
    docs/benchmarks/design_figures.md). Pass `captured_at` (monotonic time of
    the chunk's last sample, e.g. MicSource.last_capture_time) when reading from a queue;
    without it the chunk is taken as just captured. `played_at` likewise defaults to now,
    which is right when called from the speaker's callback.

    `delay_ms` is the expected playout-to-capture delay; AEC3 searches for the real one on
    its own, the hint only speeds convergence.
    """

    # Reference older than this before the frame being cleaned is dropped, not fed in a burst:
    # AEC3's render buffer is meant to receive frames at the rate they play.
    MAX_REF_LAG = 0.5

    def __init__(self, *, delay_ms: int = 50, noise_suppression: bool = False, high_pass_filter: bool = True):
        try:
            from livekit import rtc  # noqa: PLC0415  (30 MB native library: load only when echo cancelling)
        except ImportError as e:  # pragma: no cover - depends on the install
            raise UserError("echo cancellation needs livekit: pip install livekit") from e
        self._rtc = rtc
        # AGC stays off: it would pump the level of a quiet "stop" and of the residual echo alike.
        self._apm = rtc.AudioProcessingModule(
            echo_cancellation=True,
            noise_suppression=noise_suppression,
            high_pass_filter=high_pass_filter,
            auto_gain_control=False,
        )
        self._delay_ms = int(delay_ms)
        self._apm.set_stream_delay_ms(self._delay_ms)
        self._lock = threading.Lock()  # guards the APM handle and the reference queue
        self._rev = _Framer()
        self._near = _Framer()
        self._ref: collections.deque[tuple[float, np.ndarray]] = collections.deque()
        self.dropped_reference_frames = 0

    def _frame(self, samples: np.ndarray):
        return self._rtc.AudioFrame(bytearray(samples.astype("<i2").tobytes()), SAMPLE_RATE, 1, FRAME)

    def process_reverse(self, played: np.ndarray, played_at: float | None = None) -> None:
        end = time.monotonic() if played_at is None else played_at
        with self._lock:
            frames = self._rev.push(played)
            for k, f in enumerate(frames):
                self._ref.append((end - (len(frames) - k) * FRAME / SAMPLE_RATE, f))

    def process(self, mic: np.ndarray, captured_at: float | None = None) -> np.ndarray:
        end = time.monotonic() if captured_at is None else captured_at
        out = []
        with self._lock:
            frames = self._near.push(mic)
            for k, f in enumerate(frames):
                t = end - (len(frames) - k) * FRAME / SAMPLE_RATE
                while self._ref and self._ref[0][0] <= t:
                    t_ref, r = self._ref.popleft()
                    if t - t_ref > self.MAX_REF_LAG:
                        self.dropped_reference_frames += 1
                        continue
                    self._apm.process_reverse_stream(self._frame(r))
                frame = self._frame(f)
                # AEC3 expects the delay to be restated before every captured frame.
                self._apm.set_stream_delay_ms(self._delay_ms)
                self._apm.process_stream(frame)
                out.append(np.frombuffer(bytes(frame.data), dtype=np.int16))
        return np.concatenate(out) if out else np.zeros(0, dtype=np.int16)
