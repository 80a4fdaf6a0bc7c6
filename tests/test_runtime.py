"""The runtime: the system lane before the data lane, a stop at the voice before any journal
write, lines spoken only once the journal has them, voice faults, button presses, voice onset."""

import threading
import time

import numpy as np
import pytest

from tests.tolerance import patience
from voice_coach.clock import FakeClock
from voice_coach.driver import SessionDriver
from voice_coach.events import Heard, Pressed, SpeechDone, Tick, VoiceOnset
from voice_coach.interfaces import Transcript
from voice_coach.runtime import Runtime
from voice_coach.understand import Understanding


class RecordingVoice:
    def __init__(self, log):
        self.log = log

    def say(self, text):
        self.log.append(("say", text))

    def cancel(self):
        self.log.append(("cancel",))

    @property
    def speaking(self):
        return False


class BlockingJournal:
    """A journal on a disk that hangs until released; records what it committed."""

    def __init__(self, log):
        self.log = log
        self.release = threading.Event()
        self.entered = threading.Event()

    def batch(self, records):
        self.entered.set()
        assert self.release.wait(patience(5))
        self.log += [("journal", r["type"]) for r in records]


def build(content, journal=None, threaded=True):
    log = []
    driver = SessionDriver(content, FakeClock())
    rt = Runtime(driver, RecordingVoice(log), Understanding(content.phrases), journal=journal, threaded_journal=threaded)
    return rt, log


def test_the_system_lane_is_drained_before_the_data_lane(content):
    rt, log = build(content, threaded=False)
    rt.start()
    rt.step()
    log.clear()
    rt.post(SpeechDone())
    rt.post(Heard("ready"))  # an answer: data lane
    rt.post(Transcript("stop", final=False))  # posted last, handled first
    rt.step()
    assert log[0] == ("cancel",)
    s = rt.driver.session
    assert s.paused and s.phase_name == "preparation"  # "ready" came after the stop: not taken
    assert rt.journal_stage.flush(patience(2))


def test_a_stop_reaches_the_voice_before_any_journal_write(content):
    log = []
    journal = BlockingJournal(log)
    rt, _ = build(content, journal)
    rt.voice.log = log
    rt.start()
    assert journal.entered.wait(patience(2))  # the journal is stuck on the welcome
    rt.post(Transcript("stop", final=False))
    rt.step()
    assert log[0] == ("cancel",) and not [e for e in log if e[0] == "journal"]
    journal.release.set()
    assert rt.journal_stage.flush(patience(5))
    rt.step()
    # Nothing said before the stop is spoken after it; the "Paused" line is, once committed.
    said = [e[1] for e in log if e[0] == "say"]
    assert said == ["Paused. Say resume when you're ready."]
    assert log.index(("journal", "pause")) < log.index(("say", said[0]))
    rt.close()


def test_lines_are_spoken_only_after_the_journal_has_them(content):
    log = []
    journal = BlockingJournal(log)
    rt, _ = build(content, journal)
    rt.voice.log = log
    rt.start()
    rt.step()
    assert not [e for e in log if e[0] == "say"]
    journal.release.set()
    assert rt.journal_stage.flush(patience(5))
    rt.step()
    first_say = next(i for i, e in enumerate(log) if e[0] == "say")
    assert ("journal", "say") in log[:first_say]
    rt.close()


def test_a_button_stop_and_resume_go_through_the_system_lane(content):
    rt, log = build(content, threaded=False)
    rt.start()
    rt.step()
    rt.post(Heard("ready"))
    rt.post(Pressed("stop"))
    rt.step()
    assert rt.driver.session.paused and ("cancel",) in log
    rt.post(Pressed("resume"))
    rt.step()
    assert not rt.driver.session.paused


