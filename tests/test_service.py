"""`voice-coach service`: the unit written into a temp dir (systemctl mocked), and the waiting
coach it runs: only a start phrase or the button begins a session, never anything else."""

from __future__ import annotations

import shutil
import subprocess
import threading
import time

import numpy as np
import pytest

from voice_coach import service
from voice_coach.cli import main
from voice_coach.recognizers import ScriptedRecognizer


class Calls:
    def __init__(self, answers=None, code=0):
        self.calls: list[list[str]] = []
        self.answers = answers or {}
        self.code = code

    def __call__(self, args, system):
        self.calls.append((["--system"] if system else ["--user"]) + args)
        return subprocess.CompletedProcess(args, self.code, self.answers.get(args[0], ""), "Failed to connect to bus" if self.code else "")


@pytest.fixture
def user_units(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    calls = Calls({"is-active": "active\n", "is-enabled": "enabled\n"})
    monkeypatch.setattr(service, "systemctl", calls)
    monkeypatch.setattr(service, "linger", lambda: subprocess.CompletedProcess([], 0))
    return tmp_path / "systemd" / "user", calls


def test_install_writes_a_user_unit_and_enables_it(user_units, capsys):
    d, calls = user_units
    assert main(["service", "install"]) == 0
    text = (d / "voice-coach.service").read_text()
    assert "ExecStart=" in text and "-m voice_coach service run" in text
    assert "ExecStartPre=" in text and "service wait-devices" in text  # waits for the sound devices
    assert "Restart=on-failure" in text and "StandardError=journal" in text
    assert "WantedBy=default.target" in text and "User=" not in text
    assert calls.calls == [["--user", "daemon-reload"], ["--user", "enable", "--now", "voice-coach.service"]]
    assert "journalctl --user -u voice-coach" in capsys.readouterr().out


def test_status_and_uninstall(user_units, capsys):
    d, calls = user_units
    assert main(["service", "status"]) == 1  # not installed yet
    assert "not installed" in capsys.readouterr().out
    main(["service", "install", "--button", "gpio:17"])
    assert "--button gpio:17" in (d / "voice-coach.service").read_text()
    assert main(["service", "status"]) == 0
    assert "active, enabled at boot" in capsys.readouterr().out
    assert main(["service", "uninstall"]) == 0
    assert not (d / "voice-coach.service").exists()
    assert ["--user", "disable", "--now", "voice-coach.service"] in calls.calls


def test_systemctl_failure_is_one_line(user_units, monkeypatch, capsys):
    monkeypatch.setattr(service, "systemctl", Calls(code=1))
    assert main(["service", "install"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["voice-coach: systemctl daemon-reload failed: Failed to connect to bus"]


def test_system_unit_has_its_own_user(tmp_path):
    text = service.unit_text(system=True)
    assert "User=voice-coach" in text and "SupplementaryGroups=audio gpio input" in text
    assert "WantedBy=multi-user.target" in text


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="needs systemd-analyze")
@pytest.mark.parametrize("system", [False, True])
def test_units_pass_systemd_analyze_verify(tmp_path, system):
    p = tmp_path / "voice-coach.service"
    p.write_text(service.unit_text(system=system))
    r = subprocess.run(["systemd-analyze", "verify", str(p)], capture_output=True, text=True, timeout=60)
    bad = [ln for ln in r.stderr.splitlines() if "voice-coach.service" in ln and "User" not in ln]
    assert r.returncode == 0 or not bad, r.stderr


# --- the waiting coach ------------------------------------------------------------------------


def test_start_phrases():
    assert service.is_start_phrase("Start the massage.")
    assert service.is_start_phrase("OK, let's start the massage now")
    for other in ("start", "Start.", "stop", "massage", "the massage was great", "restart the massages", ""):
        assert not service.is_start_phrase(other), other


class Quiet:
    """A microphone twin: 20 ms of silence per read, as fast as asked."""

    def __init__(self):
        self.reads = 0

    def read(self, timeout):
        self.reads += 1
        time.sleep(0.001)
        return np.zeros(320, np.int16)

    def start(self):
        pass

    def stop(self):
        pass


def test_talk_silence_and_stop_never_start_a_session():
    rec = ScriptedRecognizer([(0.5, "start"), (1.0, "stop"), (1.5, "the massage was lovely"), (2.0, "let's get going")])
    w = service.Waiter(Quiet(), rec)
    assert w.wait(timeout=3.0) is None


def test_the_start_phrase_starts_a_session():
    rec = ScriptedRecognizer([(0.5, "hello there"), (1.0, "start the massage")])
    w = service.Waiter(Quiet(), rec)
    assert w.wait(timeout=10.0) == "voice"
    assert rec.samples_seen >= 16000  # it waited for the phrase, not before


def test_the_button_starts_a_session():
    pytest.importorskip("gpiozero")
    from gpiozero.pins.mock import MockFactory

    from voice_coach.button import open_button

    factory = MockFactory()
    w = service.Waiter(Quiet(), ScriptedRecognizer([]))
    src = open_button("gpio:27", w, pin_factory=factory)
    got = []
    t = threading.Thread(target=lambda: got.append(w.wait(timeout=10.0)))
    t.start()
    time.sleep(0.3)
    factory.pin(27).drive_low()
    t.join(10)
    src.close()
    assert got == ["button"]


def test_serve_runs_one_session_per_start_and_waits_again(monkeypatch):
    import voice_coach.audio.mic as mic
    import voice_coach.live as live
    import voice_coach.recognizers as recognizers
    from argparse import Namespace

    from voice_coach.paths import default_content_dir

    rec = ScriptedRecognizer([(0.4, "start the massage")])
    monkeypatch.setattr(recognizers, "make_recognizer", lambda *a, **k: rec)
    monkeypatch.setattr(mic, "MicSource", lambda device: Quiet())
    sessions = []
    monkeypatch.setattr(live, "run_live", lambda content, args: sessions.append(args.input) or 0)
    args = Namespace(engine=None, model=None, input="usb", button=None)
    assert service.serve(default_content_dir(), args, sessions=1) == 0
    assert sessions == ["usb"]
