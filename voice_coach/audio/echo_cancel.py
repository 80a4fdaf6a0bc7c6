"""Acoustic echo cancellation: remove the coach's own voice from the microphone signal.

The coach's lines contain "stop", "numbness" and "tingling"; without this the listener would
hear the coach say them and halt the session. The played signal is the reference.

Two cancellers run side by side, because each is good at the half the other is bad at:
- WebRTC AEC3 (livekit's AudioProcessingModule) removes 30-36 dB of echo within a second, but its
  residual-echo suppressor also takes the person's own "stop" down by 11-57 dB whenever the coach
  is talking: Whisper heard none of 12 real stops said 15 s into a line.
- libspeexdsp's linear canceller (Debian package libspeexdsp1, the one PulseAudio uses, through
  ctypes) leaves the person's voice alone: 11 of the same 12 stops heard. But it needs about
  10 s of the coach's speech to converge; before that it removes only 1.5-4 dB and the coach's
  own "stop" and "too much" would get through.
So the listener gets AEC3's output until speex has converged, and speex's from then on.
Converged means, over the last second and a half of the coach speaking: speex removes at least
SPEEX_ERLE_DB of the echo, or its residual is within CLOSE_TO_AEC3_DB of AEC3's (the case of
little or no echo, where neither can remove much). A speaker so loud that the mic clips keeps
speex below both, and AEC3 stays: the coach halting itself on its own "stop" would make the
coach unusable. Both figures are kept by tests/test_audio_echo.py. Frames are 10 ms at 16 kHz.
"""

from __future__ import annotations

import collections
import ctypes
import ctypes.util
import threading
import time

import numpy as np

from voice_coach.errors import UserError
from voice_coach.interfaces import SAMPLE_RATE

FRAME = SAMPLE_RATE // 100
HALF_FRAME = FRAME / SAMPLE_RATE / 2
_SET_SAMPLING_RATE = 24  # SPEEX_ECHO_SET_SAMPLING_RATE in speex_echo.h
FIX = "echo cancellation needs libspeexdsp: sudo apt install libspeexdsp1 (or run with --no-echo-cancel)"
SPEEX_ERLE_DB = 20.0
CLOSE_TO_AEC3_DB = 6.0
# How much of the coach's speech that comparison covers, in 10 ms frames.
CONVERGENCE_WINDOW = 150
# A reference frame quieter than this (RMS, int16) counts as the coach being silent.
FAR_ACTIVE_RMS = 100.0


def _load_speexdsp() -> ctypes.CDLL:
    name = ctypes.util.find_library("speexdsp") or "libspeexdsp.so.1"
    try:
        lib = ctypes.CDLL(name)
    except OSError:
        raise UserError(FIX) from None
    lib.speex_echo_state_init.restype = ctypes.c_void_p
    lib.speex_echo_state_init.argtypes = [ctypes.c_int, ctypes.c_int]
    lib.speex_echo_state_destroy.argtypes = [ctypes.c_void_p]
    lib.speex_echo_ctl.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p]
    short_p = ctypes.POINTER(ctypes.c_int16)
    lib.speex_echo_cancellation.argtypes = [ctypes.c_void_p, short_p, short_p, short_p]
    return lib


