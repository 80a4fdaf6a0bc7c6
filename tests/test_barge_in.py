"""Barge-in components on real recordings: Silero VAD (voice_coach/audio/vad.py), the double-talk
rules and onset detection (voice_coach/audio/barge_in.py), Voice.interrupt. Offline, no devices."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from benchmarks.audio import echo_path, floor_noise, pad, read_wav, shared_dir
from voice_coach.audio.barge_in import BargeIn, EchoGate
from voice_coach.audio.vad import WINDOW, OnsetDetector, SileroVad

SHARED = shared_dir()
pytestmark = pytest.mark.skipif(not (SHARED / "speech").is_dir(), reason="shared recordings not available")


def stops(n=10):
    return sorted((SHARED / "speech" / "commands" / "stop").glob("*.wav"))[:n]


def feed(b, mic, played=None, cleaned=None, playing=None):
    out = []
    for i in range(0, len(mic), 320):
        out += b.push(mic[i : i + 320], None if played is None else played[i : i + 320],
                      None if cleaned is None else cleaned[i : i + 320], playing)
    return out


@pytest.fixture(scope="module")
def vad():
    return SileroVad()


def test_vad_finds_real_words_and_not_the_quiet_room(vad):
    hits = 0
    for f in stops():
        vad.reset()
        d = OnsetDetector()
        x = pad(read_wav(f), 0.3, 0.5)
        hits += any(d.push(p) == "onset" for i in range(0, len(x), 320) for p in vad.accept(x[i : i + 320]))
    assert hits >= 9
    vad.reset()
    quiet = np.clip(floor_noise(16000 * 5, 1, db=-60), -32768, 32767).astype(np.int16)
    assert max(vad.accept(quiet)) < 0.5


def test_vad_gives_one_probability_per_32ms_whatever_the_chunking(vad):
    x = read_wav(stops(1)[0])
    vad.reset()
    whole = vad.accept(x)
    vad.reset()
    parts = [p for i in range(0, len(x), 333) for p in vad.accept(x[i : i + 333])]
    assert len(whole) == len(x) // WINDOW and np.allclose(whole, parts, atol=1e-5)


def test_onset_needs_two_windows_and_offset_needs_quiet():
    d = OnsetDetector()
    assert [d.push(p) for p in (0.9, 0.1, 0.9)] == [None, None, None]
    assert d.push(0.9) == "onset"
    assert [d.push(0.1) for _ in range(9)] == [None] * 9  # 288 ms of quiet: still voice
    assert d.push(0.1) == "offset"  # 320 ms


def test_the_coachs_own_echo_does_not_duck_it_but_a_person_does():
    """The coach's speech through the echo path, alone: with the AEC3 output as evidence, almost
    never a duck; a real stop said over it: an onset."""
    from benchmarks.barge_in import aec, coach_track, word_start

    coach = coach_track(Path(__file__).resolve().parent.parent / "content")[: 60 * 16000]
    mic = np.clip(echo_path(coach, gain_db=-6, delay_ms=60, seed=3) + floor_noise(len(coach), 3, db=-60), -32768, 32767).astype(np.int16)
    ducks = [e for e in feed(BargeIn(), mic, cleaned=aec(mic, coach)[1], playing=True) if e.kind == "onset"]
    # Measured 0-2 in 4.9 min over six echo settings (docs/benchmarks/barge_in.md); in this minute:
    assert len(ducks) <= 1
    # Without the canceller's evidence (VAD alone on the raw mic) the echo ducks it again and again:
    raw_only = [e for e in feed(BargeIn(), mic, playing=False) if e.kind == "onset"]
    assert len(raw_only) >= 10
    heard = 0
    for i, f in enumerate(stops(6)):
        clip = read_wav(f).astype(np.float64)
        lead = 10 * 16000
        played = coach[16000 * (5 + 4 * i) :][: lead + len(clip) + 16000]
        person = np.zeros(len(played))
        person[lead : lead + len(clip)] = clip
        m = np.clip(echo_path(played, gain_db=-12, delay_ms=60, seed=i) + person + floor_noise(len(played), i, db=-60), -32768, 32767).astype(np.int16)
        w0 = lead + word_start(clip)
        heard += any(e.kind == "onset" and e.sample >= w0 - 1600 for e in feed(BargeIn(), m, cleaned=aec(m, played)[1], playing=True))
    assert heard >= 3


def test_echo_gate_learns_the_echo_gain():
    rng = np.random.default_rng(0)
    g = EchoGate()
    for _ in range(200):
        ref = (rng.standard_normal(512) * 3000).astype(np.int16)
        g.push_reference(ref)
        g.excess_db((ref * 0.25).astype(np.int16))  # the echo 12 dB down
    assert -14 < g.gain_db < -10


def test_voice_interrupt_gives_back_the_unfinished_lines():
    import threading

    from voice_coach.voice import Voice

    started = threading.Event()

    class Sink:
        playing = False

        def play(self, pcm):
            self.playing = True
            started.set()

        def cancel(self):
            self.playing = False

        def is_playing(self):
            return self.playing

        def close(self):
            pass

    class Synth:
        def synthesize(self, text):
            return np.zeros(160, np.int16)

    v = Voice(Synth(), Sink())
    v.say("first line.")
    v.say("second line.")
    assert started.wait(5)
    assert v.interrupt() == ["first line.", "second line."]
    assert v.wait_idle(5)
    v.close()
