"""A physical stop: a GPIO button, a key on a terminal, or a keyboard / USB foot pedal.

What a press means is decided in one place, `PressRule`:
- a press while the coach is running is **stop**, the moment it goes down (no waiting to see
  how long it is held: a stop must never wait);
- a long press (held `long_press` seconds, 1.5 by default) that *began while paused* is
  **resume**. A press that began while running never resumes, however long it is held: someone
  who leans on the button in alarm gets a stop, not a resume;
- while waiting for a session (the service), a press is **start**.

The coach is reached through `Controls`, a narrow interface (stop, resume, start, is_paused);
`voice_coach.live` supplies one that puts the control on the session's urgent path.

Sources, each on its own thread, each turning its hardware into down/up calls:
- `GpioButton`: gpiozero's Button (pull-up, to ground), `pin_factory` injectable (tests use
  gpiozero's MockFactory);
- `EvdevKeys`: a Linux input device (/dev/input/event*; a USB foot pedal is a keyboard), read
  as raw input_event records, so no compiled library is needed;
- `TtyKeys`: any key on a terminal (raw mode). A terminal reports no key-up, so a press lasts
  while the key auto-repeats and ends after `gap` seconds without a byte.
`open_button(spec)` makes one from a string: "gpio:17", "key", "tty:/dev/pts/3", "evdev:/dev/input/event4".
"""

from __future__ import annotations

import os
import select
import struct
import threading
import time
from dataclasses import dataclass
from typing import Callable, Protocol

from voice_coach.errors import UserError

LONG_PRESS_SECONDS = 1.5


class Controls(Protocol):
    def stop(self, source: str) -> None: ...

    def resume(self, source: str) -> None: ...

    def start(self, source: str) -> None: ...

    def is_paused(self) -> bool: ...

    def is_waiting(self) -> bool: ...


@dataclass
class _Press:
    began: float
    began_paused: bool
    began_waiting: bool
    resumed: bool = False


class PressRule:
    """Down/up with times in, control calls out. Pure apart from the Controls it calls."""

    def __init__(self, controls: Controls, source: str, long_press: float = LONG_PRESS_SECONDS):
        self.controls = controls
        self.source = source
        self.long_press = long_press
        self._press: _Press | None = None
        self._lock = threading.Lock()

    def down(self, now: float) -> None:
        with self._lock:
            if self._press is not None:
                return  # a repeat, or a bounce
            waiting = self.controls.is_waiting()
            paused = (not waiting) and self.controls.is_paused()
            self._press = _Press(now, paused, waiting)
        if waiting:
            self.controls.start(self.source)
        elif not paused:
            self.controls.stop(self.source)

    def held(self, now: float) -> None:
        """Called while the press lasts: a long press resumes as soon as it is long enough."""
        with self._lock:
            p = self._press
            due = p is not None and p.began_paused and not p.resumed and now - p.began >= self.long_press
            if due:
                p.resumed = True
        if due:
            self.controls.resume(self.source)

    def up(self, now: float) -> None:
        self.held(now)
        with self._lock:
            self._press = None


