"""Start at boot: `voice-coach service install|uninstall|status`, and the waiting coach it runs.

Why a systemd *user* unit (with lingering) and not a system unit with its own user: on Raspberry
Pi OS bookworm the sound goes through PipeWire, which runs in the user's session; a system
service under another account cannot reach it (and would fight it for the ALSA device). A user
unit runs as the person who ran `setup`, so it uses the same saved devices, the same journal of
sessions, and the groups a Pi user already has (audio, gpio, input). `loginctl enable-linger`
starts that user's units at boot, before anyone logs in. `--system` writes a system unit with a
dedicated `voice-coach` user instead, for a Pi OS Lite box with plain ALSA and no desktop.

The unit waits for the sound devices (ExecStartPre: `service wait-devices`), restarts on failure
and logs to the journal (`journalctl --user -u voice-coach`). What it runs is `service run`:
the coach waits quietly, listening only for a start phrase ("start the massage") or a press of
the button; then one session runs, and it waits again. A session never starts by itself.
"""

from __future__ import annotations

import getpass
import os
import shlex
import subprocess
import sys
import time
from argparse import Namespace
from pathlib import Path
from typing import Callable

from voice_coach.errors import EXIT_FAILURE, EXIT_OK, EXIT_USAGE, UserError
from voice_coach.intents import normalize

UNIT = "voice-coach.service"
SYSTEM_USER = "voice-coach"

# What starts a session, said while the coach waits. Several words on purpose: a lone "start"
# sounds like "stop" to the recognizer and is taken as one (content/phrases.toml sound_alikes).
START_PHRASES = (
    "start the massage", "start massage", "start a massage", "start the session", "begin the massage",
    "begin massage", "lets start the massage", "start the coach",
)


def is_start_phrase(text: str) -> bool:
    tokens = normalize(text)
    joined = " " + " ".join(tokens) + " "
    return any(" " + " ".join(normalize(p)) + " " in joined for p in START_PHRASES)


# --- the unit -------------------------------------------------------------------------------


def unit_text(*, system: bool, python: str = sys.executable, workdir: Path | None = None, button: str | None = None) -> str:
    workdir = workdir or Path(__file__).resolve().parent.parent
    run = [python, "-m", "voice_coach", "service", "run"] + (["--button", button] if button else [])
    wait = [python, "-m", "voice_coach", "service", "wait-devices"]
    after = "sound.target network.target" if system else "pipewire.service wireplumber.service pipewire-pulse.service"
    lines = [
        "[Unit]",
        "Description=voice_coach massage coach (waits for 'start the massage' or the button)",
        "Documentation=file://" + str(workdir / "README.md"),
        f"After={after}",
        *(["Wants=sound.target"] if system else []),
        "StartLimitIntervalSec=300",
        "StartLimitBurst=10",
        "",
        "[Service]",
        "Type=simple",
        f"WorkingDirectory={workdir}",
        # Sound devices (a USB mic) can appear seconds after boot: wait for them, up to 2 minutes.
        f"ExecStartPre={shlex.join(wait)} --timeout 120",
        f"ExecStart={shlex.join(run)}",
        "Restart=on-failure",
        "RestartSec=5",
        "TimeoutStartSec=180",
        "Environment=PYTHONUNBUFFERED=1",
        "StandardOutput=journal",
        "StandardError=journal",
        "SyslogIdentifier=voice-coach",
    ]
    if system:
        lines += [f"User={SYSTEM_USER}", "SupplementaryGroups=audio gpio input", f"Environment=HOME=/var/lib/{SYSTEM_USER}",
                  f"StateDirectory={SYSTEM_USER}"]
    lines += ["", "[Install]", f"WantedBy={'multi-user.target' if system else 'default.target'}", ""]
    return "\n".join(lines)


def unit_dir(system: bool) -> Path:
    if system:
        return Path("/etc/systemd/system")
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "systemd" / "user"


