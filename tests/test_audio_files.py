"""The file-backed twins of the microphone and speaker."""

from __future__ import annotations

import time

import numpy as np
import pytest

from voice_coach.audio import AudioFault
from voice_coach.audio.files import WavFileSink, WavFileSource, read_wav, wav_to_chunks, write_wav
from voice_coach.interfaces import SAMPLE_RATE, AudioSink, AudioSource
from tests.tolerance import patience


def tone(secs: float, rate: int = SAMPLE_RATE) -> np.ndarray:
    t = np.arange(int(secs * rate)) / rate
    return (8000 * np.sin(2 * np.pi * 300 * t)).astype(np.int16)


def test_wav_roundtrip_resamples_and_downmixes(tmp_path):
    import wave

    p = tmp_path / "st.wav"
    a = tone(1.0, 48000)
    with wave.open(str(p), "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(48000)
        w.writeframes(np.repeat(a, 2).astype("<i2").tobytes())
    b = read_wav(p)
    assert len(b) == SAMPLE_RATE and np.abs(b).max() > 7000
    write_wav(tmp_path / "m.wav", b)
    assert np.array_equal(read_wav(tmp_path / "m.wav"), b)
    chunks = list(wav_to_chunks(b, 20))
    assert len(chunks) == 50 and all(len(c) == 320 for c in chunks)


def test_source_delivers_then_ends():
    src = WavFileSource(tone(0.5))
    assert isinstance(src, AudioSource)
    src.start()
    got = []
    while (c := src.read(0.05)) is not None:
        got.append(c)
    assert sum(map(len, got)) == 8000 and src.exhausted


def test_source_realtime_pacing_and_speed():
    src = WavFileSource(tone(0.4), realtime=True, speed=2.0)
    src.start()
    t = time.monotonic()
    while src.read(0.5) is not None:
        pass
    assert 0.15 < time.monotonic() - t < patience(0.5)


def test_source_stall_raises_fault_after_watchdog_time():
    src = WavFileSource(tone(2.0), stall_after=0.2, stall_timeout=1.0, speed=4.0)
    src.start()
    n = 0
    t = None
    with pytest.raises(AudioFault) as e:
        while True:
            c = src.read(0.1)
            if c is not None:
                n += len(c)
                t = time.monotonic()
    assert e.value.reason == "stalled"  # the line the coach says for it is content: routine.toml [faults]
    assert n == int(0.2 * SAMPLE_RATE)
    assert 0.2 <= time.monotonic() - t < 0.6  # 1 s watchdog at 4x speed


def test_sink_records_plays_and_cancels(tmp_path):
    sink = WavFileSink(tmp_path / "out.wav", speed=10.0)
    assert isinstance(sink, AudioSink)
    sink.play(tone(2.0))
    sink.play(tone(1.0))  # queued behind the first
    assert sink.is_playing()
    time.sleep(0.05)  # 0.5 s on the sink's clock
    sink.cancel()
    sink.cancel()  # any number of times
    assert not sink.is_playing()
    heard = sink.audio()
    loud = np.nonzero(np.abs(heard) > 100)[0]
    assert 0.4 * SAMPLE_RATE < loud[-1] < 0.9 * SAMPLE_RATE
    kinds = [e.kind for e in sink.events]
    assert kinds == ["play", "play", "cancel", "cancel"]
    assert sink.events[2].samples > 2 * SAMPLE_RATE  # the rest of line one and all of line two
    sink.close()
    assert len(read_wav(tmp_path / "out.wav")) == len(heard)


def test_sink_lines_finish_on_their_own():
    sink = WavFileSink(speed=20.0)
    sink.play(tone(1.0))
    time.sleep(0.08)
    assert not sink.is_playing()
    assert len(sink.audio()) >= SAMPLE_RATE
