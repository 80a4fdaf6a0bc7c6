"""Acoustic echo cancellation: remove the coach's own voice from the microphone signal.

The coach's lines contain "stop", "numbness" and "tingling"; without this the listener would
hear the coach say them and halt the session. The played signal is the reference. Frames are
10 ms at 16 kHz.

Two cancellers run side by side on every frame, and which one the recognizer hears was decided
by measurement (docs/benchmarks/hearing.md, tests/test_audio_echo.py):

- **WebRTC AEC3** (livekit's AudioProcessingModule): finds the echo delay on its own and takes
  the echo down 30-36 dB from the first second. But once it has converged, its residual-echo
  suppressor also takes a person's word said over the coach down by 11-57 dB: a "stop" said
  15 s into the coach's speech was heard 0 times in 12.
- **libspeexdsp's linear canceller** (MDF, a 400 ms adaptive filter, no suppressor): it needs a
  few seconds of the coach speaking to converge, and needs the reference in a fixed sample
  alignment with the microphone (`_Lockstep`), but it only subtracts what the reference
  explains, so the person's word stays whole: 12 of the same 12 heard.

`process()` returns AEC3's output until the linear filter has converged on the coach's speech,
then the linear output (`_Convergence` decides). What the linear filter leaves of the echo (about
25 dB down) is still speech-like: the recognizer's endpointer opens on it and Whisper decodes it,
mostly to empty text, about 44 decodes a minute of the coach speaking, against 2 through AEC3.
A frame gate that turned that residual down 20 dB halved the decodes but heard 94 of 128 stops
said over the coach against 97 without it, so there is none: a stop comes before CPU. `suppressed` always holds AEC3's output for the
same frames: barge-in's residual gate was built on it. Without libspeexdsp (the Debian package
`libspeexdsp1`), AEC3 alone is used.
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

FRAME = SAMPLE_RATE // 100  # WebRTC's APM only takes 10 ms frames; speex is run on the same frames
FRAME_S = FRAME / SAMPLE_RATE


class _Framer:
    """Re-cuts arbitrary chunk lengths into whole 10 ms frames, keeping the remainder."""

    def __init__(self) -> None:
        self._rest = np.zeros(0, dtype=np.int16)

    def push(self, pcm: np.ndarray) -> list[np.ndarray]:
        data = np.concatenate([self._rest, np.asarray(pcm, dtype=np.int16).reshape(-1)])
        n = len(data) // FRAME * FRAME
        self._rest = data[n:].copy()
        return [data[i : i + FRAME] for i in range(0, n, FRAME)]


# --- libspeexdsp -----------------------------------------------------------------------------

SPEEX_ECHO_SET_SAMPLING_RATE = 24
# Said by `check` and warned by `run` when only AEC3 runs.
SPEEX_MISSING = ("WebRTC AEC3 only: libspeexdsp is missing (sudo apt-get install libspeexdsp1), "
                 "so a stop said while the coach talks may not get through")
_speex_lib = None


def load_speexdsp():
    """The libspeexdsp shared library (BSD licence, Debian package libspeexdsp1), or None."""
    global _speex_lib
    if _speex_lib is None:
        # find_library runs ldconfig (a fifth of a second on a busy machine): only if the soname fails.
        for name in ("libspeexdsp.so.1", None):
            name = name or ctypes.util.find_library("speexdsp")
            if not name:
                continue
            try:
                lib = ctypes.CDLL(name)
            except OSError:
                continue
            lib.speex_echo_state_init.restype = ctypes.c_void_p
            lib.speex_echo_state_init.argtypes = [ctypes.c_int, ctypes.c_int]
            lib.speex_echo_state_destroy.argtypes = [ctypes.c_void_p]
            lib.speex_echo_state_reset.argtypes = [ctypes.c_void_p]
            lib.speex_echo_ctl.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p]
            lib.speex_echo_cancellation.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p]
            _speex_lib = lib
            break
        else:
            _speex_lib = False
    return _speex_lib or None


class _SpeexEcho:
    """One speex MDF echo canceller: mic frame and the reference frame paired with it, in; the
    mic with the linearly predicted echo subtracted, out."""

    def __init__(self, lib, tail_ms: int) -> None:
        self._lib = lib
        self._st = lib.speex_echo_state_init(FRAME, SAMPLE_RATE * tail_ms // 1000)
        if not self._st:
            raise UserError("libspeexdsp could not create an echo canceller")
        rate = ctypes.c_int(SAMPLE_RATE)
        lib.speex_echo_ctl(self._st, SPEEX_ECHO_SET_SAMPLING_RATE, ctypes.byref(rate))

    def process(self, mic: np.ndarray, ref: np.ndarray) -> np.ndarray:
        mic = np.ascontiguousarray(mic, dtype=np.int16)
        ref = np.ascontiguousarray(ref, dtype=np.int16)
        out = np.empty(FRAME, dtype=np.int16)
        self._lib.speex_echo_cancellation(self._st, mic.ctypes.data, ref.ctypes.data, out.ctypes.data)
        return out

    def reset(self) -> None:
        self._lib.speex_echo_state_reset(self._st)

    def close(self) -> None:
        if self._st:
            self._lib.speex_echo_state_destroy(self._st)
            self._st = None


class _StreamClock:
    """Sample-accurate times for an audio stream whose callbacks come in bursts.

    A sound card's callbacks are not evenly spaced: the ALSA file devices of the tests hand over
    six 20 ms blocks within 0.1 ms every 120 ms, and USB or PipeWire devices do similar things,
    so the callback time of a block says little about when its samples play. Counting samples
    does: sample n of the stream is at n/SR plus a fixed offset. Each callback gives one
    observation of that offset (its time minus the samples so far); the offset taken is a
    percentile of the last few seconds of observations: a high one for the speaker (a callback
    comes before its samples play; the latest ones are the least buffered), a low one for the
    microphone (a callback comes after its samples were captured). A late callback (the machine
    was busy) then moves nothing, and the offset still follows slow clock drift.
    """

    def __init__(self, pct: float, history: int = 150) -> None:
        self._pct = pct
        self._obs: collections.deque[float] = collections.deque(maxlen=history)
        self._n = 0
        self._off = 0.0

    def observe(self, t_end: float, samples: int) -> None:
        self._n += samples
        self._obs.append(t_end - self._n / SAMPLE_RATE)
        self._off = float(np.percentile(self._obs, self._pct)) if len(self._obs) > 4 else max(self._obs) if self._pct > 50 else min(self._obs)

    def at(self, sample: int) -> float:
        """The time of the stream's sample index `sample` (counted from its start)."""
        return sample / SAMPLE_RATE + self._off


