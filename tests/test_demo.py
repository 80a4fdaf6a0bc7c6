"""The headless demo, and `voice-coach run` on a machine with no sound card (which runs it)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import wave

import pytest

from voice_coach.recognizers import whisper_engine

pytestmark = [
    pytest.mark.timeout(600),
    pytest.mark.skipif(not whisper_engine.available(), reason="the default engine is not installed"),
]


def run(args, tmp_path, **kw):
    env = {**os.environ, "HOME": str(tmp_path)}  # no .asoundrc: no sound devices at all
    return subprocess.run([sys.executable, "-m", "voice_coach", *args], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=500, **kw)


def test_demo_runs_a_whole_session_through_the_real_recognizer(tmp_path):
    events = tmp_path / "events.jsonl"
    p = run(["demo", "--out", str(tmp_path / "demo"), "--events", str(events)], tmp_path)
    assert p.returncode == 0, p.stderr
    ev = [json.loads(line) for line in events.read_text().splitlines()]
    heard = [e["text"].lower() for e in ev if e["type"] == "heard" and e["final"]]
    assert any("ready" in h for h in heard)
    assert [e["type"] for e in ev].count("hold_start") == 2
    halt = next(e for e in ev if e["type"] == "halt")
    assert halt["reason"] == "red_flag"
    assert ev[-1]["type"] == "end" and ev[-1]["outcome"] == "halted"
    with wave.open(str(tmp_path / "demo" / "coach.wav")) as w:
        assert w.getframerate() == 16000 and w.getnframes() / 16000 > 200  # the whole session, in session time
    assert "coach: Did the knot soften?" in p.stdout
    assert "Session halted" in p.stdout


def test_run_without_a_sound_card_says_why_and_shows_the_demo(tmp_path):
    p = run(["run"], tmp_path)
    assert p.returncode == 0, p.stderr
    assert "no sound card found" in p.stderr and "demo" in p.stderr
    assert "coach: Hello." in p.stdout
    assert (tmp_path / "out" / "demo" / "coach.wav").is_file()
