"""Echo cancellation on a simulated echo path: the coach's voice must go, the person's "stop" must stay.

Numbers from this setup (WebRTC AEC3 via livekit, 16 kHz, 10 ms frames), espeak-ng line
"Hold the pressure steady. If you feel numbness or tingling, say stop, and I will stop.":
ERLE 30-36 dB for echo delays 30-120 ms at 0 and -6 dB echo gain, unchanged with the listener
0.2-0.8 s behind; a real "stop" 10-16 dB below the echo keeps its level within about 1-5 dB
(median -4.8 dB over 20 speakers) two seconds into the line. The level tests assert looser bounds.

Once AEC3 has converged it is another matter: a real "stop" said 15 s into the coach's speech
is taken down 11-57 dB by its residual-echo suppressor, and the default recognizer heard 0 of
12. That case is a strict xfail below, the known barge-in limit. (libspeexdsp's linear
canceller heard 11 of the same 12 offline, but only 3-7 of 50 in the real-time ALSA rig, so it
is not used yet; branch experiment/speex-echo.)
"""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from audio_helpers import SR, STOP_DIR, db, echo_path, espeak, mix, read_wav, run_aec

lk = pytest.importorskip("livekit.rtc", reason="echo cancellation needs livekit")
pytestmark = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="needs espeak-ng")

from voice_coach.audio.echo_cancel import EchoCanceller  # noqa: E402

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


@pytest.mark.slow
@pytest.mark.xfail(strict=True, reason="known barge-in limit: AEC3's suppressor swallows a stop said over the converged coach (0/12)")
def test_stop_over_the_coachs_speech_is_heard_after_the_canceller_converged(far):
    """Twelve real speakers say stop 15 s into the coach's speech; the default recognizer listens."""
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
        out = run_aec(EchoCanceller(), played, mix(echo, ne))
        rec.reset()
        window = out[pos - SR : pos + 3 * SR]
        texts = [t.text for i in range(0, len(window), 1600) for t in rec.accept(window[i : i + 1600])]
        texts += [t.text for t in rec.flush()]
        heard.append(any(i.name == "stop" for t in texts for i in phrases.parse(t)))
    assert sum(heard) >= 9, f"stop heard over the coach in {sum(heard)}/12"


def test_any_chunk_length_and_threads(far):
    ec = EchoCanceller()
    ec.process_reverse(far[:250])
    out = ec.process(far[:250])
    assert len(out) == 160  # whole 10 ms frames only; the rest waits for the next chunk
    out = ec.process(far[250:320])
    assert len(out) == 160