class _Lockstep:
    """Pairs reference frames with microphone frames one for one, at a fixed offset.

    A linear filter models the echo path sample by sample: if the reference it is given slips by
    a frame against the microphone, what it learned is wrong. So the pairing is set once (the
    reference frame that played `TARGET_LAG` before the mic frame was captured, by the two
    streams' `_StreamClock`s) and then advances one frame per mic frame. A reference frame that
    has not arrived yet when its mic frame is cleaned is owed (silence now, dropped when it comes)
    so the pairing does not slip. It is set again only when the median lag over the last `WINDOW`
    frames leaves [MIN_LAG, MAX_LAG] (a dropped block, an xrun, a clock that drifted), or when the
    reference stopped (nothing playing for `STALE` seconds).
    """

    # 30 ms: a burst's first block is stamped by the speaker's clock 10-20 ms before it arrives
    # (what the tests' devices do), so pairing closer than that would find it missing. Every real
    # echo path is longer (output buffer + air + input buffer: two 20 ms blocks at the least).
    TARGET_LAG = 0.030
    MIN_LAG = -0.010
    MAX_LAG = 0.070
    WINDOW = 50
    STALE = 0.5
    MAX_FRAMES = 300  # 3 s of reference kept: a listener further behind than that gets silence

    def __init__(self) -> None:
        self._buf: collections.deque[tuple[float, np.ndarray]] = collections.deque(maxlen=self.MAX_FRAMES)
        self._lags: collections.deque[float] = collections.deque(maxlen=self.WINDOW)
        self._synced = False
        self._owed = 0
        self._n = 0
        self.resyncs = 0
        self._zeros = np.zeros(FRAME, dtype=np.int16)

    def push(self, t_ref: float, frame: np.ndarray) -> None:
        if self._owed and self._synced:
            self._owed -= 1  # its mic frame was cleaned without it
            return
        self._buf.append((t_ref, frame))

    def pair(self, t_mic: float) -> tuple[np.ndarray, bool]:
        """The reference frame for the mic frame captured at t_mic, and whether the alignment was
        (re)set just now (the filter must then start again)."""
        jumped = False
        if not self._synced:
            while self._buf and self._buf[0][0] < t_mic - self.TARGET_LAG - FRAME_S / 2:
                self._buf.popleft()
            if not self._buf or self._buf[0][0] > t_mic + FRAME_S:
                return self._zeros, False  # nothing played yet for this moment
            self._synced = True
            self._owed = 0
            self._lags.clear()
            jumped = True
        if not self._buf:
            self._owed += 1
            if self._owed * FRAME_S > self.STALE:  # the speaker stopped calling back: start afresh when it does
                self._synced = False
                self._owed = 0
            return self._zeros, jumped
        t_ref, frame = self._buf.popleft()
        self._lags.append(t_mic - t_ref)
        self._n += 1
        if len(self._lags) == self.WINDOW and self._n % 10 == 0:
            med = float(np.median(self._lags))
            if not self.MIN_LAG <= med <= self.MAX_LAG:
                self._synced = False
                self.resyncs += 1
        return frame, jumped


