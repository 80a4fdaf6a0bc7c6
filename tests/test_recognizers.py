from pathlib import Path

import numpy as np
import pytest

from voice_coach.errors import UserError
from voice_coach.intents import load_phrasebook
from voice_coach.interfaces import Recognizer, Transcript
from voice_coach.paths import default_content_dir
from voice_coach.recognizers import ScriptedRecognizer, find_english_vosk_model, make_recognizer
from voice_coach.wav_io import wav_to_chunks

STOP_CLIPS = Path(__file__).resolve().parents[2] / "shared" / "speech" / "commands" / "stop"


@pytest.fixture(scope="module")
def phrasebook():
    return load_phrasebook(default_content_dir() / "phrases.toml")


def test_scripted_recognizer_emits_at_offsets():
    r = ScriptedRecognizer([(0.25, "stop"), (1.0, "seven")])
    assert isinstance(r, Recognizer)
    chunk = np.zeros(1600, np.int16)  # 0.1 s
    out = [r.accept(chunk) for _ in range(5)]
    assert out[0] == out[1] == []
    assert out[2] == [Transcript("stop", False, 1.0), Transcript("stop", True, 1.0)]
    assert r.flush() == [Transcript("seven", True, 1.0)]


def test_default_engine_is_whisper_without_vosk_model(tmp_path, phrasebook):
    rec = make_recognizer(None, None, phrasebook, models_dir=tmp_path)
    assert rec.name == "whisper"


def test_default_engine_falls_back_to_pocketsphinx_without_whisper(tmp_path, phrasebook, monkeypatch):
    from voice_coach.recognizers import whisper_engine

    monkeypatch.setattr(whisper_engine, "available", lambda: False)
    assert make_recognizer(None, None, phrasebook, models_dir=tmp_path).name == "pocketsphinx"


def test_english_vosk_model_detection(tmp_path):
    assert find_english_vosk_model(tmp_path) is None
    (tmp_path / "vosk-model-small-ko-0.22" / "am").mkdir(parents=True)
    assert find_english_vosk_model(tmp_path) is None
    (tmp_path / "vosk-model-small-en-us-0.15" / "am").mkdir(parents=True)
    assert find_english_vosk_model(tmp_path).name == "vosk-model-small-en-us-0.15"


def test_default_engine_prefers_vosk_when_installed(tmp_path, phrasebook):
    # A model folder that looks English but is broken: selection picks vosk, loading says how to fix.
    (tmp_path / "vosk-model-small-en-us-0.15" / "am").mkdir(parents=True)
    with pytest.raises(UserError) as e:
        make_recognizer(None, None, phrasebook, models_dir=tmp_path)
    assert "vosk-model-small-en-us-0.15" in e.value.message
    assert "voice-coach models download" in e.value.message


def test_vosk_missing_model_names_the_fix(tmp_path, phrasebook):
    with pytest.raises(UserError) as e:
        make_recognizer("vosk", None, phrasebook, models_dir=tmp_path)
    msg = e.value.message
    assert "voice-coach models download" in msg and "--model" in msg and "\n" not in msg
    with pytest.raises(UserError) as e:
        make_recognizer("vosk", tmp_path / "nowhere", phrasebook)
    assert "nowhere" in e.value.message and "--model" in e.value.message


def test_vosk_broken_model_names_the_fix(tmp_path, phrasebook):
    broken = tmp_path / "vosk-model-broken"
    (broken / "am").mkdir(parents=True)
    (broken / "conf").mkdir()
    (broken / "am" / "final.mdl").write_bytes(b"garbage")
    with pytest.raises(UserError) as e:
        make_recognizer("vosk", broken, phrasebook)
    assert "voice-coach models download" in e.value.message and "\n" not in e.value.message


def test_unknown_engine(phrasebook):
    with pytest.raises(UserError):
        make_recognizer("deepspeech", None, phrasebook)


def test_pocketsphinx_vocabulary_handles_oov(phrasebook):
    rec = make_recognizer("pocketsphinx", None, phrasebook)
    alts = set(rec.alternatives)
    assert "stop" in alts and "seven" in alts
    assert "don't" in " ".join(alts)  # "i dont" mapped to the dictionary spelling
    assert any(a.startswith("tingl") for a in alts)  # stem "tingl*" expanded
    assert "out of 10" in rec.skipped  # digits are not dictionary words


@pytest.mark.skipif(not STOP_CLIPS.is_dir(), reason="shared recordings not available")
def test_pocketsphinx_streams_partials_before_final(phrasebook):
    rec = make_recognizer("pocketsphinx", None, phrasebook)
    clips = sorted(STOP_CLIPS.glob("*.wav"))[:10]
    seen_partial_first = 0
    for clip in clips:
        rec.reset()
        events = []
        for chunk in wav_to_chunks(clip, 30):
            events += rec.accept(chunk)
        events += rec.flush()
        finals = [i for i, t in enumerate(events) if t.final]
        partials = [i for i, t in enumerate(events) if not t.final]
        assert len(finals) >= 1
        if partials and partials[0] < finals[0]:
            seen_partial_first += 1
            assert all(isinstance(t.text, str) for t in events)
    assert seen_partial_first >= 5
