"""The physical stop: what a press means (pure, exact times), then each source for real:
gpiozero's mock pin factory, a pseudo-terminal, and input_event records on a FIFO; and the
button wired into the live loop, where a press pauses the session and cuts the speaker."""

from __future__ import annotations

import os
import threading
import time

import pytest

from voice_coach.button import (
    KEY_DOWN,
    KEY_REPEAT,
    KEY_UP,
    CallbackControls,
    EvdevKeys,
    PressRule,
    TtyKeys,
    input_event,
    open_button,
)
from voice_coach.errors import UserError


class Coach:
    def __init__(self, paused=False, waiting=False):
        self.paused, self.waiting = paused, waiting
        self.calls: list[str] = []
        self.changed = threading.Event()

    def _do(self, what):
        self.calls.append(what)
        if what == "stop":
            self.paused = True
        elif what == "resume":
            self.paused = False
        elif what == "start":
            self.waiting = False
        self.changed.set()

    def controls(self):
        return CallbackControls(
            stop=lambda s: self._do("stop"), resume=lambda s: self._do("resume"), is_paused=lambda: self.paused,
            start=lambda s: self._do("start"), is_waiting=lambda: self.waiting,
        )

    def wait_for(self, calls, timeout=5.0):
        deadline = time.monotonic() + timeout
        while self.calls != calls and time.monotonic() < deadline:
            time.sleep(0.01)
        return self.calls


# --- the rule -----------------------------------------------------------------------------


def test_a_press_stops_at_once_on_the_way_down():
    c = Coach()
    r = PressRule(c.controls(), "gpio")
    r.down(10.0)
    assert c.calls == ["stop"]  # before any release
    r.held(10.5)
    r.up(10.6)
    assert c.calls == ["stop"]


def test_leaning_on_the_button_while_running_never_resumes():
    c = Coach()
    r = PressRule(c.controls(), "gpio", long_press=1.5)
    r.down(0.0)
    for t in (1.0, 1.5, 3.0, 10.0):
        r.held(t)
    r.up(12.0)
    assert c.calls == ["stop"] and c.paused


def test_a_long_press_while_paused_resumes_exactly_at_the_threshold():
    c = Coach(paused=True)
    r = PressRule(c.controls(), "gpio", long_press=1.5)
    r.down(5.0)
    r.held(6.499)
    assert c.calls == []
    r.held(6.5)
    assert c.calls == ["resume"]
    r.held(9.0)
    r.up(9.1)
    assert c.calls == ["resume"]  # once per press


def test_a_short_press_while_paused_does_nothing():
    c = Coach(paused=True)
    r = PressRule(c.controls(), "gpio", long_press=1.5)
    r.down(0.0)
    r.up(0.4)
    assert c.calls == [] and c.paused


def test_a_bounce_or_repeat_is_one_press():
    c = Coach()
    r = PressRule(c.controls(), "key")
    r.down(0.0)
    r.down(0.01)
    r.down(0.02)
    assert c.calls == ["stop"]


def test_while_waiting_a_press_starts_a_session():
    c = Coach(waiting=True)
    r = PressRule(c.controls(), "gpio")
    r.down(0.0)
    r.held(3.0)
    r.up(3.0)
    assert c.calls == ["start"]


# --- sources ------------------------------------------------------------------------------


def test_gpio_button_on_the_mock_pin_factory():
    pytest.importorskip("gpiozero")
    from gpiozero.pins.mock import MockFactory

    factory = MockFactory()
    c = Coach()
    src = open_button("gpio:17", c.controls(), long_press=0.5, pin_factory=factory)
    pin = factory.pin(17)
    try:
        pin.drive_low()  # pressed: the button connects the pin to ground
        assert c.wait_for(["stop"]) == ["stop"]
        time.sleep(0.8)
        pin.drive_high()
        time.sleep(0.1)
        assert c.calls == ["stop"]  # held while running: still only a stop
        pin.drive_low()  # now paused: a long press resumes
        assert c.wait_for(["stop", "resume"]) == ["stop", "resume"]
        pin.drive_high()
    finally:
        src.close()


def test_gpio_pin_that_cannot_be_used_names_the_fix():
    with pytest.raises(UserError, match="gpio:PIN needs a BCM pin number"):
        open_button("gpio:x", Coach().controls())
    with pytest.raises(UserError, match="unknown --button"):
        open_button("laser", Coach().controls())


def test_any_key_on_a_pseudo_terminal():
    master, slave = os.openpty()
    c = Coach()
    src = TtyKeys(PressRule(c.controls(), "tty", long_press=0.6), os.ttyname(slave), gap=0.3)
    src.start()
    try:
        os.write(master, b"x")
        assert c.wait_for(["stop"]) == ["stop"]
        time.sleep(0.5)  # released (no byte for 0.3 s)
        # Holding a key: the terminal repeats it every ~33 ms. Paused now, so it resumes.
        t0 = time.monotonic()
        while time.monotonic() - t0 < 1.0:
            os.write(master, b"x")
            time.sleep(0.033)
        assert c.wait_for(["stop", "resume"]) == ["stop", "resume"]
    finally:
        src.close()
        os.close(master)
        os.close(slave)