class _Convergence:
    """Whether the linear canceller has learned the echo path well enough to be listened to.

    Over the last `FRAMES` frames in which the coach was playing, the linear canceller's echo
    return loss enhancement (ERLE: mic energy over output energy) must reach `GOOD_DB`, or come
    within `NEAR_DB` of AEC3's (when the echo is weak, neither can take it far below the room's
    floor). Once converged it stays so unless, over `LOST_FRAMES` frames of the coach playing,
    it falls below `LOST_DB` while AEC3 does `NEAR_DB` better: a person's word said over the
    coach lowers the measured ERLE too, and must not flip the recognizer back to AEC3, whose
    suppressor would eat it; a word lasts well under `LOST_FRAMES`.
    """

    FRAMES = 150
    GOOD_DB = 20.0
    NEAR_DB = 6.0
    LOST_FRAMES = 300
    LOST_DB = 10.0
    PLAYING_DB = -50.0  # reference level (dBFS) above which the coach counts as playing

    def __init__(self) -> None:
        self._e: collections.deque[tuple[float, float, float]] = collections.deque(maxlen=self.LOST_FRAMES)
        self.converged = False

    def reset(self) -> None:
        self._e.clear()
        self.converged = False

    def update(self, ref: np.ndarray, mic: np.ndarray, lin: np.ndarray, aec: np.ndarray) -> None:
        r = np.dot(ref.astype(np.float64), ref) / len(ref) / 32768.0**2
        if 10 * np.log10(r + 1e-12) < self.PLAYING_DB:
            return
        f = [float(np.dot(x.astype(np.float64), x)) + 1.0 for x in (mic, lin, aec)]
        self._e.append((f[0], f[1], f[2]))
        if self.converged:
            if len(self._e) == self.LOST_FRAMES:
                erle_lin, erle_aec = self._erle(self.LOST_FRAMES)
                if erle_lin < self.LOST_DB and erle_aec - erle_lin > self.NEAR_DB:
                    self.converged = False
                    self._e.clear()
        elif len(self._e) >= self.FRAMES:
            erle_lin, erle_aec = self._erle(self.FRAMES)
            self.converged = bool(erle_lin >= self.GOOD_DB or erle_lin >= erle_aec - self.NEAR_DB)

    def _erle(self, n: int) -> tuple[float, float]:
        last = list(self._e)[-n:]
        m, lin, aec = (sum(x[i] for x in last) for i in range(3))
        return float(10 * np.log10(m / lin)), float(10 * np.log10(m / aec))


