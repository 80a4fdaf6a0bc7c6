"""The CLI's edges: a bad path, a full disk, a closed pipe give one line a person can act on and a
non-zero exit (or, for a reader that went away, a quiet exit), never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from voice_coach.journal import Journal
from voice_coach.routine import load_content
from tests.test_journal_support import (  # noqa: F401 - the autouse fixture
    CONTENT, _journal_in_tmp, drive, knot, screening,
)

ROOT = Path(__file__).resolve().parent.parent
FULL_DEVICE = Path("/dev/full")
needs_dev_full = pytest.mark.skipif(not FULL_DEVICE.exists(), reason="no /dev/full on this system")


@pytest.fixture
def data(tmp_path, monkeypatch) -> Path:
    """A journal with a few sessions in it."""
    d = tmp_path / "data"
    monkeypatch.setenv("VOICE_COACH_DATA", str(d))
    content = load_content(CONTENT)
    for _ in range(3):
        j = Journal()
        drive(j, screening() + knot("left shoulder blade", 6, softened=True) + ["finish"], content)
        j.close()
    return d


def cli(data: Path, *args: str, stdout=subprocess.PIPE, stdin: str = "", timeout: float = 60) -> subprocess.CompletedProcess:
    env = {**os.environ, "VOICE_COACH_DATA": str(data), "PYTHONUNBUFFERED": "1"}
    return subprocess.run([sys.executable, "-m", "voice_coach", *args], input=stdin, stdout=stdout, stderr=subprocess.PIPE,
                          text=True, timeout=timeout, env=env, cwd=ROOT)


def one_line(p: subprocess.CompletedProcess) -> str:
    assert "Traceback" not in p.stderr and "Exception ignored" not in p.stderr, p.stderr
    assert p.stderr.count("\n") == 1, p.stderr
    return p.stderr


@pytest.mark.parametrize("name", ["pain.txt", "pain", "pain.csv"])
def test_a_plot_name_matplotlib_cannot_write_is_one_line_exit_2(data, tmp_path, name):
    pytest.importorskip("matplotlib")
    p = cli(data, "history", "--plot", str(tmp_path / name))
    assert p.returncode == 2
    assert "--plot" in one_line(p) and ".png" in p.stderr
    assert p.stdout == ""  # nothing printed before the refusal
    assert not (tmp_path / name).exists()


@needs_dev_full
@pytest.mark.parametrize("args", [["export"], ["export", "--format", "json"], ["history"]], ids=["csv", "json", "history"])
def test_output_to_a_full_disk_is_one_line_exit_1(data, args):
    with open(FULL_DEVICE, "w") as full:
        p = cli(data, *args, stdout=full)
    assert p.returncode == 1
    assert "cannot write the output: No space left on device" in one_line(p)


@needs_dev_full
@pytest.mark.parametrize("target", [str(FULL_DEVICE), "-"])
def test_an_event_log_on_a_full_disk_is_one_line_exit_2_before_the_coach_speaks(data, target):
    if target == "-":
        with open(FULL_DEVICE, "w") as full:
            p = cli(data, "run", "--console", "--speed", "200", "--events", "-", stdout=full, stdin="ready\n")
    else:
        p = cli(data, "run", "--console", "--speed", "200", "--events", target, stdin="ready\n")
        assert "coach:" not in p.stdout
    assert p.returncode == 2
    assert "cannot write the event log" in one_line(p) and "No space left on device" in p.stderr


def test_an_event_log_that_fails_mid_session_warns_once_and_the_session_goes_on(capsys):
    from voice_coach.event_log import EventLog

    class FailsAfterTwo:
        def __init__(self):
            self.lines = []

        def write(self, text):
            if len(self.lines) >= 2:
                raise OSError(28, "No space left on device")
            self.lines.append(text)

        def flush(self):
            pass

    log = EventLog(None)
    log._f, log._target = FailsAfterTwo(), "events.jsonl"
    warned = []
    log._warn = warned.append
    for i in range(5):
        log({"t": i, "type": "say"})  # never raises once something was written
    assert len(warned) == 1 and "events.jsonl" in warned[0] and "the session goes on" in warned[0]
    log.close()


@pytest.mark.parametrize("args", [["history"], ["export"], ["export", "--format", "json"]], ids=["history", "csv", "json"])
def test_a_reader_that_goes_away_ends_quietly(data, args):
    """`voice-coach history | head -1`: the pipe closes before anything is written."""
    env = {**os.environ, "VOICE_COACH_DATA": str(data)}
    r, w = os.pipe()
    os.close(r)  # the reader is gone: every write is EPIPE
    try:
        p = subprocess.run([sys.executable, "-m", "voice_coach", *args], stdout=w, stderr=subprocess.PIPE, text=True,
                           timeout=60, env=env, cwd=ROOT)
    finally:
        os.close(w)
    assert p.returncode == 0
    assert p.stderr == ""


@pytest.mark.parametrize("command", ["demo", "bench"])
def test_an_out_folder_that_cannot_be_written_is_refused_before_any_work(data, tmp_path, command):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    p = cli(data, command, "--out", str(blocker / "out"), timeout=30)
    assert p.returncode == 2
    assert "--out" in one_line(p) and "choose another folder" in p.stderr
