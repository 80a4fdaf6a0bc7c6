"""Audio helpers for the benchmark: data sets, exact SNR mixing, a simulated echo path, espeak-ng.

Everything is mono int16 at 16 kHz. Nothing here imports the tests.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

SR = 16_000
FRAME = SR // 50  # 20 ms, the listener's chunk


def shared_dir() -> Path:
    """../shared next to the repo root, or $VOICE_COACH_SHARED."""
    env = os.environ.get("VOICE_COACH_SHARED")
    if env:
        return Path(env)
    import voice_coach

    return Path(voice_coach.__file__).resolve().parents[2] / "shared"


def read_wav(path: Path | str) -> np.ndarray:
    from voice_coach.wav_io import read_wav as _read

    return _read(path)


# --- levels and mixing ---------------------------------------------------------------------


def active_power(x: np.ndarray, floor_db: float = 40.0) -> float:
    """Mean power of the active part: 20 ms frames within `floor_db` of the loudest frame.

    Speech clips are mostly silence around a short word; the SNR of a mix is defined against
    the speech while it is spoken, not averaged over the silence around it.
    """
    x = np.asarray(x, dtype=np.float64)
    n = len(x) // FRAME
    if n == 0:
        return float(np.mean(x**2)) if len(x) else 0.0
    frames = x[: n * FRAME].reshape(n, FRAME)
    p = np.mean(frames**2, axis=1)
    top = p.max()
    if top <= 0:
        return 0.0
    return float(np.mean(p[p >= top * 10 ** (-floor_db / 10)]))


def scale_noise(speech: np.ndarray, noise: np.ndarray, snr_db: float) -> np.ndarray:
    """`noise` (float64) scaled so that active_power(speech) / mean power(noise) is exactly snr_db."""
    ps = active_power(speech)
    pn = float(np.mean(np.asarray(noise, dtype=np.float64) ** 2))
    if pn <= 0 or ps <= 0:
        return np.zeros(len(noise))
    return np.asarray(noise, dtype=np.float64) * np.sqrt(ps / (pn * 10 ** (snr_db / 10)))


def mix_at_snr(speech: np.ndarray, noise: np.ndarray, snr_db: float | None) -> np.ndarray:
    """speech + noise at snr_db (None: speech alone), both the same length, clipped to int16."""
    s = np.asarray(speech, dtype=np.float64)
    if snr_db is None:
        return np.clip(s, -32768, 32767).astype(np.int16)
    n = scale_noise(speech, noise[: len(s)], snr_db)
    return np.clip(s + n, -32768, 32767).astype(np.int16)


def noise_segment(noise: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """n samples from a random offset of `noise` (looped if shorter)."""
    if len(noise) < n:
        noise = np.tile(noise, n // len(noise) + 1)
    start = int(rng.integers(0, len(noise) - n + 1))
    return noise[start : start + n]


def pad(pcm: np.ndarray, lead: float, tail: float) -> np.ndarray:
    return np.concatenate([np.zeros(int(lead * SR), np.int16), np.asarray(pcm, np.int16), np.zeros(int(tail * SR), np.int16)])


def floor_noise(n: int, seed: int, db: float = -66.0) -> np.ndarray:
    """A faint room/mic noise floor, so 'clean' is never digital silence."""
    return np.random.default_rng(seed).standard_normal(n) * 32768 * 10 ** (db / 20)


def word_end(pcm: np.ndarray, floor_db: float = 25.0) -> int:
    """Sample index just after the last 10 ms frame within floor_db of the loudest frame."""
    x = np.asarray(pcm, dtype=np.float64)
    f = SR // 100
    n = len(x) // f
    if n == 0:
        return len(x)
    p = np.mean(x[: n * f].reshape(n, f) ** 2, axis=1)
    loud = np.nonzero(p >= p.max() * 10 ** (-floor_db / 10))[0]
    return int((loud[-1] + 1) * f)


def db(x: np.ndarray) -> float:
    return float(10 * np.log10(np.mean(np.asarray(x, dtype=np.float64) ** 2) + 1e-9))


# --- simulated echo path (a copy of the tests' model, vectorised) ---------------------------


def echo_path(played: np.ndarray, *, delay_ms: float = 70, gain_db: float = -6, seed: int = 0) -> np.ndarray:
    """What a mic near a small speaker hears of `played`: delayed, band-limited, reverberant, attenuated.

    Same model as tests/audio_helpers.echo_path: one-pole low-pass at 3.5 kHz (here as its
    impulse response, truncated where it falls below 1e-12), a direct path plus an exponential
    noise tail (RT60 about 200 ms), a delay, and a gain.
    """
    rng = np.random.default_rng(seed)
    x = np.asarray(played, dtype=np.float64)
    a = np.exp(-2 * np.pi * 3500 / SR)
    k = int(np.ceil(np.log(1e-12) / np.log(a)))
    lp = (1 - a) * a ** np.arange(k)
    n = int(0.25 * SR)
    t = np.arange(n) / SR
    tail = rng.standard_normal(n) * np.exp(-6.9 * t / 0.2) * 0.25
    tail[0] = 1.0
    h = np.convolve(lp, tail)
    y = _fftconvolve(x, h)[: len(x)]
    d = int(delay_ms * SR / 1000)
    y = np.concatenate([np.zeros(d), y])[: len(x)]
    return y * 10 ** (gain_db / 20)


def _fftconvolve(x: np.ndarray, h: np.ndarray) -> np.ndarray:
    n = len(x) + len(h) - 1
    size = 1 << (n - 1).bit_length()
    return np.fft.irfft(np.fft.rfft(x, size) * np.fft.rfft(h, size), size)[:n]


# --- synthetic speech -----------------------------------------------------------------------


def espeak(text: str, voice: str = "en-us", wpm: int = 170) -> np.ndarray:
    """espeak-ng's command line, 16 kHz int16 (the coach's own EspeakCliSynthesizer; voice "" and
    wpm 0 mean espeak's defaults)."""
    from voice_coach.audio.tts import EspeakCliSynthesizer

    return np.array(EspeakCliSynthesizer(voice=voice or None, rate=wpm or None, timeout=60).synthesize(text))


