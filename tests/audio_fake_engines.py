"""Fake pyttsx3 engines for the synthesizer's hang guard (imported inside the TTS worker)."""

import os
import time
import wave


class _Voice:
    def __init__(self, id, name):
        self.id, self.name, self.languages = id, name, ["en"]


class _Base:
    def __init__(self):
        self.props = {"voices": [_Voice("gmw/en", "English"), _Voice("gmw/en-us", "English (America)")]}
        self._job = None

    def getProperty(self, k):
        return self.props[k]

    def setProperty(self, k, v):
        self.props[k] = v

    def save_to_file(self, text, path):
        self._job = (text, path)


class Hanging(_Base):
    def runAndWait(self):
        while True:  # the known pyttsx3 failure: runAndWait never returns
            time.sleep(1)


class HangsOnSecond(_Base):
    """Each process renders once, then hangs, like pyttsx3's espeak driver on some systems."""

    def runAndWait(self):
        mark = os.environ["FAKE_TTS_MARK"]
        if os.path.exists(mark) and open(mark).read() == str(os.getpid()):
            while True:
                time.sleep(1)
        with open(mark, "w") as f:
            f.write(str(os.getpid()))
        _write(self._job[1], 22050, 0.5)


class Good(_Base):
    def runAndWait(self):
        _write(self._job[1], 22050, 0.02 * len(self._job[0]))


def _write(path, rate, secs):
    import math

    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        n = int(rate * secs)
        w.writeframes(b"".join(int(8000 * math.sin(i / 5)).to_bytes(2, "little", signed=True) for i in range(n)))


def hanging():
    return Hanging()


def hangs_on_second():
    return HangsOnSecond()


def good():
    return Good()
