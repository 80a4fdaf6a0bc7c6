"""Barge-in: the person's voice onset while the coach speaks, never the coach's own echo.

Two tests must both pass, on every 32 ms window of the raw microphone signal (before echo
cancellation, which would take the person's voice down with the echo):

1. Silero VAD says voice (voice_coach/audio/vad.py);
2. the double-talk rule (`EchoGate`): the window is louder than the coach's echo can explain.
   The echo can only be as loud as what the speaker played in the last `max_delay_s` (plus its
   room tail) times the echo path's gain. That gain is learned, not assumed: it is the median,
   over the last few seconds of the coach speaking, of the microphone level minus the reference
   envelope, a figure the person's occasional words cannot move far. Voice counts only when it is
   `margin_db` above that.

When the coach is silent, the VAD alone gives onset. Everything here is pure: audio in, events
out, time counted in samples; devices and threads stay at the edge.
"""

from __future__ import annotations

import collections
from dataclasses import dataclass, field

import numpy as np

from voice_coach.audio.vad import WINDOW, OnsetDetector, SileroVad
from voice_coach.interfaces import SAMPLE_RATE

SUB = SAMPLE_RATE // 100  # the reference envelope's resolution: 10 ms
SILENT_DB = -60.0  # dBFS below which the speaker is taken as silent


def _db(x: np.ndarray) -> float:
    x = np.asarray(x, dtype=np.float64) / 32768.0
    return float(10 * np.log10(np.mean(x * x) + 1e-12))


