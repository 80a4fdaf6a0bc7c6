"""Echo cancellation on a simulated echo path: the coach's voice must go, the person's "stop" must stay.

Numbers from this setup (WebRTC AEC3 via livekit, 16 kHz, 10 ms frames), espeak-ng line
"Hold the pressure steady. If you feel numbness or tingling, say stop, and I will stop.":
ERLE 30-36 dB for echo delays 30-120 ms at 0 and -6 dB echo gain, unchanged with the listener
0.2-0.8 s behind; a real "stop" 10-16 dB below the echo keeps its level within about 1-5 dB
(median -4.8 dB over 20 speakers). speexdsp's canceller on the same setup: 1.5-9 dB ERLE.
The test asserts looser bounds.
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


def test_any_chunk_length_and_threads(far):
    ec = EchoCanceller()
    ec.process_reverse(far[:250])
    out = ec.process(far[:250])
    assert len(out) == 160  # whole 10 ms frames only; the rest waits for the next chunk
    out = ec.process(far[250:320])
    assert len(out) == 160
