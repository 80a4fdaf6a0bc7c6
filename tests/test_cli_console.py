"""Console mode through a real process: stdin in, stdout and the event log out, exit codes."""

import json
import os
import subprocess
import sys

import pytest

SCRIPT = ["ready", "no", "no", "no", "no", "no", "ready", "found it", "left shoulder blade", "six", "yes", "finish"]


def console(lines, *args, timeout=60):
    return subprocess.run(
        [sys.executable, "-m", "voice_coach", "run", "--console", "--speed", "200", *args],
        input="".join(line + "\n" for line in lines), capture_output=True, text=True, timeout=timeout,
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
