"""The Voice thread: a cancel drops what is queued or being rendered; nothing cancelled plays."""

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