class EchoCanceller:
    """Feed what the speaker played with `process_reverse`, and the microphone with `process`.

    Both take any chunk length of 16 kHz mono int16. `process` returns the cleaned audio for
    the whole 10 ms frames it has so far (a chunk that is a multiple of 160 samples comes back
    the same length, with no delay); `suppressed` then holds AEC3's output for the same frames.
    The two may be called from different threads: the speaker's callback feeds the reference
    while the listener cleans the microphone.

    Alignment: the reference is held back and handed to the cancellers only up to the capture
    time of each microphone frame, so a listener that falls behind (a slow recognizer) does not
    present them with reference audio from its future (what that costs is in
    docs/benchmarks/design_figures.md). Pass `captured_at` (monotonic time of the chunk's last
    sample, e.g. MicSource.last_capture_time) when reading from a queue; without it the chunk is
    taken as just captured. `played_at` likewise defaults to now, which is right when called from
    the speaker's callback.

    `delay_ms` is the expected playout-to-capture delay; AEC3 searches for the real one on its
    own, the hint only speeds convergence. `linear=False` uses AEC3 alone. `tail_ms` is how much
    echo (delay plus room) the linear filter covers.
    """

    # Reference older than this before the frame being cleaned is dropped, not fed in a burst:
    # AEC3's render buffer is meant to receive frames at the rate they play.
    MAX_REF_LAG = 0.5

    def __init__(self, *, delay_ms: int = 50, noise_suppression: bool = False, high_pass_filter: bool = True,
                 linear: bool = True, tail_ms: int = 400):
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
        # Two locks, so the speaker's callback never waits on a frame being cleaned: _ref_lock
        # guards only the reference queues (held for microseconds by both sides), _lock the
        # APM handle and speex, which only the listener's thread uses.
        self._ref_lock = threading.Lock()
        self._lock = threading.Lock()
        self._rev = _Framer()
        self._near = _Framer()
        self._ref: collections.deque[tuple[float, np.ndarray]] = collections.deque()
        self.dropped_reference_frames = 0
        lib = load_speexdsp() if linear else None
        self._speex = _SpeexEcho(lib, tail_ms) if lib else None
        self._lockstep = _Lockstep()
        self._ref_clock, self._mic_clock = _StreamClock(90), _StreamClock(10)
        self._ref_frames = self._mic_frames = 0
        self._convergence = _Convergence()
        self.suppressed = np.zeros(0, dtype=np.int16)

    @property
    def has_linear(self) -> bool:
        """Whether the linear canceller runs (libspeexdsp found and not turned off)."""
        return self._speex is not None

    @property
    def converged(self) -> bool:
        """Whether the recognizer now hears the linear canceller's output."""
        return self._convergence.converged

    @property
    def resyncs(self) -> int:
        return self._lockstep.resyncs

    def _frame(self, samples: np.ndarray):
        return self._rtc.AudioFrame(bytearray(samples.astype("<i2").tobytes()), SAMPLE_RATE, 1, FRAME)

    def process_reverse(self, played: np.ndarray, played_at: float | None = None) -> None:
        end = time.monotonic() if played_at is None else played_at
        with self._ref_lock:
            frames = self._rev.push(played)
            self._ref_clock.observe(end, len(played))
            for k, f in enumerate(frames):
                self._ref.append((end - (len(frames) - k - 1) * FRAME_S, f))
                if self._speex is not None:
                    self._ref_frames += 1
                    self._lockstep.push(self._ref_clock.at(self._ref_frames * FRAME), f)

    def process(self, mic: np.ndarray, captured_at: float | None = None) -> np.ndarray:
        end = time.monotonic() if captured_at is None else captured_at
        out, sup = [], []
        with self._lock:
            frames = self._near.push(mic)
            self._mic_clock.observe(end, len(mic))
            for k, f in enumerate(frames):
                t = end - (len(frames) - k - 1) * FRAME_S
                due = []
                with self._ref_lock:
                    while self._ref and self._ref[0][0] <= t:
                        t_ref, r = self._ref.popleft()
                        if t - t_ref > self.MAX_REF_LAG:
                            self.dropped_reference_frames += 1
                            continue
                        due.append(r)
                    if self._speex is not None:
                        self._mic_frames += 1
                        ref, jumped = self._lockstep.pair(self._mic_clock.at(self._mic_frames * FRAME))
                for r in due:
                    self._apm.process_reverse_stream(self._frame(r))
                frame = self._frame(f)
                # AEC3 expects the delay to be restated before every captured frame.
                self._apm.set_stream_delay_ms(self._delay_ms)
                self._apm.process_stream(frame)
                aec = np.frombuffer(bytes(frame.data), dtype=np.int16)
                sup.append(aec)
                if self._speex is None:
                    out.append(aec)
                    continue
                if jumped:  # a new alignment: what the filter learned no longer holds
                    self._speex.reset()
                    self._convergence.reset()
                lin = self._speex.process(f, ref)
                self._convergence.update(ref, f, lin, aec)
                out.append(lin if self._convergence.converged else aec)
        empty = np.zeros(0, dtype=np.int16)
        self.suppressed = np.concatenate(sup) if sup else empty
        return np.concatenate(out) if out else empty

    def close(self) -> None:
        with self._lock:
            if self._speex is not None:
                self._speex.close()
                self._speex = None

    def __del__(self) -> None:  # the speex state is C memory
        try:
            self.close()
        except Exception:  # noqa: BLE001  (interpreter shutdown)
            pass