def systemctl(args: list[str], system: bool) -> subprocess.CompletedProcess:
    """Run systemctl (tests replace this function)."""
    cmd = ["systemctl"] + ([] if system else ["--user"]) + args
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    except FileNotFoundError as e:
        raise UserError("systemctl is not here: the service needs systemd (Raspberry Pi OS and Debian have it)") from e


def linger() -> subprocess.CompletedProcess | None:
    """Let the user's units start at boot without a login (tests replace this function)."""
    try:
        return subprocess.run(["loginctl", "enable-linger", getpass.getuser()], capture_output=True, text=True, timeout=30)
    except FileNotFoundError:
        return None


def _check(r: subprocess.CompletedProcess, what: str) -> None:
    if r.returncode != 0:
        msg = (r.stderr or r.stdout or "").strip().splitlines()
        raise UserError(f"{what} failed: {msg[-1] if msg else f'exit {r.returncode}'}")


def install(system: bool, directory: Path | None = None, button: str | None = None, out=None) -> Path:
    out = out or sys.stdout
    if system and os.geteuid() != 0:
        raise UserError("a system unit needs root: sudo .venv/bin/voice-coach service install --system")
    d = directory or unit_dir(system)
    d.mkdir(parents=True, exist_ok=True)
    path = d / UNIT
    path.write_text(unit_text(system=system, button=button), encoding="utf-8")
    print(f"wrote {path}", file=out)
    _check(systemctl(["daemon-reload"], system), "systemctl daemon-reload")
    _check(systemctl(["enable", "--now", UNIT], system), f"systemctl enable {UNIT}")
    if not system:
        r = linger()
        if r is None or r.returncode != 0:
            print("warning: `loginctl enable-linger` failed: the coach starts when you log in, not at boot", file=out)
    how = "sudo journalctl -u voice-coach -f" if system else "journalctl --user -u voice-coach -f"
    print(f"the coach is running and waits for 'start the massage' or the button; its log: {how}", file=out)
    return path


def uninstall(system: bool, directory: Path | None = None, out=None) -> None:
    out = out or sys.stdout
    d = directory or unit_dir(system)
    path = d / UNIT
    systemctl(["disable", "--now", UNIT], system)  # not installed is fine
    if path.exists():
        path.unlink()
        print(f"removed {path}", file=out)
    else:
        print(f"no unit at {path}", file=out)
    systemctl(["daemon-reload"], system)


def status(system: bool, directory: Path | None = None, out=None) -> int:
    out = out or sys.stdout
    path = (directory or unit_dir(system)) / UNIT
    if not path.exists():
        print(f"not installed (no {path}); install it with: voice-coach service install", file=out)
        return EXIT_FAILURE
    active = systemctl(["is-active", UNIT], system).stdout.strip() or "unknown"
    enabled = systemctl(["is-enabled", UNIT], system).stdout.strip() or "unknown"
    print(f"{UNIT}: {active}, {enabled} at boot ({path})", file=out)
    return EXIT_OK if active == "active" else EXIT_FAILURE


# --- what the unit runs -----------------------------------------------------------------------


def wait_for_devices(timeout: float, poll: float = 2.0, out=sys.stderr) -> int:
    """Exit 0 once a microphone and a speaker exist (the saved ones, if any); 1 after `timeout`."""
    from voice_coach.audio.devices import find_device  # noqa: PLC0415
    from voice_coach.config import load  # noqa: PLC0415

    saved = load()
    deadline = time.monotonic() + timeout
    last = ""
    while True:
        try:
            _fresh_portaudio()
            find_device(saved.input, "input")
            find_device(saved.output, "output")
            return EXIT_OK
        except UserError as e:
            last = e.message
        if time.monotonic() >= deadline:
            print(f"voice-coach: sound devices not found after {timeout:.0f} s: {last}", file=out)
            return EXIT_FAILURE
        time.sleep(poll)


