"""Echo cancellation on a simulated echo path: the coach's voice must go, the person's "stop" must stay.

Numbers from this setup (16 kHz, 10 ms frames, espeak-ng line "Hold the pressure steady. If you
feel numbness or tingling, say stop, and I will stop."): WebRTC AEC3 takes the echo down 30-36 dB
for echo delays 30-120 ms at 0 and -6 dB echo gain, unchanged with the listener 0.2-0.8 s behind,
and a real "stop" 10-16 dB below the echo keeps its level within about 1-5 dB two seconds into
the line. The level tests assert looser bounds.

Once AEC3 has converged it is another matter: a real "stop" said 15 s into the coach's speech is
taken down 11-57 dB by its residual-echo suppressor, and the default recognizer heard 0 of 12.
So the canceller switches to libspeexdsp's linear filter once that has converged (ERLE about
25-28 dB at -6 and -12 dB echo gain), which leaves the person's word whole: the test of that case
below was a strict xfail before. The coach's own lines, with their "stop", "numbness" and
"tingling", must still not come through as anything urgent.
"""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from audio_helpers import SR, STOP_DIR, db, echo_path, espeak, mix, read_wav, run_aec

lk = pytest.importorskip("livekit.rtc", reason="echo cancellation needs livekit")
pytestmark = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="needs espeak-ng")

from voice_coach.audio.echo_cancel import EchoCanceller, load_speexdsp  # noqa: E402

LINE = "Hold the pressure steady. If you feel numbness or tingling, say stop, and I will stop."