def test_voice_onset_holds_the_next_line_until_words_or_a_second(content):
    now = [0.0]
    log = []
    driver = SessionDriver(content, FakeClock())
    rt = Runtime(driver, RecordingVoice(log), Understanding(content.phrases), threaded_journal=False, monotonic=lambda: now[0])
    rt.start()
    rt.post(VoiceOnset())
    rt.step()
    held = [e for e in log if e[0] == "say"]
    assert held == []
    now[0] = 1.5
    rt.post(Tick())
    rt.step()
    assert [e for e in log if e[0] == "say"]



class SilentSink:
    def play(self, pcm):
        pass

    def cancel(self):
        pass

    def is_playing(self):
        return False


def voiced_runtime(content, synthesizer, voice_options, **runtime_options):
    """A real Voice (on a silent sink) wired to the runtime as live.py wires it; every record seen."""
    from voice_coach.voice import Voice

    seen = []
    driver = SessionDriver(content, FakeClock())
    box = {}
    voice = Voice(synthesizer, SilentSink(), on_idle=lambda: box["rt"].speech_done(), on_error=lambda e: box["rt"].voice_failed(e),
                  on_spoken=lambda: box["rt"].voice_works(), **voice_options)
    rt = box["rt"] = Runtime(driver, voice, Understanding(content.phrases), acks=[seen.append], voice_retry_seconds=0.05, **runtime_options)
    return driver, voice, rt, seen

def test_a_voice_that_keeps_failing_pauses_then_ends_the_session_failed(content, tmp_path):
    """A real Voice whose synthesizer always raises, on the runtime. Before, the failure was posted
    as a microphone fault: the coach said "I can't hear you: the voice failed (<exception>).
    Please check the microphone", then "No more input", and the session ended `quit`."""
    class Broken:
        def synthesize(self, text):
            raise RuntimeError("espeak: device busy")

    driver, voice, rt, seen = voiced_runtime(content, Broken(), dict(retry_after=0.01), voice_give_up_seconds=0.5)
    rt.start()
    done = threading.Event()
    threading.Thread(target=lambda: (rt.run(), done.set()), daemon=True).start()
    assert done.wait(patience(10))
    rt.finish(speech_timeout=1.0)
    voice.close()
    rt.close()
    s = driver.session
    assert s.outcome == "failed" and driver.exit_code == 6
    faults = [r for r in seen if r["type"] == "fault"]
    assert faults and faults[0]["source"] == "voice" and "device busy" in faults[0]["detail"]
    pauses = [r for r in seen if r["type"] == "pause"]
    assert pauses[0]["reason"] == "voice_failed"
    said = " ".join(r["text"] for r in seen if r["type"] == "say")
    assert "device busy" not in said and "microphone" not in said
    assert "My voice failed" in said


@pytest.mark.parametrize("text", ["stop", "it's tingling"])
def test_an_urgent_transcript_judged_on_the_posting_thread_goes_to_the_system_lane(content, text):
    rt, _ = build(content, threaded=False)
    rt.post(Transcript(text, final=True))
    assert len(rt._system) == 1 and not rt._data


def test_a_non_urgent_transcript_is_judged_before_the_dispatcher_sees_it(content):
    rt, _ = build(content, threaded=False)
    calls = []
    rt.post(Transcript("six", final=True, again=lambda: calls.append(1) or "sticks"))
    (heard,) = rt._data
    assert calls == [1] and heard.sure is False


def test_a_voice_that_fails_once_comes_back_and_the_session_waits_for_resume(content):
    """One failure: pause, say so, try again; when the voice works, say so; resume goes on."""
    class Flaky:
        calls = 0

        def synthesize(self, text):
            Flaky.calls += 1
            if Flaky.calls == 3:
                raise RuntimeError("espeak: device busy")
            return np.zeros(16, np.int16)

    driver, voice, rt, seen = voiced_runtime(content, Flaky(), dict(retries=0))
    rt.start()
    deadline = time.monotonic() + patience(5)
    while not any(r.get("key") == "faults.voice_back" for r in seen):
        assert time.monotonic() < deadline, [r.get("key") for r in seen]
        rt.step(0.02)
    assert driver.session.paused and not driver.session.mute
    rt.post(Heard("resume"))
    rt.step()
    assert not driver.session.paused and driver.session.outcome is None
    voice.close()
    rt.close()