@dataclass
class EchoGate:
    """How far (dB) a microphone window stands above the echo the coach's playback explains."""

    max_delay_s: float = 0.35  # playout-to-capture delay covered (measured rigs: 60-300 ms)
    tail_db_per_s: float = 300.0  # the envelope's fall: 60 dB in 200 ms, a small room's RT60
    history_s: float = 6.0  # coach speech the echo gain is learned over
    margin_db: float = 8.0
    default_gain_db: float = 0.0  # before anything is learned: assume the echo as loud as played
    _env: collections.deque = field(default_factory=collections.deque)  # per 10 ms ref envelope (dB)
    _rest: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int16))
    _ratios: collections.deque = field(default_factory=collections.deque)

    def __post_init__(self) -> None:
        self._env = collections.deque(maxlen=int(self.max_delay_s * 100) + WINDOW // SUB + 2)
        self._ratios = collections.deque(maxlen=int(self.history_s * SAMPLE_RATE / WINDOW))

    def push_reference(self, played: np.ndarray) -> None:
        """What the speaker played, in capture order (silence when nothing plays)."""
        x = np.concatenate([self._rest, np.asarray(played, dtype=np.int16).reshape(-1)])
        n = len(x) // SUB * SUB
        self._rest = x[n:]
        fall = self.tail_db_per_s / 100
        for i in range(0, n, SUB):
            level = _db(x[i : i + SUB])
            prev = self._env[-1] if self._env else -120.0
            self._env.append(max(level, prev - fall))

    def echo_db(self) -> float:
        """The loudest echo the recent playback could give at the mic, before the path gain."""
        return max(self._env) if self._env else -120.0

    @property
    def gain_db(self) -> float:
        return float(np.median(self._ratios)) if len(self._ratios) >= 8 else self.default_gain_db

    def excess_db(self, mic_window: np.ndarray) -> float:
        """dB above the explainable echo (inf when the speaker has been silent)."""
        ref = self.echo_db()
        if ref < SILENT_DB:
            return float("inf")
        level = _db(mic_window)
        excess = level - (ref + self.gain_db)
        self._ratios.append(level - ref)
        return excess


@dataclass
class ResidualGate:
    """How far (dB) the echo canceller's output stands above its own floor.

    AEC3 takes the coach's echo down to the room's floor (measured: 99.9% of 32 ms windows within
    2.4 dB of it, over 85 s of the routine at echo gains 0 to -12 dB); what it cannot explain as
    echo is left standing, even when its residual suppressor takes a person's word down by tens
    of dB. The floor is the `floor_pct` percentile of the output's window levels over the last
    `history_s` seconds."""

    history_s: float = 3.0
    floor_pct: float = 10.0
    margin_db: float = 12.0
    _levels: collections.deque = field(default_factory=collections.deque)

    def __post_init__(self) -> None:
        self._levels = collections.deque(maxlen=int(self.history_s * SAMPLE_RATE / WINDOW))

    def excess_db(self, cleaned_window: np.ndarray) -> float:
        level = _db(cleaned_window)
        floor = float(np.percentile(self._levels, self.floor_pct)) if len(self._levels) >= 8 else level
        self._levels.append(level)
        return level - floor


@dataclass(frozen=True)
class VoiceEvent:
    kind: str  # "onset" | "offset"
    sample: int  # microphone sample index at the end of the window that decided it
    during_playback: bool


class BargeIn:
    """Feed the raw microphone and the playback reference chunk by chunk (same chunking, same
    clock); get voice onsets (duck the coach) and offsets."""

    # With the canceller's output: voice must also be voice there (at this lower bar, since the
    # residual suppressor distorts it), so that music or room sound left by the canceller while the
    # coach's echo fills the raw signal is not taken for a person.
    CLEANED_ON = 0.25

    def __init__(self, vad: SileroVad | None = None, gate: EchoGate | None = None, detector: OnsetDetector | None = None,
                 residual: ResidualGate | None = None, cleaned_vad: SileroVad | None = None, cleaned_on: float | None = None):
        self.vad = vad or SileroVad()
        self._cleaned_vad = cleaned_vad
        # 0 turns the second VAD off (residual level alone: more stops caught, more false ducks).
        self.cleaned_on = self.CLEANED_ON if cleaned_on is None else cleaned_on
        self.gate = gate or EchoGate()
        self.residual = residual or ResidualGate()
        self._clean_rest = np.zeros(0, np.int16)
        self.detector = detector or OnsetDetector()
        self._mic_rest = np.zeros(0, np.int16)
        self.samples = 0
        self.last_prob = 0.0
        self.last_excess = float("inf")

    def reset(self) -> None:
        self.vad.reset()
        if self._cleaned_vad is not None:
            self._cleaned_vad.reset()
        self._clean_rest = np.zeros(0, np.int16)
        self.detector = OnsetDetector(self.detector.on, self.detector.off, self.detector.onset_windows, self.detector.offset_s)
        self._mic_rest = np.zeros(0, np.int16)

    def push(self, mic: np.ndarray, played: np.ndarray | None = None, cleaned: np.ndarray | None = None,
             playing: bool | None = None) -> list[VoiceEvent]:
        """mic: raw microphone; played: what the speaker played over the same span; cleaned: the
        echo canceller's output for the same span. With `cleaned`, double talk is judged by what
        the canceller could not explain (ResidualGate); without it, by level against the
        playback's envelope (EchoGate). playing: whether the coach is speaking, when the caller
        knows it better than the reference envelope does (the live listener has no aligned
        reference; the canceller holds it)."""
        mic = np.asarray(mic, dtype=np.int16).reshape(-1)
        self.gate.push_reference(played if played is not None else np.zeros(len(mic), np.int16))
        x = np.concatenate([self._mic_rest, mic])
        probs = self.vad.accept(mic)
        n = len(probs) * WINDOW
        windows = [x[i * WINDOW : (i + 1) * WINDOW] for i in range(len(probs))]
        self._mic_rest = x[n:]
        cw: list[np.ndarray] = []
        if cleaned is not None:
            c = np.concatenate([self._clean_rest, np.asarray(cleaned, dtype=np.int16).reshape(-1)])
            cw = [c[i * WINDOW : (i + 1) * WINDOW] for i in range(len(probs))]
            self._clean_rest = c[n:]
            if self.cleaned_on > 0 and self._cleaned_vad is None:
                self._cleaned_vad = SileroVad()
            cprobs = [self._cleaned_vad.accept(w)[0] if self.cleaned_on > 0 else 1.0 for w in cw]
        out = []
        start = self.samples - (len(x) - len(mic))
        for k, (p, w) in enumerate(zip(probs, windows, strict=False)):
            excess = self.gate.excess_db(w)
            now_playing = excess != float("inf") if playing is None else playing
            if cleaned is not None:
                residual = self.residual.excess_db(cw[k])
                passes = residual >= self.residual.margin_db and cprobs[k] >= self.cleaned_on
            else:
                passes = excess >= self.gate.margin_db
            voiced = p if (not now_playing or passes) else 0.0
            self.last_prob, self.last_excess = p, excess
            ev = self.detector.push(voiced)
            if ev:
                out.append(VoiceEvent(ev, start + (k + 1) * WINDOW, now_playing))
        self.samples += len(mic)
        return out
