"""The live threads: a cancel drops what is queued or being rendered, nothing cancelled plays; a
listener error pauses the session instead of killing the thread."""

import threading

import numpy as np

from voice_coach.live import Voice


class SlowSynth:
    def __init__(self):
        self.rendering = threading.Event()
        self.release = threading.Event()

    def synthesize(self, text):
        self.rendering.set()
        assert self.release.wait(5)
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
    voice = Voice(synth, sink, on_idle=idle.set, on_error=lambda r: None)
    voice.say("Does your partner have a fever?")
    voice.say("Or an infection?")
    assert synth.rendering.wait(5)
    voice.cancel()
    synth.release.set()
    assert idle.wait(5)
    voice.close()
    assert sink.played == []


def test_lines_said_after_a_cancel_play():
    synth, sink, idle = SlowSynth(), Sink(), threading.Event()
    synth.release.set()
    voice = Voice(synth, sink, on_idle=idle.set, on_error=lambda r: None)
    voice.cancel()
    voice.say("Resuming.")
    assert idle.wait(5)
    voice.close()
    assert sink.played == [1600]


class Source:
    def start(self):
        pass

    def stop(self):
        pass

    def read(self, timeout):
        threading.Event().wait(0.01)
        return np.zeros(320, np.int16)


class BrokenPhrases:
    def parse(self, text, sure=True):
        raise RuntimeError("bad phrase book")


def test_a_listener_bug_is_a_fault_not_a_dead_thread():
    """Anything that goes wrong on the listener thread pauses the session (an AudioFault), and the
    thread keeps listening: before, an error after the recognizer ended the thread silently."""
    from voice_coach.events import AudioFault
    from voice_coach.live import Listener
    from voice_coach.recognizers import ScriptedRecognizer

    posted, faulted = [], threading.Event()

    def post(e):
        posted.append(e)
        if isinstance(e, AudioFault):
            faulted.set()

    listener = Listener(Source(), ScriptedRecognizer([(0.0, "six")]), BrokenPhrases(), post, silence_now=lambda: None)
    listener.start()
    try:
        assert faulted.wait(5)
        assert "the listener failed (bad phrase book)" in posted[0].reason
        assert listener._thread.is_alive()
    finally:
        listener.stop()