def test_not_a_terminal_is_a_user_error(tmp_path):
    f = tmp_path / "plain"
    f.write_text("")
    with pytest.raises(UserError, match="needs a terminal"):
        TtyKeys(PressRule(Coach().controls(), "tty"), str(f))


def test_foot_pedal_as_input_events_on_a_fifo(tmp_path):
    fifo = tmp_path / "event0"
    os.mkfifo(fifo)
    w = os.open(fifo, os.O_RDWR)  # keeps the FIFO open so the reader never sees EOF
    c = Coach()
    src = EvdevKeys(PressRule(c.controls(), "evdev", long_press=0.4), str(fifo))
    src.start()
    try:
        os.write(w, input_event(30, KEY_DOWN))  # KEY_A, as a pedal sends it
        assert c.wait_for(["stop"]) == ["stop"]
        os.write(w, input_event(30, KEY_REPEAT) + input_event(30, KEY_UP))
        time.sleep(0.1)
        os.write(w, input_event(30, KEY_DOWN))  # paused: held past 0.4 s resumes
        assert c.wait_for(["stop", "resume"]) == ["stop", "resume"]
        os.write(w, input_event(30, KEY_UP))
    finally:
        src.close()
        os.close(w)


def test_missing_input_device_names_the_fix(tmp_path):
    with pytest.raises(UserError, match="no input device"):
        EvdevKeys(PressRule(Coach().controls(), "evdev"), str(tmp_path / "nope"))


# --- wired into the live loop ---------------------------------------------------------------


def test_button_pauses_the_live_session_and_cuts_the_speaker(tmp_path):
    """Through the live coach (runtime, voice, listener) with device twins: a mock GPIO press goes
    on the system lane, silences the speaker and pauses the session; a long press resumes it."""
    pytest.importorskip("gpiozero")
    from gpiozero.pins.mock import MockFactory

    from voice_coach.button import attach_button

    coach, sink, events = _twin_coach(tmp_path)
    factory = MockFactory()
    src = attach_button(coach, "gpio:22", long_press=0.5, pin_factory=factory)
    t = threading.Thread(target=coach.run, daemon=True)
    t.start()
    try:
        assert sink.wait_playing(10), "the coach never spoke"
        factory.pin(22).drive_low()
        assert sink.wait_cancelled(2)
        assert events.wait_for("pause", 5)
        factory.pin(22).drive_high()
        time.sleep(0.2)
        factory.pin(22).drive_low()
        assert events.wait_for("resume", 5)
        factory.pin(22).drive_high()
    finally:
        src.close()
        from voice_coach.events import InputEnded

        coach.runtime.post(InputEnded())
        t.join(15)
    assert not t.is_alive()


class _Sink:
    """A speaker twin that 'plays' in real time and records cancels."""

    def __init__(self):
        self.until = 0.0
        self.played = threading.Event()
        self.cancelled = threading.Event()

    def play(self, pcm):
        self.until = time.monotonic() + len(pcm) / 16000
        self.played.set()

    def cancel(self):
        if self.is_playing():
            self.cancelled.set()
        self.until = 0.0

    def is_playing(self):
        return time.monotonic() < self.until

    def close(self):
        pass

    def wait_playing(self, timeout):
        return self.played.wait(timeout)

    def wait_cancelled(self, timeout):
        return self.cancelled.wait(timeout)


class _Events:
    def __init__(self):
        self.types: list[str] = []

    def __call__(self, record):
        self.types.append(record["type"])

    def wait_for(self, kind, timeout):
        deadline = time.monotonic() + timeout
        while kind not in self.types and time.monotonic() < deadline:
            time.sleep(0.01)
        return kind in self.types


class _QuietMic:
    def start(self):
        pass

    def stop(self):
        pass

    def read(self, timeout):
        time.sleep(0.02)
        import numpy as np

        return np.zeros(320, np.int16)


def _twin_coach(tmp_path):
    from argparse import Namespace

    from voice_coach.audio.tts import SilentSynthesizer
    from voice_coach.clock import MonotonicClock
    from voice_coach.journal import Journal
    from voice_coach.live import build_live
    from voice_coach.paths import default_content_dir
    from voice_coach.recognizers import ScriptedRecognizer
    from voice_coach.routine import load_content

    content = load_content(default_content_dir())
    events = _Events()
    sink = _Sink()
    args = Namespace(events=None, deaf_timeout=60.0)
    coach = build_live(
        content, args, MonotonicClock(1.0), out=open(os.devnull, "w"),
        source=_QuietMic(), sink=sink, synth=SilentSynthesizer(), recognizer=ScriptedRecognizer([]),
        journal=Journal(tmp_path / "j.sqlite3"),
    )
    coach.runtime.journal_stage.acks.append(events)
    return coach, sink, events
