"""`voice-coach bench --false-triggers --quick` on a tiny stand-in for shared's talk, music and room
sets (a few seconds each, cut from the real recordings): the report's shape, and a real "stop"
planted in one talk file is counted as a false stop of that set."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from benchmarks.audio import SR, read_wav, shared_dir
from voice_coach.recognizers import whisper_engine
from voice_coach.wav_io import write_wav

ROOT = Path(__file__).resolve().parents[1]
SHARED = shared_dir()
pytestmark = [
    pytest.mark.skipif(not (SHARED / "speech" / "talk").is_dir(), reason="shared recordings not available"),
    pytest.mark.skipif(not whisper_engine.available(), reason="the default engine is not installed"),
    pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="needs espeak-ng (the coach's voice)"),
]


def _first(folder: str, seconds: float) -> np.ndarray:
    return read_wav(sorted((SHARED / folder).glob("*.wav"))[0])[: int(seconds * SR)]


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    shared = tmp_path_factory.mktemp("shared")
    room = _first("noise/room", 3.0)
    stop = read_wav(sorted((SHARED / "speech" / "commands" / "stop").glob("*.wav"))[0])
    planted = np.concatenate([room[: 2 * SR] // 8, stop, np.zeros(SR, np.int16)])
    for rel, pcm in {"speech/talk/a_planted_stop.wav": planted, "speech/talk/b.wav": _first("speech/talk", 3.0),
                     "noise/music/m.wav": _first("noise/music", 3.0), "noise/room/r.wav": room}.items():
        (shared / rel).parent.mkdir(parents=True, exist_ok=True)
        write_wav(shared / rel, pcm)
    out = tmp_path_factory.mktemp("out")
    env = {**os.environ, "VOICE_COACH_SHARED": str(shared)}
    r = subprocess.run([sys.executable, "-m", "voice_coach", "bench", "--false-triggers", "--quick", "--out", str(out)],
                       cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    return out


def test_the_report_has_every_set_with_its_sample(report):
    res = json.loads((report / "false_triggers.json").read_text())
    assert res["quick"] is True and set(res["sets"]) == {"talk", "music", "room"}
    for name, s in res["sets"].items():
        assert s["files"] == s["files_total"] == (2 if name == "talk" else 1)
        assert s["minutes"] > 0 and s["ducks"]["minutes"] > 0 and s["listening_rtf"] > 0
        for k in ("halts", "stops"):
            assert set(s[k]) == {"count", "per_hour"}
    one = res["sets"]["talk"]["one_core"]  # the talk set again, one process pinned to one CPU
    assert one["files"] == 2 and one["rtf"] > 0 and one["minutes"] > 0
    md = (report / "false_triggers.md").read_text()
    assert "| talk | 2/2 |" in md and "| music | 1/1 |" in md and "Listening CPU on one core (talk, 2 files" in md
    assert (report / "false_triggers_quick.jsonl").is_file() and (report / "targets.md").is_file()


def test_a_stop_planted_in_the_talk_is_counted(report):
    res = json.loads((report / "false_triggers.json").read_text())
    talk = res["sets"]["talk"]
    assert talk["stops"]["count"] >= 1, talk
    assert any(x.startswith("a_planted_stop.wav: stop") for x in talk["examples"]), talk["examples"]