def _fresh_portaudio() -> None:
    """PortAudio lists devices as they were at its initialisation: start it again to see new ones."""
    from voice_coach.audio.devices import sounddevice  # noqa: PLC0415

    sd = sounddevice()
    sd._terminate()
    sd._initialize()


class Waiter:
    """Listens quietly until a start phrase is heard or `start()` is called (the button).

    Nothing is said while waiting, and only a start phrase or the button ends the wait: other
    talk, silence, a lone "start", a "stop", a dead microphone never start a session.
    """

    def __init__(self, source, recognizer, log: Callable[[str], None] = lambda s: None):
        self.source, self.recognizer, self.log = source, recognizer, log
        self._button = False

    def start(self, source: str) -> None:
        self._button = True

    def is_waiting(self) -> bool:
        return True

    def is_paused(self) -> bool:
        return False

    def stop(self, source: str) -> None:  # nothing to stop while waiting
        pass

    def resume(self, source: str) -> None:
        pass

    def wait(self, timeout: float | None = None) -> str | None:
        """'voice' or 'button' when a session should start; None after `timeout` seconds."""
        from voice_coach.audio.faults import AudioFault  # noqa: PLC0415

        deadline = None if timeout is None else time.monotonic() + timeout
        self._button = False
        self.recognizer.reset()
        while deadline is None or time.monotonic() < deadline:
            if self._button:
                return "button"
            try:
                chunk = self.source.read(timeout=0.1)
            except AudioFault as f:
                self.log(f"microphone: {f.reason}; waiting for it")
                time.sleep(0.5)
                continue
            if chunk is None:
                continue
            for tr in self.recognizer.accept(chunk):
                if tr.final and is_start_phrase(tr.text):
                    self.log(f"heard {tr.text!r}: starting a session")
                    return "voice"
        return None


def serve(content_dir: Path, args: Namespace, *, sessions: int | None = None) -> int:
    """The service's loop: wait, run one session, wait again. `sessions` limits it (tests)."""
    from voice_coach.audio.mic import MicSource  # noqa: PLC0415
    from voice_coach.button import open_button  # noqa: PLC0415
    from voice_coach.live import run_live  # noqa: PLC0415
    from voice_coach.recognizers import make_recognizer  # noqa: PLC0415
    from voice_coach.routine import load_content  # noqa: PLC0415

    def log(text: str) -> None:
        print(f"voice-coach: {text}", file=sys.stderr, flush=True)

    content = load_content(content_dir)
    recognizer = make_recognizer(args.engine, args.model, content.phrases)
    recognizer.set_vocabulary(START_PHRASES)
    done = 0
    while sessions is None or done < sessions:
        source = MicSource(args.input)
        waiter = Waiter(source, recognizer, log)
        button = open_button(args.button, waiter) if getattr(args, "button", None) else None
        source.start()
        log("waiting for 'start the massage'" + (" or the button" if button else ""))
        try:
            why = waiter.wait()
        finally:
            if button is not None:
                button.close()
            source.stop()
        log(f"session starts ({why})")
        code = run_live(content_dir, args)  # the session opens its own devices (and button)
        log(f"session ended (exit {code})")
        done += 1
        recognizer.set_vocabulary(START_PHRASES)
    return EXIT_OK


def run_service(args: Namespace, content_dir: Path | None = None) -> int:
    from voice_coach.paths import default_content_dir  # noqa: PLC0415

    system = getattr(args, "system", False)
    d = None
    if args.action == "install":
        install(system, d, button=getattr(args, "button", None))
        return EXIT_OK
    if args.action == "uninstall":
        uninstall(system, d)
        return EXIT_OK
    if args.action == "status":
        return status(system, d)
    if args.action == "wait-devices":
        return wait_for_devices(getattr(args, "timeout", 120.0))
    if args.action == "run":
        from voice_coach.config import apply_saved  # noqa: PLC0415

        apply_saved(args)
        return serve(content_dir or default_content_dir(), args)
    raise UserError(f"unknown service action {args.action!r}", EXIT_USAGE)