def _energy(x: np.ndarray) -> float:
    return float(np.sum(x.astype(np.float64) ** 2))


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

    Alignment: each microphone frame is paired with the reference frame that was playing when
    it was captured (silence when nothing was), so a listener that falls behind (a slow
    recognizer) still pairs the right frames. Pass `captured_at` (monotonic time of the chunk's
    last sample, e.g. MicSource.last_capture_time) when reading from a queue; without it the
    chunk is taken as just captured. `played_at` likewise defaults to now, which is right when
    called from the speaker's callback.

    `tail_ms` is how long an echo the filter can model: the device latencies (play out plus
    capture, typically 30-150 ms) plus the room's reverberation that still matters.
    """

    def __init__(self, *, tail_ms: int = 256, delay_ms: int = 50):
        try:
            from livekit import rtc  # noqa: PLC0415  (30 MB native library: load only when echo cancelling)
        except ImportError:  # pragma: no cover - depends on the install
            raise UserError("echo cancellation needs livekit: pip install livekit (or run with --no-echo-cancel)") from None
        self._rtc = rtc
        # AGC stays off: it would pump the level of a quiet "stop" and of the residual echo alike.
        self._apm = rtc.AudioProcessingModule(echo_cancellation=True, high_pass_filter=True)
        self._delay_ms = int(delay_ms)  # a hint only: AEC3 finds the real delay itself
        self._lib = _load_speexdsp()
        self._state = self._lib.speex_echo_state_init(FRAME, int(tail_ms * SAMPLE_RATE / 1000))
        if not self._state:
            raise UserError(f"libspeexdsp could not start its echo canceller; {FIX}")
        rate = ctypes.c_int(SAMPLE_RATE)
        self._lib.speex_echo_ctl(self._state, _SET_SAMPLING_RATE, ctypes.byref(rate))
        self._lock = threading.Lock()  # guards the speex state and the reference queue
        self._rev = _Framer()
        self._near = _Framer()
        self._ref: collections.deque[tuple[float, np.ndarray]] = collections.deque()
        self._silence = np.zeros(FRAME, dtype=np.int16)
        self.dropped_reference_frames = 0
        self.converged = False  # True once speex's output is the one returned
        # (mic, speex, AEC3) energies of recent frames played while the coach spoke
        self._energies: collections.deque[tuple[float, float, float]] = collections.deque(maxlen=CONVERGENCE_WINDOW)

    def process_reverse(self, played: np.ndarray, played_at: float | None = None) -> None:
        end = time.monotonic() if played_at is None else played_at
        with self._lock:
            frames = self._rev.push(played)
            for k, f in enumerate(frames):
                self._ref.append((end - (len(frames) - 1 - k) * FRAME / SAMPLE_RATE, f))

    def process(self, mic: np.ndarray, captured_at: float | None = None) -> np.ndarray:
        end = time.monotonic() if captured_at is None else captured_at
        out = []
        with self._lock:
            frames = self._near.push(mic)
            for k, f in enumerate(frames):
                t = end - (len(frames) - 1 - k) * FRAME / SAMPLE_RATE
                # The speex filter wants one reference frame per captured frame, at the same pace:
                # take the one played within half a frame of this capture, silence if none was.
                while self._ref and self._ref[0][0] < t - HALF_FRAME:
                    self._ref.popleft()
                    self.dropped_reference_frames += 1
                ref = self._silence
                if self._ref and self._ref[0][0] <= t + HALF_FRAME:
                    ref = self._ref.popleft()[1]
                out.append(self._cancel(np.ascontiguousarray(f), np.ascontiguousarray(ref)))
        return np.concatenate(out) if out else np.zeros(0, dtype=np.int16)

    def _cancel(self, mic: np.ndarray, ref: np.ndarray) -> np.ndarray:
        if not self._state:  # closed while a listener was still reading: pass the audio through
            return mic
        short_p = ctypes.POINTER(ctypes.c_int16)
        linear = np.empty(FRAME, dtype=np.int16)
        self._lib.speex_echo_cancellation(
            self._state, mic.ctypes.data_as(short_p), ref.ctypes.data_as(short_p), linear.ctypes.data_as(short_p)
        )
        if self.converged:
            return linear
        self._apm.process_reverse_stream(self._frame(ref))
        frame = self._frame(mic)
        self._apm.set_stream_delay_ms(self._delay_ms)  # AEC3 expects it restated before every frame
        self._apm.process_stream(frame)
        suppressed = np.frombuffer(bytes(frame.data), dtype=np.int16)
        if np.sqrt(np.mean(ref.astype(np.float64) ** 2)) > FAR_ACTIVE_RMS:
            self._energies.append((_energy(mic), _energy(linear), _energy(suppressed)))
            if len(self._energies) == CONVERGENCE_WINDOW:
                near, lin, sup = (sum(e[k] for e in self._energies) + 1.0 for k in range(3))
                if 10 * np.log10(near / lin) >= SPEEX_ERLE_DB or 10 * np.log10(lin / sup) <= CLOSE_TO_AEC3_DB:
                    self.converged = True
                    self._apm = None  # its work is done; speex carries on alone
        return suppressed

    def _frame(self, samples: np.ndarray):
        return self._rtc.AudioFrame(bytearray(samples.astype("<i2").tobytes()), SAMPLE_RATE, 1, FRAME)

    def close(self) -> None:
        with self._lock:
            if self._state:
                self._lib.speex_echo_state_destroy(self._state)
                self._state = None

    def __del__(self) -> None:  # the C state is a few hundred kB
        try:
            self.close()
        except Exception:
            pass
