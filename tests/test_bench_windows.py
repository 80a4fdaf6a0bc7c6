"""benchmarks/windows.py --report-only: a journal's transcripts scored again with today's phrase
book, without decoding anything (the phrase book changes more often than the windows)."""

from __future__ import annotations

import json

from benchmarks import windows


def _row(set_, truth, texts, snr=None, variant="default", asked=None):
    return {"set": set_, "truth": truth, "snr": snr, "variant": variant, "cpu": 0.1, "audio_s": 1.0,
            "transcripts": [[t, final, 0.5, 1.0, True, *([asked] if asked and final else [])] for t, final in texts]}


def test_report_only_scores_the_journal_with_todays_phrase_book(tmp_path):
    rows = [_row("stop", "stop", [("Stick.", True)]), _row("stop", "stop", [("Stop.", False), ("Stop.", True)]),
            _row("stop", "stop", [("Star.", True)]), _row("negative", "left", [("Left.", True)]),
            _row("cmd_digit", "six", [("6", True)]),
            # Heard as "Sex." with no question; as "6" with the rating question as context.
            _row("cmd_digit", "six", [("Sex.", True)], asked={"rating": ["6", True], "yes_no": ["Sex.", True]}),
            # An urgent answer heard only with the question acts as urgent: no rating.
            _row("cmd_digit", "two", [("Do", True)], asked={"rating": ["stop", True], "yes_no": ["Do", True]}),
            _row("negative", "go", [("Go.", True)], asked={"rating": ["Go.", True], "yes_no": ["No.", True]})]
    (tmp_path / "windows.jsonl").write_text(json.dumps([0, rows]) + "\n")
    (tmp_path / "windows.json").write_text(json.dumps({"meta": {"command": "python -m benchmarks.windows", "date": "2026-01-01 00:00",
                                                                "clips": 8, "wall_s": 1.0}}))
    assert windows.main(["--out", str(tmp_path), "--report-only"]) == 0
    clean = json.loads((tmp_path / "windows.json").read_text())["summary"]["5 s + 30 s second listen (default)"]["clean"]
    assert (clean["stop"]["k"], clean["stop"]["n"]) == (3, 3)
    # "Star." is a hand-picked sound-alike (from these clips' misses); "Stick." is one by pronunciation.
    assert clean["stop_without_sound_alikes"]["k"] == 2
    assert (clean["false_accepts"]["k"], clean["false_accepts"]["n"]) == (0, 2)
    assert (clean["rating"]["k"], clean["rating"]["n"]) == (1, 3)
    assert (clean["rating_asked"]["k"], clean["rating_wrong_asked"]["k"]) == (2, 0)
    assert (clean["false_answers_asked"]["k"], clean["false_answers_asked"]["n"]) == (1, 2)
    md = (tmp_path / "windows.md").read_text()
    assert "2026-01-01 00:00 (meanings scored" in md and "100.0% (3/3)" in md


def test_report_only_without_a_journal_says_what_to_run(tmp_path, capsys):
    assert windows.main(["--out", str(tmp_path), "--report-only"]) == 2
    assert "run python -m benchmarks.windows first" in capsys.readouterr().err
