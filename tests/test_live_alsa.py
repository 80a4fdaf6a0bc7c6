"""The live coach end to end through the real audio stack: `voice-coach run` in a child process,
sounddevice and PortAudio for real, ALSA file devices as microphone and speaker.

The test listens to the child's event log and answers through the microphone FIFO with
synthesized speech or real recordings, the way a person in the room would.
"""

from __future__ import annotations

import queue
import subprocess
import sys
import time

import numpy as np
import pytest

from audio_helpers import SR, STOP_DIR, AlsaRig, LiveMic, _has_libasound, espeak, read_wav
from benchmarks.rig import start_json_pump
from tests.tolerance import patience

pytestmark = [
    pytest.mark.audio,
    pytest.mark.skipif(not _has_libasound(), reason="needs libasound2 (apt-get install libasound2)"),
    pytest.mark.timeout(180),
]


class LiveCoach:
    """`voice-coach run` on the rig's devices, with its event log read line by line."""

    def __init__(self, rig: AlsaRig, *args: str, pad_speaker: bool = False):
        self.rig = rig
        rig.drain(SR, pad=pad_speaker)
        cmd = [sys.executable, "-m", "voice_coach", "run", "--input", "vc_mic", "--output", "vc_spk", "--events", "-", "--voice", "espeak", *args]
        self.p = subprocess.Popen(cmd, env=rig.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.events: list[dict] = []
        self._q: queue.Queue = queue.Queue()
        start_json_pump(self.p.stdout, self._q, stamp="wall")

    def wait_for(self, pred, timeout: float = 60) -> dict:
        deadline = time.monotonic() + patience(timeout)
        for ev in self.events:
            if pred(ev):
                return ev
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"timed out; events so far: {[(e['type'], e.get('key') or e.get('text')) for e in self.events][-15:]}")
            try:
                ev = self._q.get(timeout=left)
            except queue.Empty:
                continue
            if ev is None:
                raise AssertionError(f"coach exited ({self.p.poll()}) first; stderr: {self.p.stderr.read()[-2000:]}")
            self.events.append(ev)
            if pred(ev):
                return ev

    def said(self, key: str, timeout: float = 60) -> dict:
        return self.wait_for(lambda e: e["type"] == "say" and e.get("key") == key, timeout)

    def finish(self, timeout: float = 60) -> int:
        try:
            rc = self.p.wait(timeout=patience(timeout))
        except subprocess.TimeoutExpired:
            self.p.kill()
            raise AssertionError("coach did not exit") from None
        while (ev := self._q.get(timeout=5)) is not None:
            self.events.append(ev)
        return rc

    def kill(self) -> None:
        if self.p.poll() is None:
            self.p.kill()


@pytest.fixture
def rig(tmp_path):
    r = AlsaRig(tmp_path)
    yield r
    r.close()


