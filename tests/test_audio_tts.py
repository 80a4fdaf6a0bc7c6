"""The synthesizer: real pyttsx3/espeak-ng output, and the guard against pyttsx3 hanging."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import numpy as np
import pytest

from voice_coach.audio import tts
from voice_coach.audio.tts import EspeakCliSynthesizer, Pyttsx3Synthesizer, SilentSynthesizer
from voice_coach.errors import UserError
from voice_coach.interfaces import SAMPLE_RATE, Synthesizer
from tests.tolerance import patience

TESTS = str(Path(__file__).parent)
needs_espeak = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="needs espeak-ng")


def fake(factory: str, tmp_path, **kw) -> Pyttsx3Synthesizer:
    return Pyttsx3Synthesizer(
        engine_factory=f"audio_fake_engines:{factory}",
        worker_env={"PYTHONPATH": TESTS, "FAKE_TTS_MARK": str(tmp_path / "mark")},
        startup_grace=2.0,
        **kw,
    )


def test_hanging_engine_times_out_with_a_user_error(tmp_path):
    s = fake("hanging", tmp_path, timeout=0.5)
    t = time.monotonic()
    with pytest.raises(UserError, match="hung"):
        s.synthesize("Press gently.")
    # two fresh workers, each 0.5 s plus 2 s of start-up grace, then give up
    assert time.monotonic() - t < patience(8)
    assert s.hangs == 2
    s.close()


def test_hanging_engine_falls_back(tmp_path):
    s = fake("hanging", tmp_path, timeout=0.5, fallback=SilentSynthesizer())
    pcm = s.synthesize("Press gently.")
    assert s.used_fallback and len(pcm) > 0 and pcm.dtype == np.int16
    s.close()


def test_engine_that_hangs_on_second_render_is_replaced(tmp_path):
    s = fake("hangs_on_second", tmp_path, timeout=1.0)
    a = s.synthesize("first")
    assert len(a) == pytest.approx(0.5 * SAMPLE_RATE, abs=50)
    b = s.synthesize("second")  # the worker hangs; a fresh one renders it
    assert len(b) > 0 and s.hangs == 1
    s.close()


def test_cache_and_resampling_with_a_good_fake(tmp_path):
    s = fake("good", tmp_path)
    a = s.synthesize("hello there")
    assert a.dtype == np.int16 and len(a) == pytest.approx(0.22 * SAMPLE_RATE, rel=0.02)  # 22.05k -> 16k
    assert s.synthesize("hello there") is a  # the routine repeats lines: served from the cache
    assert s.list_voices()[1]["id"] == "gmw/en-us"
    s.close()


def test_voice_choice_by_id_name_or_part(tmp_path):
    assert fake("good", tmp_path, voice="gmw/en-us").voice == "gmw/en-us"
    assert fake("good", tmp_path, voice="English (America)").voice == "gmw/en-us"
    assert fake("good", tmp_path, voice="america").voice == "gmw/en-us"
    assert fake("good", tmp_path, voice="en").voice == "gmw/en"  # id tail
    with pytest.raises(UserError, match="no voice"):
        fake("good", tmp_path, voice="klingon")


def test_bad_rate_and_volume_are_user_errors(tmp_path):
    with pytest.raises(UserError, match="volume"):
        fake("good", tmp_path, volume=2.0)
    with pytest.raises(UserError, match="rate"):
        fake("good", tmp_path, rate=5)


def test_missing_espeak_names_the_fix(monkeypatch):
    monkeypatch.setattr(tts.ctypes.util, "find_library", lambda name: None)
    monkeypatch.setattr(tts.shutil, "which", lambda name: None)
    with pytest.raises(UserError, match=r"sudo apt-get install espeak-ng"):
        Pyttsx3Synthesizer()
    with pytest.raises(UserError, match=r"sudo apt-get install espeak-ng"):
        EspeakCliSynthesizer()


@needs_espeak
def test_real_pyttsx3_renders_several_lines_with_rate_and_volume():
    s = Pyttsx3Synthesizer(voice="en-us", rate=150, volume=0.5, timeout=30)  # generous: CI machines are loaded
    assert isinstance(s, Synthesizer)
    lines = ["Press gently.", "If you feel numbness or tingling, say stop.", "Breathe out slowly."]
    outs = [s.synthesize(t) for t in lines]
    for t, a in zip(lines, outs, strict=True):
        assert a.dtype == np.int16 and a.ndim == 1
        assert 0.3 * len(t) / 15 < len(a) / SAMPLE_RATE < 3 * len(t) / 15 + 1  # ~15 chars/s at 150 wpm
        assert np.abs(a).max() > 1000
    loud = Pyttsx3Synthesizer(voice="en-us", rate=150, volume=1.0, timeout=30).synthesize(lines[0])
    assert np.abs(loud).max() > 1.4 * np.abs(outs[0]).max()  # volume is applied
    fast = Pyttsx3Synthesizer(voice="en-us", rate=300, timeout=30).synthesize(lines[1])
    assert len(fast) < 0.85 * len(outs[1])  # rate is applied (pauses do not shrink)
    assert s.hangs == 0
    s.close()


@needs_espeak
def test_espeak_cli_twin():
    a = EspeakCliSynthesizer(rate=175).synthesize("Say stop at any time.")
    assert a.dtype == np.int16 and 0.8 < len(a) / SAMPLE_RATE < 3


def test_silent_twin_length_follows_text():
    s = SilentSynthesizer()
    assert len(s.synthesize("a" * 100)) == int(6.0 * SAMPLE_RATE)
    assert s.spoken == ["a" * 100]
