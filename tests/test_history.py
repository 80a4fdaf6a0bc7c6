"""`voice-coach history` and `export`: what a person and a therapist get to read."""

from __future__ import annotations

import csv
import io
import json
import sys

import pytest

from voice_coach.cli import main
from voice_coach.errors import UserError
from voice_coach.history import EXPORT_FIELDS, run_export, run_history
from voice_coach.journal import Journal
from voice_coach.routine import load_content
from tests.test_journal_support import CONTENT, _journal_in_tmp, drive, knot, screening  # noqa: F401

L, R = "left shoulder blade", "right lower back"


@pytest.fixture(scope="module")
def content():
    return load_content(CONTENT)


@pytest.fixture
def journal(content):
    """Four sessions: L softens late, R never; a declined one; a red-flag halt."""
    scripts = [
        screening() + knot(L, 7, softened=False) + ["next knot", "found it", R, "six", "no", "six", "no", "six", "no", "finish"],
        screening() + knot(L, 6, softened=True) + ["finish"],
        ["ready", "yes"],  # fever: declined
        screening("yes") + ["found it", L, "five", "yes", "found it", R, "seven", "sharp pain"],
    ]
    for lines in scripts:
        j = Journal()
        drive(j, lines, content)
        j.close()


def test_history_lists_sessions_and_locations(journal, capsys):
    assert main(["history"]) == 0
    out = capsys.readouterr().out
    sessions = out.split("Sessions\n")[1].split("\n\n")[0].splitlines()[1:]
    cells = [line.split() for line in sessions]
    assert [c[0] for c in cells] == ["1", "2", "3", "4"]
    assert [c[3] for c in cells] == ["completed", "completed", "declined", "halted"]
    assert [c[4] for c in cells] == ["2", "1", "0", "2"]  # knots
    assert [c[5] for c in cells] == ["0", "1", "0", "1"]  # softened
    assert sessions[2].rstrip().endswith("contraindication: fever")
    assert sessions[3].rstrip().endswith("red flag: sharp pain")
    locs = {line.split("  ")[1].strip(): line for line in out.split("Knot locations\n")[1].split("\n\n")[0].splitlines()[1:]}
    # L: sessions 1 (3 rounds, 7), 2 (1 round, 6), 4 (1 round, 5) -> first 7, last 5, 5 rounds
    assert locs[L].split()[3:6] == ["3", "5", "7"]
    assert " 5 (" in locs[L] and locs[L].rstrip().endswith("2 of 3 sessions")
    assert locs[R].split()[3:6] == ["2", "4", "6"]
    assert locs[R].rstrip().endswith("0 of 2 sessions")
    assert "Advice" in out and "red flag (sharp pain)" in out and "sleep or daily life" in out


def test_history_plot(journal, tmp_path, capsys):
    pytest.importorskip("matplotlib")
    target = tmp_path / "plots" / "pain.png"
    assert run_history(plot=target) == 0
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert f"Plot written to {target}" in capsys.readouterr().out


def test_history_plot_on_an_empty_journal(tmp_path):
    pytest.importorskip("matplotlib")
    target = tmp_path / "empty.png"
    assert run_history(plot=target) == 0
    assert target.exists()


def test_history_plot_without_matplotlib(journal, tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import fails
    assert main(["history", "--plot", str(tmp_path / "x.png")]) == 1
    assert capsys.readouterr().err == "voice-coach: install matplotlib: pip install matplotlib\n"


def test_export_csv_one_row_per_round(journal, tmp_path):
    target = tmp_path / "out" / "journal.csv"
    assert main(["export", "--format", "csv", "-o", str(target)]) == 0
    rows = list(csv.DictReader(io.StringIO(target.read_text())))
    assert list(rows[0]) == EXPORT_FIELDS
    s1 = [r for r in rows if r["session"] == "1"]
    assert [(r["location"], r["knot"], r["round"], r["rating"], r["hold_seconds"], r["softened"]) for r in s1] == [
        (L, "1", "1", "7", "60.0", "no"), (L, "1", "2", "7", "60.0", "no"), (L, "1", "3", "7", "60.0", "no"),
        (R, "2", "1", "6", "60.0", "no"), (R, "2", "2", "6", "60.0", "no"), (R, "2", "3", "6", "60.0", "no"),
    ]
    (declined,) = [r for r in rows if r["session"] == "3"]
    assert declined["outcome"] == "declined" and declined["halt"] == "contraindication: fever" and declined["location"] == ""
    s4 = [r for r in rows if r["session"] == "4"]
    assert [(r["location"], r["rating"], r["softened"], r["halt"]) for r in s4] == [
        (L, "5", "yes", "red flag: sharp pain"), (R, "7", "", "red flag: sharp pain"),
    ]
    assert all(r["date"] for r in rows)


def test_export_json_to_stdout(journal, capsys):
    assert run_export("json") == 0
    data = json.loads(capsys.readouterr().out)
    assert [s["outcome"] for s in data["sessions"]] == ["completed", "completed", "declined", "halted"]
    assert data["sessions"][3]["screening"]["daily_life"] == "yes"
    assert data["sessions"][3]["halts"] == [{"reason": "red_flag", "kind": "sharp_pain"}]
    assert data["sessions"][1]["rounds"] == [
        {"location": L, "knot": 1, "round": 1, "rating": 6, "all_ratings": [6], "hold_seconds": 60.0, "hold_end": "max", "softened": True}
    ]
    locs = {x["location"]: x for x in data["locations"]}
    assert (locs[L]["first_rating"], locs[L]["last_rating"], locs[L]["rounds"]) == (7, 5, 5)


def test_export_to_an_unwritable_place(journal, tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(["export", "-o", str(blocker / "sub" / "out.csv")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("voice-coach: cannot write") and err.count("\n") == 1


def test_history_of_an_interrupted_session(content, capsys):
    j = Journal()
    j({"t": 0.0, "type": "say", "text": "Hello.", "key": "welcome.lines[0]"})
    j.conn.close()  # as if the process died: no end event, no close
    j.conn = None
    j._closed = True
    assert run_history() == 0
    assert "interrupted" in capsys.readouterr().out


def test_unknown_export_format():
    with pytest.raises(UserError, match="unknown export format"):
        run_export("xml")