def speak(text: str) -> np.ndarray:
    pcm = espeak(text)
    return np.concatenate([np.zeros(SR // 5, np.int16), pcm, np.zeros(SR // 2, np.int16)])


def wait_quiet(rig: AlsaRig, quiet: float = 1.0, timeout: float = 60, since: int | None = None) -> None:
    """Until the speaker has played `quiet` seconds of silence, after speech that came after byte
    `since` of its output if given: the coach has said what it had queued and finished talking.
    (Its lines are queued at once but synthesized one by one; the silence before the first
    is no end of anything.)"""
    deadline = time.monotonic() + patience(timeout)
    n = int(quiet * SR) * 2
    spoke = since is None
    while time.monotonic() < deadline:
        if not spoke:
            new = np.frombuffer(bytes(rig.received[since - since % 2 :]), dtype="<i2")
            spoke = bool(len(new)) and np.abs(new.astype(np.int32)).max() >= 1000
        tail = np.frombuffer(bytes(rig.received[-n:]), dtype="<i2")
        if spoke and len(tail) * 2 >= n and np.abs(tail.astype(np.int32)).max() < 300:
            return
        time.sleep(0.05)
    raise AssertionError("the coach never spoke and fell quiet")


def answer(coach: "LiveCoach", mic: LiveMic, text: str, then: str, tries: int = 3, rephrase: tuple[str, ...] = ()) -> None:
    """Say `text` once the coach is quiet, and again if it did not catch it, as a person would:
    the second time in other words if `rephrase` gives some (Whisper tiny hears espeak's lone
    "ready" as "Rev it" some of the time: which words it gets right is the benchmark's business)."""
    since = len(coach.rig.received)  # the line that asked was queued just now: wait for it to be spoken
    words = [text, *rephrase]
    k = lost = 0
    while k < tries:
        wait_quiet(coach.rig, since=since)
        seen = len(coach.events)
        since = len(coach.rig.received)
        dropped = mic.dropped
        mic.say(speak(words[k % len(words)]))
        try:
            ev = coach.wait_for(lambda e: e["type"] == "say" and e.get("key") in (then, "control.not_understood", "control.help"), timeout=10)
        except AssertionError:  # heard nothing at all, so it says nothing: say it again
            ev, since = None, None
        if ev is not None and ev["key"] == then:
            return
        if ev is not None:
            del coach.events[seen:]  # forget the misheard turn, keep listening from here
        if mic.dropped > dropped and lost < 5:
            lost += 1  # the rig lost some of the words (the coach's process fell 2 s behind the mic): not a try
            continue
        k += 1
    raise AssertionError(f"{text!r} was never understood ({mic.dropped} mic blocks dropped by the rig)")


def test_a_spoken_session_through_real_devices(rig):
    """Welcome, preparation, "ready", screening, a "yes" to fever: declined, exit 4."""
    mic = LiveMic(rig)
    coach = LiveCoach(rig, "--rate", "260")
    try:
        coach.said("preparation.prompt")
        answer(coach, mic, "ready", then="screening.fever", rephrase=("ready now", "we are ready"))
        answer(coach, mic, "yes", then="screening.declined")
        rc = coach.finish()
    finally:
        coach.kill()
        mic.close()
    assert rc == 4
    types = [e["type"] for e in coach.events]
    assert types[-1] == "end" and coach.events[-1]["outcome"] == "declined"
    heard = [e["text"].lower() for e in coach.events if e["type"] == "heard" and e["final"]]
    assert any("ready" in h for h in heard) and any("yes" in h for h in heard)
    speech = np.frombuffer(bytes(rig.received), dtype="<i2")
    loud = np.abs(speech.astype(np.int32)) > 1000
    assert loud.sum() > SR  # the coach really spoke: over a second of audible samples reached the speaker


@pytest.mark.parametrize("echo_db,barge_in", [(None, False), (-6, False), (-6, True)], ids=["no-echo", "echo", "echo-barge-in"])
def test_stop_while_the_coach_speaks_silences_it(rig, echo_db, barge_in):
    """Real recorded "stop"s over the coach's speech: the speaker goes quiet, the session pauses.

    With echo, the coach's own voice comes back into the microphone (-6 dB, 60 ms, a fixed path)
    and the stop is said some 15 s into its speech, at a peak like that of the echo, after the echo canceller's linear filter has
    converged on it: the case where WebRTC AEC3's suppressor used to swallow the word. The
    coach's own "say stop" in its welcome must not pause it. With barge-in, the coach first
    falls quiet at the voice onset, then the stop pauses the session.

    Like a person, the test says stop again if the coach did not hear it; which recordings the
    recognizer gets right is the benchmark's business, not this test's.
    """
    clips = sorted(STOP_DIR.glob("*.wav"))[:4]
    if not clips:
        pytest.skip("shared recordings not available")
    args = ["--rate", "170"] + (["--barge-in"] if barge_in else [])
    coach = LiveCoach(rig, *args, pad_speaker=echo_db is not None)
    mic = LiveMic(rig, echo_from=rig if echo_db is not None else None, echo_gain_db=echo_db or 0)
    pause = None
    try:
        if echo_db is None:
            coach.said("preparation.lines[0]")
        else:
            coach.said("preparation.lines[2]")  # ~15 s of the coach speaking, its echo in the mic
        time.sleep(1.0)  # well into the coach's speech
        assert not any(e["type"] == "pause" for e in coach.events), "the coach paused on its own echo"
        for clip in clips:
            word = read_wav(clip)
            if echo_db is not None:
                # Spoken toward the device about as loud as its speaker reaches the mic (the
                # recordings' own levels span 30 dB; the quietest are the benchmark's business).
                word = (word.astype(np.float64) * (12000 / max(1, int(np.abs(word.astype(np.int32)).max())))).astype(np.int16)
            mic.say(np.concatenate([word, np.zeros(SR // 2, np.int16)]))
            try:
                pause = coach.wait_for(lambda e: e["type"] == "pause", timeout=6)
                break
            except AssertionError:
                continue
        assert pause is not None, "no stop was heard over the coach's speech"
        said_end = max((end for _, end in mic.said_at if end <= pause["wall"]), default=pause["wall"])
        at_pause = len(rig.received)
        time.sleep(6.0)
        after = np.frombuffer(bytes(rig.received[at_pause:]), dtype="<i2")
    finally:
        coach.kill()
        mic.close()
    assert pause["reason"] == "stop"
    # Once paused the coach says one line, "Paused. Say resume when you're ready.", and nothing of
    # what it was saying before: the audio after the pause holds no more speech than that line.
    from voice_coach.audio.tts import EspeakCliSynthesizer

    line = EspeakCliSynthesizer(rate=170).synthesize("Paused. Say resume when you're ready.")
    blocks = len(after) // 320
    loud = np.abs(after[: blocks * 320].astype(np.int32)).reshape(blocks, 320).max(axis=1) > 1000
    assert loud.sum() * 0.02 < len(line) / SR + 0.6, f"{loud.sum() * 0.02:.1f} s of speech after the pause"
    assert pause["wall"] - said_end < patience(10.0)  # only that it comes: the benchmark measures the latency


def test_a_dead_microphone_pauses_and_says_so_then_ends(rig):
    mic = LiveMic(rig)
    coach = LiveCoach(rig, "--rate", "260", "--deaf-timeout", "4")
    try:
        coach.said("preparation.prompt")
        mic.stall()
        stalled_at = time.monotonic()
        fault = coach.wait_for(lambda e: e["type"] == "fault", timeout=15)
        pause = coach.wait_for(lambda e: e["type"] == "pause")
        said = coach.said("faults.mic_stalled")
        rc = coach.finish(timeout=40)
        stderr = coach.p.stderr.read()
    finally:
        coach.kill()
        mic.close()
    assert fault["wall"] - stalled_at < patience(3.0)
    assert (fault["source"], fault["code"]) == ("mic", "stalled")
    assert pause["reason"] == "cannot_hear" and "can't hear" in said["text"]
    assert rc == 6  # EXIT_FAILED: the session ended `failed`, not `quit`
    assert "microphone stayed dead" in stderr and "Traceback" not in stderr
