"""benchmarks/targets.py: issue 12's ten targets from the committed benchmark JSONs, and a row whose
source is missing says "not measured by the bench yet" with its command instead of failing."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from benchmarks.targets import ROWS, assemble, markdown
from voice_coach.cli import main

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs" / "benchmarks"


def _copy(tmp: Path, *names: str) -> Path:
    for n in names:
        shutil.copy(DOCS / n, tmp / n)
    return tmp


def test_every_row_on_the_committed_figures_has_its_source_date_and_verdict():
    rows = assemble(DOCS)
    assert [r["what"] for r in rows] == [w for w, *_ in ROWS] and len(rows) == 10
    for r in rows:
        for c in r["default"]:
            if c["measured"].startswith("not measured by the bench yet"):
                assert "`" in c["measured"] and c["met"] is None
            else:
                assert (DOCS / c["source"].split()[0]).is_file() and c["date"] and c["met"] in (True, False)
    results = json.loads((DOCS / "results.json").read_text())
    stop = results["summary"]["accuracy"]["default"]["clean"]["stop_silenced"]
    assert f"({stop['k']}/{stop['n']})" in rows[0]["default"][0]["measured"]
    assert rows[0]["default"][0]["date"] == results["meta"]["date"]
    assert {"tiny 30 s", "tiny 10 s", "tiny 5 s", "Moonshine tiny", "PocketSphinx"} <= set(rows[0]["candidates"])
    md = markdown(rows)
    assert md.count("\n| ") == 12  # header, rule and ten rows


def test_a_missing_source_gives_the_not_measured_row(tmp_path):
    rows = {r["what"]: r for r in assemble(_copy(tmp_path, "results.json"))}
    onset = rows["voice onset -> coach silent"]["default"][0]
    assert onset["measured"].startswith("not measured by the bench yet (`voice-coach bench --barge-in`") and onset["met"] is None
    ducks = rows["false ducks / false halts (talk, music, room)"]["default"][0]
    assert "`voice-coach bench --false-triggers`" in ducks["measured"]
    assert rows["stop recall, clean / 6 dB"]["default"][0]["source"] == "results.json"
    assert rows["stop recall, clean / 6 dB"]["candidates"] == {}  # no engines.json


def test_a_quick_false_trigger_run_is_not_judged(tmp_path):
    s = {"files": 2, "files_total": 183, "minutes": 0.3, "halts": {"count": 0, "per_hour": 0.0}, "stops": {"count": 0, "per_hour": 0.0},
         "listening_rtf": 0.5, "ducks": {"count": 0, "per_hour": 0.0, "minutes": 0.3, "files": 2}}
    (tmp_path / "false_triggers.json").write_text(json.dumps({"date": "2026-12-03 11:00", "quick": True, "sets": {"talk": s}}))
    row = next(r for r in assemble(tmp_path) if r["what"].startswith("false ducks"))
    assert row["met"] is None and "NOT the whole sets" in row["default"][0]["measured"]


def test_bench_targets_writes_the_report_from_an_empty_folder(tmp_path):
    assert main(["bench", "--targets", "--out", str(tmp_path)]) == 0
    rows = json.loads((tmp_path / "targets.json").read_text())["rows"]
    assert len(rows) == 10 and all(r["met"] is None for r in rows)
    table = [line for line in (tmp_path / "targets.md").read_text().splitlines() if line.startswith("| ")][2:]
    assert len(table) == 10 and all("not measured by the bench yet" in line for line in table)


def test_the_newest_rig_run_is_used(tmp_path):
    _copy(tmp_path, "results.json")
    rig = {"date": "2999-01-01 00:00", "trials": 50, "detected": 49, "latency": {"median": 0.49, "p95": 1.01}, "session": {"maxrss_mb": 190.0}}
    (tmp_path / "stop_latency.json").write_text(json.dumps(rig))
    rows = {r["what"]: r for r in assemble(tmp_path)}
    assert rows["stops heard over the coach's own voice"]["default"][0]["measured"] == "ALSA rig: 98.0% (49/50)"
    assert rows["stop word end -> session paused"]["default"][0]["source"] == "stop_latency.json"
    assert rows["peak RSS"]["met"] is True
