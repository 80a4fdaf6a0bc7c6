"""WAV files in and out: any rate, mono or stereo, 8/16/24/32-bit PCM or 32/64-bit float in;
mono int16 at 16 kHz out (resampled with soxr)."""

from __future__ import annotations

import struct
import wave
from pathlib import Path
from typing import Iterator

import numpy as np

from voice_coach.errors import UserError
from voice_coach.interfaces import SAMPLE_RATE

_WAVE_FORMAT_PCM = 1
_WAVE_FORMAT_FLOAT = 3
_WAVE_FORMAT_EXTENSIBLE = 0xFFFE


def read_wav(path: Path | str, rate: int = SAMPLE_RATE) -> np.ndarray:
    """The whole file as mono int16 at `rate` Hz. Bad or missing file -> UserError naming it."""
    data, file_rate = read_wav_native(path)
    return to_mono_int16(data, file_rate, rate)


def read_wav_native(path: Path | str) -> tuple[np.ndarray, int]:
    """(float32 samples shaped (frames, channels) in [-1, 1], sample rate) as stored in the file."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise UserError(f"no such WAV file: {path}") from None
    except OSError as e:
        raise UserError(f"cannot read WAV file {path}: {e.strerror or e}") from None
    try:
        return _parse(raw)
    except (ValueError, struct.error, EOFError) as e:
        raise UserError(f"not a readable WAV file: {path} ({e})") from None


def _parse(raw: bytes) -> tuple[np.ndarray, int]:
    if len(raw) < 12 or raw[:4] not in (b"RIFF", b"RF64") or raw[8:12] != b"WAVE":
        raise ValueError("no RIFF/WAVE header")
    pos = 12
    fmt = None
    data = None
    while pos + 8 <= len(raw):
        cid = raw[pos : pos + 4]
        size = struct.unpack("<I", raw[pos + 4 : pos + 8])[0]
        body = raw[pos + 8 : pos + 8 + size]
        if cid == b"fmt ":
            fmt = body
        elif cid == b"data":
            # Streamed WAVs may carry a bogus size (0 or 0xFFFFFFFF): take what is there.
            data = raw[pos + 8 :] if size in (0, 0xFFFFFFFF) else body
            if fmt is not None:
                break
        pos += 8 + size + (size & 1)
    if fmt is None or len(fmt) < 16:
        raise ValueError("no fmt chunk")
    if data is None:
        raise ValueError("no data chunk")
    tag, channels, rate, _, block_align, bits = struct.unpack("<HHIIHH", fmt[:16])
    if tag == _WAVE_FORMAT_EXTENSIBLE and len(fmt) >= 26:
        tag = struct.unpack("<H", fmt[24:26])[0]
    if channels < 1 or rate < 1000:
        raise ValueError(f"{channels} channels at {rate} Hz")
    width = bits // 8
    if width < 1 or block_align != width * channels:
        block_align = width * channels
    usable = len(data) - len(data) % block_align
    buf = data[:usable]
    if tag == _WAVE_FORMAT_PCM:
        if width == 1:
            x = (np.frombuffer(buf, np.uint8).astype(np.float32) - 128.0) / 128.0
        elif width == 2:
            x = np.frombuffer(buf, "<i2").astype(np.float32) / 32768.0
        elif width == 3:
            b = np.frombuffer(buf, np.uint8).reshape(-1, 3).astype(np.int32)
            v = b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)
            v = np.where(v >= 1 << 23, v - (1 << 24), v)
            x = v.astype(np.float32) / float(1 << 23)
        elif width == 4:
            x = (np.frombuffer(buf, "<i4").astype(np.float64) / 2147483648.0).astype(np.float32)
        else:
            raise ValueError(f"unsupported PCM width {bits} bits")
    elif tag == _WAVE_FORMAT_FLOAT:
        if width == 4:
            x = np.frombuffer(buf, "<f4").astype(np.float32)
        elif width == 8:
            x = np.frombuffer(buf, "<f8").astype(np.float32)
        else:
            raise ValueError(f"unsupported float width {bits} bits")
        x = np.nan_to_num(np.clip(x, -1.0, 1.0))
    else:
        raise ValueError(f"unsupported WAV format tag {tag:#x}")
    return x.reshape(-1, channels), rate


def to_mono_int16(samples: np.ndarray, rate: int, out_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Float or int16 samples, shaped (frames,) or (frames, channels), to mono int16 at out_rate."""
    x = np.asarray(samples)
    if x.dtype == np.int16:
        x = x.astype(np.float32) / 32768.0
    x = x.astype(np.float32, copy=False)
    if x.ndim == 2:
        x = x.mean(axis=1)
    if rate != out_rate and len(x):
        import soxr

        x = soxr.resample(x, rate, out_rate, quality="HQ")
    return np.clip(np.round(x * 32767.0), -32768, 32767).astype(np.int16)


def wav_to_chunks(audio: Path | str | np.ndarray, chunk_ms: int = 20, rate: int = SAMPLE_RATE) -> Iterator[np.ndarray]:
    """A file (or an array already at `rate`) as successive mono int16 chunks of `chunk_ms` ms;
    the last one may be shorter. As Wyoming's wav_to_chunks: the file twin of a microphone."""
    if chunk_ms <= 0:
        raise ValueError("chunk_ms must be positive")
    pcm = audio if isinstance(audio, np.ndarray) else read_wav(audio, rate)
    step = max(1, rate * chunk_ms // 1000)
    for i in range(0, len(pcm), step):
        yield pcm[i : i + step]


def write_wav(path: Path | str, pcm: np.ndarray, rate: int = SAMPLE_RATE) -> None:
    """Write int16 (or float in [-1, 1]) samples, mono (frames,) or (frames, channels), as 16-bit PCM."""
    x = np.asarray(pcm)
    if x.dtype != np.int16:
        x = np.clip(np.round(x.astype(np.float64) * 32767.0), -32768, 32767).astype(np.int16)
    channels = 1 if x.ndim == 1 else x.shape[1]
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with wave.open(str(path), "wb") as w:
            w.setnchannels(channels)
            w.setsampwidth(2)
            w.setframerate(int(rate))
            w.writeframes(x.astype("<i2").tobytes())
    except OSError as e:
        raise UserError(f"cannot write WAV file {path}: {e.strerror or e}") from None