class SpeakingVoice(RecordingVoice):
    """A voice in the middle of a line: interrupt() gives back what had not finished."""

    def __init__(self, log):
        super().__init__(log)
        self.unfinished = ["Press with your thumb. Say stop at any time."]

    @property
    def speaking(self):
        return bool(self.unfinished)

    def interrupt(self):
        self.log.append(("interrupt",))
        lines, self.unfinished = self.unfinished, []
        return lines


def _barge_in_runtime(content):
    now = [0.0]
    log = []
    rt = Runtime(SessionDriver(content, FakeClock()), SpeakingVoice(log), Understanding(content.phrases), threaded_journal=False, monotonic=lambda: now[0])
    rt.start()
    rt.step()
    log.clear()
    return rt, log, now


def test_voice_onset_over_the_coach_silences_it_and_the_line_resumes_from_its_start(content):
    rt, log, now = _barge_in_runtime(content)
    rt.post(VoiceOnset())
    rt.step()
    assert log == [("interrupt",)]  # quiet at once, nothing said yet
    now[0] = 0.5
    rt.post(Tick())
    rt.step()
    assert ("say", "Press with your thumb. Say stop at any time.") not in log  # still listening
    now[0] = 1.01  # nothing urgent within the hold: the interrupted line again, from its start
    rt.post(Tick())
    rt.step()
    assert ("say", "Press with your thumb. Say stop at any time.") in log
    assert rt.interruptions == 1


def test_words_that_are_not_urgent_resume_the_line_at_once(content):
    rt, log, now = _barge_in_runtime(content)
    rt.post(VoiceOnset())
    rt.step()
    now[0] = 0.3
    rt.post(Transcript("mm hmm", final=True))
    rt.step()
    assert ("say", "Press with your thumb. Say stop at any time.") in log


def test_an_urgent_word_after_onset_drops_the_interrupted_line_and_pauses(content):
    rt, log, now = _barge_in_runtime(content)
    rt.post(VoiceOnset())
    rt.step()
    now[0] = 0.3
    rt.post(Transcript("stop", final=False))
    rt.step()
    now[0] = 2.0
    rt.post(Tick())
    rt.step()
    assert ("say", "Press with your thumb. Say stop at any time.") not in log
    assert rt.driver.session.paused


def test_the_session_step_reaches_the_understanding_of_an_answer(content):
    """The runtime tells the understanding stage the step the session is in after every event, so
    an answer is decoded with its question; at a step with none, nothing is decoded again."""
    rt, _ = build(content, threaded=False)
    asked = []
    tr = Transcript("Sex.", final=True, in_context=lambda step: asked.append(step) or Transcript("6", final=True))
    rt.start()
    rt.step()
    assert rt.step_now == rt.driver.session.step() == "ready"  # preparation: no question to decode with
    rt.post(tr)
    assert asked == [] and rt._data.pop().text == "Sex."
    rt.step_now = "rating"
    rt.post(tr)
    assert asked == ["rating"] and rt._data.pop().text == "6"
    rt.post(Transcript("stop", final=True))
    rt.step()
    assert rt.driver.session.paused and rt.step_now is None  # paused: "resume" is no answer to decode as one


def test_an_answer_heard_as_urgent_only_with_its_question_takes_the_system_lane(content):
    rt, _ = build(content, threaded=False)
    rt.step_now = "rating"
    rt.post(Transcript("Sex.", final=True, in_context=lambda step: Transcript("Stop.", final=True)))
    assert [h.text for h in rt._system] == ["Stop."] and not rt._data
