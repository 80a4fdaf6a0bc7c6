"""Console mode through a real process: stdin in, stdout and the event log out, exit codes."""

import json
import os
import subprocess
import sys

import pytest
from tests.tolerance import patience

SCRIPT = ["ready", "no", "no", "no", "no", "no", "ready", "found it", "left shoulder blade", "six", "yes", "finish"]


def console(lines, *args, timeout=60):
    return subprocess.run(
        [sys.executable, "-m", "voice_coach", "run", "--console", "--speed", "200", *args],
        input="".join(line + "\n" for line in lines), capture_output=True, text=True, timeout=patience(timeout),
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


def events_of(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_scripted_session_completes(tmp_path):
    log = tmp_path / "events.jsonl"
    p = console(SCRIPT, "--events", str(log))
    assert p.returncode == 0, p.stderr
    assert "coach: Did the knot soften?" in p.stdout
    ev = events_of(log)
    assert all({"t", "type"} <= e.keys() for e in ev)
    assert [e["type"] for e in ev].count("hold_start") == 1
    hold_end = next(e for e in ev if e["type"] == "hold_end")
    assert hold_end["held"] == 60.0 and hold_end["reason"] == "max"
    assert ev[-1] == {**ev[-1], "type": "end", "outcome": "completed"}
    heard = [e["text"] for e in ev if e["type"] == "heard"]
    assert heard == SCRIPT
    intents = [e for e in ev if e["type"] == "intent"]
    assert {"intent": "rating", "value": 6} == {k: intents[9][k] for k in ("intent", "value")}
    ts = [e["t"] for e in ev]
    assert ts == sorted(ts)


def test_tingling_during_the_hold_halts_with_exit_3(tmp_path):
    log = tmp_path / "events.jsonl"
    script = SCRIPT[:10] + ["it's tingling"] + SCRIPT[10:]
    p = console(script, "--events", str(log))
    assert p.returncode == 3, p.stderr
    ev = events_of(log)
    types = [e["type"] for e in ev]
    assert types.index("hold_start") < types.index("halt")
    halt = next(e for e in ev if e["type"] == "halt")
    assert halt["reason"] == "red_flag" and halt["kind"] == "tingling"
    assert ev[-1]["outcome"] == "halted"
    assert "seek professional medical care" in p.stdout


def test_yes_to_fever_exits_4():
    p = console(["ready", "yes"])
    assert p.returncode == 4
    assert "no massage today" in p.stdout


@pytest.mark.parametrize("lines", [[], ["ready", "no"]])
def test_end_of_input_stops_plainly(lines):
    p = console(lines)
    assert p.returncode == 5
    assert "No more input" in p.stdout
    assert "Traceback" not in p.stderr


def test_events_to_stdout_are_pure_json():
    p = console(["ready", "yes"], "--events", "-")
    assert p.returncode == 4
    records = [json.loads(line) for line in p.stdout.splitlines()]
    assert records[-1]["type"] == "end" and records[-1]["outcome"] == "declined"
    assert "coach:" in p.stderr


def test_bad_speed_is_a_usage_error():
    p = console([], "--speed", "0")
    assert p.returncode == 2 and p.stderr.count("\n") == 1


@pytest.mark.parametrize("stdin_encoding", [None, "utf-8:strict"], ids=["surrogateescape", "strict"])
def test_an_undecodable_byte_is_replaced_journaled_and_the_session_goes_on(tmp_path, stdin_encoding):
    """One stray byte (\\xff) in a reply: heard as U+FFFD, every event saved, the session completes."""
    log = tmp_path / "events.jsonl"
    data = tmp_path / "data"
    script = SCRIPT[:2] + ["\udcff"] + SCRIPT[2:]
    raw = "".join(line + "\n" for line in script).encode("utf-8", "surrogateescape")
    assert b"\xff\n" in raw
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "VOICE_COACH_DATA": str(data)}
    if stdin_encoding:
        env["PYTHONIOENCODING"] = stdin_encoding
    p = subprocess.run([sys.executable, "-m", "voice_coach", "run", "--console", "--speed", "200", "--events", str(log)],
                       input=raw, capture_output=True, timeout=60, env=env)
    err = p.stderr.decode("utf-8", "replace")
    assert p.returncode == 0, err
    assert "Traceback" not in err and "warning" not in err
    heard = [e["text"] for e in events_of(log) if e["type"] == "heard"]
    assert heard == SCRIPT[:2] + ["\ufffd"] + SCRIPT[2:]
    from voice_coach.journal import read_journal

    (saved,) = read_journal(data / "journal.sqlite3")
    assert saved.outcome == "completed"


@pytest.mark.parametrize("speed", ["0", "-1", "nan", "inf", "-inf", "1e400"])
def test_a_speed_that_is_not_a_positive_finite_number_is_one_line_exit_2(speed):
    p = console([], f"--speed={speed}", timeout=20)
    assert p.returncode == 2 and p.stderr.count("\n") == 1, p.stderr
    assert "--speed" in p.stderr


@pytest.mark.parametrize("arg", ["--deaf-timeout=nan", "--deaf-timeout=0", "--deaf-timeout=inf", "--volume=nan", "--volume=2", "--rate=0"])
def test_other_numbers_are_checked_before_a_session_starts(arg):
    p = subprocess.run([sys.executable, "-m", "voice_coach", "run", arg], capture_output=True, text=True, timeout=20, stdin=subprocess.DEVNULL)
    assert p.returncode == 2 and p.stderr.count("\n") == 1, p.stderr
    assert arg.split("=")[0] in p.stderr


def test_the_console_shows_the_pressure_advice_after_a_stop(tmp_path, content):
    log = tmp_path / "events.jsonl"
    script = SCRIPT[:10] + ["ow, too hard", "resume", "five", "finish"]
    p = console(script, "--events", str(log))
    assert p.returncode == 0, p.stderr
    assert f"coach: {content.routine.control.ease_off}" in p.stdout
    assert f"coach: {content.routine.control.rerate}" in p.stdout
    ev = events_of(log)
    stop = next(e for e in ev if e["type"] == "intent" and e["intent"] == "stop")
    assert stop["value"] == "pressure"
    assert [e["reason"] for e in ev if e["type"] == "hold_end"][0] == "eased_off"