class _Source:
    def __init__(self, rule: PressRule, poll: float = 0.05):
        self.rule = rule
        self.poll = poll
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=f"button-{self.rule.source}", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2.0)

    def _run(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError


class GpioButton(_Source):
    """A push button between a GPIO pin (BCM numbering) and ground."""

    def __init__(self, rule: PressRule, pin: int, *, pin_factory=None, bounce_time: float = 0.02):
        super().__init__(rule)
        try:
            from gpiozero import Button  # noqa: PLC0415
        except ImportError as e:
            raise UserError("a GPIO button needs gpiozero: .venv/bin/pip install -e .[button]") from e
        try:
            self.button = Button(pin, pull_up=True, bounce_time=bounce_time, pin_factory=pin_factory)
        except Exception as e:  # gpiozero raises BadPinFactory & co. off a Pi
            raise UserError(f"GPIO pin {pin} cannot be used here ({e}); on a Pi, sudo apt-get install python3-lgpio, or use --button key") from e
        self.button.when_pressed = lambda *_: self.rule.down(time.monotonic())
        self.button.when_released = lambda *_: self.rule.up(time.monotonic())

    def _run(self) -> None:
        while not self._stop.wait(self.poll):
            if self.button.is_pressed:
                self.rule.held(time.monotonic())

    def close(self) -> None:
        super().close()
        self.button.close()


# struct input_event on 64-bit Linux: struct timeval (2 longs), __u16 type, __u16 code, __s32 value.
_EVENT = struct.Struct("llHHi")
EV_KEY = 1
KEY_UP, KEY_DOWN, KEY_REPEAT = 0, 1, 2


class EvdevKeys(_Source):
    """Every key of an input device (a keyboard, a USB foot pedal) is the button."""

    def __init__(self, rule: PressRule, path: str):
        super().__init__(rule)
        try:
            self.fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        except PermissionError as e:
            raise UserError(f"cannot read {path}: add yourself to the 'input' group (sudo adduser $USER input), then log in again") from e
        except OSError as e:
            raise UserError(f"no input device {path} ({e.strerror}); list them with: ls -l /dev/input/by-id/") from e
        self._down: set[int] = set()
        self._buf = b""

    def _run(self) -> None:
        while not self._stop.is_set():
            ready, _, _ = select.select([self.fd], [], [], self.poll)
            now = time.monotonic()
            if ready:
                try:
                    data = os.read(self.fd, _EVENT.size * 64)
                except BlockingIOError:
                    data = b""
                except OSError:
                    return  # unplugged
                if not data:
                    time.sleep(self.poll)  # a plain file at its end (tests)
                self._buf += data
                while len(self._buf) >= _EVENT.size:
                    _s, _us, etype, code, value = _EVENT.unpack_from(self._buf)
                    self._buf = self._buf[_EVENT.size :]
                    if etype != EV_KEY:
                        continue
                    if value == KEY_DOWN:
                        if not self._down:
                            self.rule.down(now)
                        self._down.add(code)
                    elif value == KEY_UP:
                        self._down.discard(code)
                        if not self._down:
                            self.rule.up(now)
            if self._down:
                self.rule.held(now)

    def close(self) -> None:
        super().close()
        try:
            os.close(self.fd)
        except OSError:
            pass


def input_event(code: int, value: int, t: float = 0.0) -> bytes:
    """One EV_KEY record, as the kernel writes it (for tests and tools)."""
    return _EVENT.pack(int(t), int((t % 1) * 1e6), EV_KEY, code, value)


class TtyKeys(_Source):
    """Any key on a terminal. A press lasts while bytes keep coming (auto-repeat), then ends."""

    def __init__(self, rule: PressRule, path: str | None = None, *, gap: float = 0.8):
        super().__init__(rule)
        import termios  # noqa: PLC0415
        import tty  # noqa: PLC0415

        self.gap = gap
        self._own = path is not None
        try:
            self.fd = os.open(path, os.O_RDONLY | os.O_NOCTTY) if path else os.dup(0)
        except OSError as e:
            raise UserError(f"cannot open the terminal {path} ({e.strerror})") from e
        if not os.isatty(self.fd):
            os.close(self.fd)
            raise UserError("--button key needs a terminal on standard input; use gpio:PIN or evdev:/dev/input/... instead")
        self._saved = termios.tcgetattr(self.fd)
        tty.setcbreak(self.fd)  # bytes as they are typed, no echo of Enter needed; Ctrl-C still works
        self._termios = termios
        self._last: float | None = None

    def _run(self) -> None:
        while not self._stop.is_set():
            ready, _, _ = select.select([self.fd], [], [], self.poll)
            now = time.monotonic()
            if ready:
                try:
                    data = os.read(self.fd, 64)
                except OSError:
                    return
                if not data:
                    return
                if self._last is None:
                    self.rule.down(now)
                self._last = now
            if self._last is not None:
                if now - self._last >= self.gap:
                    self.rule.up(self._last)
                    self._last = None
                else:
                    self.rule.held(now)

    def close(self) -> None:
        super().close()
        try:
            self._termios.tcsetattr(self.fd, self._termios.TCSADRAIN, self._saved)
        except Exception:
            pass
        os.close(self.fd)


def open_button(spec: str, controls: Controls, *, long_press: float = LONG_PRESS_SECONDS, pin_factory=None) -> _Source:
    """'gpio:17', 'key' (this terminal), 'tty:/dev/pts/N', or 'evdev:/dev/input/eventN'. Started."""
    kind, _, arg = spec.partition(":")
    rule = PressRule(controls, kind, long_press)
    if kind == "gpio":
        try:
            pin = int(arg)
        except ValueError:
            raise UserError(f"--button gpio:PIN needs a BCM pin number, not {arg!r} (e.g. gpio:17)") from None
        src: _Source = GpioButton(rule, pin, pin_factory=pin_factory)
    elif kind == "key":
        src = TtyKeys(rule, None)
    elif kind == "tty" and arg:
        src = TtyKeys(rule, arg)
    elif kind == "evdev" and arg:
        src = EvdevKeys(rule, arg)
    else:
        raise UserError(f"unknown --button {spec!r}; use gpio:17, key, tty:/dev/ttyX or evdev:/dev/input/eventN")
    src.start()
    return src


class CallbackControls:
    """Controls made of plain callables (the live loop's, and tests')."""

    def __init__(
        self,
        stop: Callable[[str], None],
        resume: Callable[[str], None],
        is_paused: Callable[[], bool],
        start: Callable[[str], None] = lambda source: None,
        is_waiting: Callable[[], bool] = lambda: False,
    ):
        self._stop, self._resume, self._is_paused = stop, resume, is_paused
        self._start, self._is_waiting = start, is_waiting

    def stop(self, source: str) -> None:
        self._stop(source)

    def resume(self, source: str) -> None:
        self._resume(source)

    def start(self, source: str) -> None:
        self._start(source)

    def is_paused(self) -> bool:
        return self._is_paused()

    def is_waiting(self) -> bool:
        return self._is_waiting()


def loop_controls(coach) -> CallbackControls:
    """Controls for the live coach (voice_coach.live.LiveCoach): each press goes to the runtime's
    system lane as a Pressed event, which cancels the voice before the session or any journal
    write sees it, like a spoken stop."""
    from voice_coach.events import Pressed  # noqa: PLC0415

    rt = coach.runtime
    return CallbackControls(
        stop=lambda source: rt.post(Pressed("stop")),
        resume=lambda source: rt.post(Pressed("resume")),
        is_paused=lambda: rt.driver.session.paused,
    )


def attach_button(coach, spec: str, **kw) -> _Source:
    """Open the button `spec` and wire it to the live coach; the caller closes it."""
    return open_button(spec, loop_controls(coach), **kw)