@pytest.fixture(scope="module")
def far():
    return np.concatenate([espeak(LINE), np.zeros(SR // 2, np.int16)])


@pytest.mark.parametrize("delay_ms", [30, 120])
def test_echo_is_removed(far, delay_ms):
    mic = mix(echo_path(far, delay_ms=delay_ms, gain_db=0))
    out = run_aec(EchoCanceller(), far, mic)
    erle = db(mic[SR : len(out)]) - db(out[SR:])
    assert erle > 20, erle


@pytest.mark.parametrize("backlog_ms", [200, 800])
def test_a_listener_that_lags_keeps_the_echo_removed(far, backlog_ms):
    mic = mix(echo_path(far, delay_ms=70, gain_db=0))
    out = run_aec(EchoCanceller(), far, mic, backlog_ms=backlog_ms)
    assert db(mic[SR : len(out)]) - db(out[SR:]) > 20


def test_near_end_stop_survives_double_talk(far):
    stop_files = sorted(STOP_DIR.glob("*.wav"))
    if not stop_files:
        pytest.skip("no stop recordings in shared/")
    echo = echo_path(far, delay_ms=70, gain_db=-6)
    pos = 2 * SR
    kept = []
    for p in stop_files[:5]:
        s = read_wav(p)[:SR]
        ne = np.zeros(len(far))
        ne[pos : pos + len(s)] = s
        seg = slice(pos, pos + len(s))
        with_echo = run_aec(EchoCanceller(), far, mix(echo, ne))[seg].astype(float)
        alone = run_aec(EchoCanceller(), np.zeros_like(far), mix(ne))[seg].astype(float)
        kept.append(db(with_echo) - db(alone))
        # what is left in the stop's slot is mostly the stop, not the coach
        corr = np.dot(with_echo, alone) / np.sqrt(np.dot(with_echo, with_echo) * np.dot(alone, alone))
        assert corr > 0.1, (p.name, corr)
    assert np.median(kept) > -10, kept


needs_speex = pytest.mark.skipif(load_speexdsp() is None, reason="needs libspeexdsp (apt-get install libspeexdsp1)")


@pytest.mark.slow
@needs_speex
def test_stop_over_the_coachs_speech_is_heard_after_the_canceller_converged(far):
    """Twelve real speakers say stop 15 s into the coach's speech; the default recognizer listens.

    Measured: 12/12 (AEC3 alone: 0/12); on 20 other speakers 18-19/20 at -6 and -12 dB echo gain and
    60 or 250 ms delay. The bar is 11 of 12: a test that can fail, not a tuned figure."""
    from voice_coach.intents import load_phrasebook
    from voice_coach.paths import default_content_dir
    from voice_coach.recognizers import make_recognizer

    stop_files = sorted(STOP_DIR.glob("*.wav"))[::4][:12]
    if len(stop_files) < 12:
        pytest.skip("no stop recordings in shared/")
    phrases = load_phrasebook(default_content_dir() / "phrases.toml")
    rec = make_recognizer(None, None, phrases)
    line = far[: -SR // 2]
    played = np.concatenate([line] * (20 * SR // len(line) + 1))[: 20 * SR]
    echo = echo_path(played, delay_ms=70, gain_db=-6)
    pos = 15 * SR
    heard = []
    for p in stop_files:
        s = read_wav(p)[:SR]
        ne = np.zeros(len(played))
        ne[pos : pos + len(s)] = s
        ec = EchoCanceller()
        out = run_aec(ec, played, mix(echo, ne))
        assert ec.converged, p.name  # the recognizer heard the linear canceller, not AEC3
        rec.reset()
        window = out[pos - SR : pos + 3 * SR]
        texts = [t.text for i in range(0, len(window), 1600) for t in rec.accept(window[i : i + 1600])]
        texts += [t.text for t in rec.flush()]
        heard.append(any(i.name == "stop" for t in texts for i in phrases.parse(t)))
    assert sum(heard) >= 11, f"stop heard over the coach in {sum(heard)}/12"


@pytest.mark.slow
@needs_speex
@pytest.mark.parametrize("gain_db,delay_ms", [(-6, 60), (-12, 250)])
def test_the_coachs_own_lines_never_sound_urgent_through_the_canceller(gain_db, delay_ms):
    """Every routine line that holds an urgent-sounding word ("stop", "numbness", "tingling",
    "sharp", "pain"...), played back to back through the echo path, the canceller and the default
    recognizer: no transcript may mean stop, pause or a red flag, before or after the linear
    filter took over. Measured: 0 urgent in 98 transcripts (-6 dB, 60 ms; 189 s of speech) and
    in 23 (-12 dB, 250 ms); most transcripts of the residual echo are empty."""
    import re

    from voice_coach.paths import default_content_dir
    from voice_coach.recognizers import make_recognizer
    from voice_coach.routine import coach_lines, load_content
    from voice_coach.understand import urgent

    content = load_content(default_content_dir())
    lines = [x for x in coach_lines(content.routine) if re.search(r"stop|numb|tingl|sharp|pain|wait|hard|agon|radiat", x, re.I)]
    assert len(lines) >= 20
    played = np.concatenate([np.concatenate([espeak(x), np.zeros(SR // 4, np.int16)]) for x in lines[:40]])
    mic = mix(echo_path(played, delay_ms=delay_ms, gain_db=gain_db))
    rec = make_recognizer(None, None, content.phrases)
    ec = EchoCanceller()
    out = run_aec(ec, played, mic)
    texts = [t.text for i in range(0, len(out), 1600) for t in rec.accept(out[i : i + 1600])] + [t.text for t in rec.flush()]
    assert ec.converged
    hits = [t for t in texts if urgent(content.phrases.parse(t)) is not None]
    assert not hits, hits


@pytest.mark.parametrize("linear", [True, False])
def test_any_chunk_length_and_threads(far, linear):
    ec = EchoCanceller(linear=linear)
    ec.process_reverse(far[:250])
    out = ec.process(far[:250])
    assert len(out) == 160 and len(ec.suppressed) == 160  # whole 10 ms frames only; the rest waits for the next chunk
    out = ec.process(far[250:320])
    assert len(out) == 160
    ec.close()
    ec.close()  # twice is harmless


@needs_speex
def test_the_linear_canceller_takes_over_only_once_it_has_converged(far):
    """Before convergence the recognizer hears AEC3 (the same samples as `suppressed`); after, the
    linear output, which is not AEC3's."""
    played = np.concatenate([far] * 4)
    mic = mix(echo_path(played, delay_ms=70, gain_db=-6))
    ec = EchoCanceller()
    assert ec.has_linear and not ec.converged
    first, switched, last = [], [], []

    def each(i, out):
        if not ec.converged:
            first.append(np.array_equal(out, ec.suppressed))
        elif not switched:
            switched.append(i / SR)
        last[:] = [np.array_equal(out, ec.suppressed)]

    run_aec(ec, played, mic, each=each)
    assert all(first) and switched and switched[0] < 15, switched  # measured 10.5 s
    assert ec.resyncs == 0
    assert last == [False]


@needs_speex
def test_a_reference_that_slips_is_realigned():
    """The speaker's callbacks stop for 300 ms and resume later than their timestamps said: the
    lockstep pairing notices the lag has left its window and sets it again, and the filter starts
    over (it does not go on listening to a filter learned for the old alignment)."""
    rng = np.random.default_rng(3)
    played = (rng.standard_normal(12 * SR) * 3000).astype(np.int16)
    mic = mix(echo_path(played, delay_ms=60, gain_db=-6))
    ec = EchoCanceller()
    # from 6 s on, the reference's clock reads 300 ms late
    run_aec(ec, played, mic, ref_late=lambda i: 0.3 if i >= 6 * SR else 0.0)
    assert ec.resyncs >= 1