# --- data sets ------------------------------------------------------------------------------

DIGIT_WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
TARGET_WORDS = {"stop", "yes", "no", *DIGIT_WORDS}


@dataclass(frozen=True)
class Clip:
    path: str
    set: str  # stop | yes | no | cmd_digit | fsdd_digit | negative
    truth: str  # the word said
    speaker: str


def _speaker(name: str) -> str:
    m = re.match(r"(?:v2_)?([0-9a-f]+)_nohash", name)
    return m.group(1) if m else name


def command_clips(shared: Path) -> list[Clip]:
    root = shared / "speech" / "commands"
    out = []
    for d in sorted(p for p in root.iterdir() if p.is_dir()):
        w = d.name
        kind = "stop" if w == "stop" else w if w in ("yes", "no") else "cmd_digit" if w in DIGIT_WORDS else "negative"
        for f in sorted(d.glob("*.wav")):
            out.append(Clip(str(f), kind, w, _speaker(f.name)))
    return out


def fsdd_clips(shared: Path) -> list[Clip]:
    out = []
    for f in sorted((shared / "speech" / "digits").glob("*.wav")):
        digit, speaker, _n = f.stem.split("_")
        out.append(Clip(str(f), "fsdd_digit", DIGIT_WORDS[int(digit)], speaker))
    return out


def sample(clips: list[Clip], n: int, seed: int, key=lambda c: c.truth) -> list[Clip]:
    """About n clips, spread evenly over the groups given by key, fixed seed."""
    if n >= len(clips):
        return list(clips)
    rng = np.random.default_rng(seed)
    groups: dict[str, list[Clip]] = {}
    for c in clips:
        groups.setdefault(key(c), []).append(c)
    per = max(1, n // len(groups))
    out = []
    for k in sorted(groups):
        g = groups[k]
        idx = rng.permutation(len(g))[:per]
        out += [g[i] for i in sorted(idx)]
    return out
