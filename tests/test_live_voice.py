"""The live threads: a cancel drops what is queued or being rendered, nothing cancelled plays;
`speaking` never reads false while a line is in hand; a listener error is a fault, not a dead
thread."""

import queue
import threading

import numpy as np

from voice_coach.voice import Voice
from tests.tolerance import patience


class SlowSynth:
    def __init__(self):
        self.rendering = threading.Event()
        self.release = threading.Event()

    def synthesize(self, text):
        self.rendering.set()
        assert self.release.wait(patience(5))
        return np.ones(1600, np.int16)


class Sink:
    def __init__(self):
        self.played = []

    def play(self, pcm):
        self.played.append(len(pcm))

    def cancel(self):
        pass

    def is_playing(self):
        return False

    def close(self):
        pass


def test_a_line_cancelled_while_it_renders_never_plays():
    synth, sink, idle = SlowSynth(), Sink(), threading.Event()
    voice = Voice(synth, sink, on_idle=idle.set)
    voice.say("Does your partner have a fever?")
    voice.say("Or an infection?")
    assert synth.rendering.wait(patience(5))
    voice.cancel()
    synth.release.set()
    assert idle.wait(patience(5))
    voice.close()
    assert sink.played == []


def test_lines_said_after_a_cancel_play():
    synth, sink, idle = SlowSynth(), Sink(), threading.Event()
    synth.release.set()
    voice = Voice(synth, sink, on_idle=idle.set)
    voice.cancel()
    voice.say("Resuming.")
    assert idle.wait(patience(5))
    voice.close()
    assert sink.played == [1600]


class PausingQueue(queue.Queue):
    """A line queue whose empty() stops, once armed, right after it found the queue empty: the
    moment the old Voice went on to clear its busy flag."""

    def __init__(self):
        super().__init__()
        self.armed = False
        self.paused = threading.Event()
        self.go_on = threading.Event()

    def empty(self):
        found = super().empty()
        if found and self.armed:
            self.armed = False
            self.paused.set()
            self.go_on.wait(patience(2))
        return found


class RenderSlowly:
    def synthesize(self, text):
        threading.Event().wait(0.2)
        return np.ones(160, np.int16)


def test_speaking_holds_while_a_line_is_queued_so_the_goodbye_is_not_dropped(monkeypatch):
    """The Voice._busy race: a line said just as the voice finished the one before could leave
    `speaking` false with that line still queued, so wait_idle returned at once and close()
    dropped it (the goodbye, or the red-flag advice). Fails on the old Voice: played == [160]."""
    sink = Sink()
    made = []
    monkeypatch.setattr(queue, "Queue", lambda *a: made.append(PausingQueue()) or made[-1])
    voice = Voice(RenderSlowly(), sink)
    monkeypatch.undo()
    (lines,) = made
    lines.armed = True
    voice.say("Thank you.")
    lines.paused.wait(patience(2))  # the old voice stops here, between "queue empty" and "not busy"
    voice.say("Take it easy.")
    lines.go_on.set()
    assert voice.speaking
    assert voice.wait_idle(timeout=patience(5))
    voice.close()
    assert sink.played == [160, 160]


class FailingSynth:
    def __init__(self, fail_times):
        self.fail_times = fail_times
        self.calls = 0

    def synthesize(self, text):
        self.calls += 1
        if self.calls <= self.fail_times:
            raise RuntimeError("espeak: cannot open /dev/snd (errno 16)")
        return np.ones(160, np.int16)


def test_a_failing_line_is_tried_again_and_reported_each_time():
    errors, spoken, idle = [], threading.Event(), threading.Event()
    sink = Sink()
    voice = Voice(FailingSynth(1), sink, on_idle=idle.set, on_error=errors.append, on_spoken=spoken.set, retry_after=0.01)
    voice.say("Hold it there.")
    assert idle.wait(patience(5)) and spoken.is_set()
    voice.close()
    assert [str(e) for e in errors] == ["espeak: cannot open /dev/snd (errno 16)"] and sink.played == [160]


class Source:
    def start(self):
        pass

    def stop(self):
        pass

    def read(self, timeout):
        threading.Event().wait(0.01)
        return np.zeros(320, np.int16)


def test_a_listener_bug_is_a_fault_not_a_dead_thread():
    """Anything that goes wrong on the listener thread pauses the session (a recognizer Fault), and
    the thread keeps listening: before, an error after the recognizer ended the thread silently."""
    from voice_coach.events import Fault
    from voice_coach.interfaces import Transcript
    from voice_coach.listener import Listener
    from voice_coach.recognizers import ScriptedRecognizer

    posted, faulted = [], threading.Event()

    def post(e):
        if isinstance(e, Transcript):
            raise RuntimeError("bad phrase book")
        posted.append(e)
        if isinstance(e, Fault):
            faulted.set()

    listener = Listener(Source(), ScriptedRecognizer([(0.0, "six")]), post)
    listener.start()
    try:
        assert faulted.wait(patience(5))
        assert (posted[0].source, posted[0].code) == ("recognizer", "failed")
        assert "bad phrase book" in posted[0].detail
        assert listener._thread.is_alive()
    finally:
        listener.stop()


def test_the_listener_tells_the_recognizer_when_the_coach_speaks():
    """Before each chunk the recognizer hears whether the coach's voice is playing (Whisper then
    gives partials twice as often: over the coach a stop never closes its utterance)."""
    from voice_coach.listener import Listener

    playing = {"now": False}
    told, both = [], threading.Event()

    class Rec:
        name = "spy"

        def coach_speaking(self, p):
            told.append(p)
            if True in told and False in told:
                both.set()

        def accept(self, pcm):
            playing["now"] = not playing["now"]
            return []

    listener = Listener(Source(), Rec(), lambda e: None, speaking=lambda: playing["now"])
    listener.start()
    try:
        assert both.wait(patience(5))
    finally:
        listener.stop()
