"""Whisper's encoder window, side by side through the coach's streaming path: `voice-coach bench --engines`
(or `python -m benchmarks.windows [--quick]`).

The same clips, in one run, for each configuration of WhisperRecognizer:
- "5 s + 30 s second listen": the default (finals and partials on a 5 s window; a lone word
  listened to again on the full window, as a partial);
- "30 s": the default before it (every decode on Whisper's full 30 s window);
- "5 s": the short window alone.
Clips: every real "stop" of shared/speech/commands, a sample of the other words, yes, no and
digits (Speech Commands and FSDD), clean and at 6 dB with shared's noise, each streamed through
benchmarks/recog.py's clip path and judged as the coach judges it (benchmarks/scoring.py). Stop
recall is also given without the phrase book's hand-picked sound-alikes ("star", "stuff"...), which
were taken from misses on these very clips and so flatter them; the ones found by pronunciation
(voice_coach/sound_alikes.py) are kept, since no recording chose them. Writes windows.jsonl (per clip) and
windows.md / windows.json.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

from benchmarks import audio as A
from benchmarks.scoring import outcome, rate, score_asked, score_clip

CONFIGS = {"5 s + 30 s second listen (default)": "default", "30 s (the default before)": "win:30", "5 s alone": "win:5"}
CONDS = ((None, "clean"), (6, "6 dB"))


def clip_sets(shared: Path, quick: bool) -> dict:
    from benchmarks.run import plan

    sets = plan(shared, quick)
    k = 4 if quick else 1
    return {"stop": sets["stop"], "negative": sets["negative"][: len(sets["negative"]) // k],
            "yes": A.sample(sets["yes"], 50 // k, 7, key=lambda c: "all"), "no": A.sample(sets["no"], 50 // k, 8, key=lambda c: "all"),
            "cmd_digit": A.sample(sets["cmd_digit"], 80 // k, 9), "fsdd_digit": A.sample(sets["fsdd_digit"], 80 // k, 10, key=lambda c: f"{c.truth}/{c.speaker}")}


def summarize(rows: list[dict], pb) -> dict:
    from benchmarks.run import TRUTH_VALUE

    from voice_coach.sound_alikes import load_dictionary, neighbours

    by_sound = frozenset(neighbours("stop", load_dictionary(), exclude=pb.known))
    plain = dataclasses.replace(pb, sound_alikes={"stop": pb.sound_alikes.get("stop", frozenset()) & by_sound})
    out = {}
    for name, variant in CONFIGS.items():
        res = {}
        for snr, cond in CONDS:
            R = [r for r in rows if r["variant"] == variant and r["snr"] == snr]
            flags = [(r, score_clip(outcome(pb, r["transcripts"]), r["set"], r["truth"], TRUTH_VALUE)) for r in R]
            stop = [f for r, f in flags if r["set"] == "stop"]
            plain_stop = [outcome(plain, r["transcripts"]).urgent is not None for r in R if r["set"] == "stop"]
            dig = [f for r, f in flags if r["set"] in ("cmd_digit", "fsdd_digit") and TRUTH_VALUE[r["truth"]] >= 1]
            yn = [f for r, f in flags if r["set"] in ("yes", "no")]
            neg = [f for r, f in flags if r["set"] == "negative"]
            others = [f for r, f in flags if r["set"] != "stop"]
            # The session's path: the answer to the question asked (decoded with it as context).
            dig_asked = [score_asked(pb, r["transcripts"], r["set"], r["truth"], TRUTH_VALUE)
                         for r in R if r["set"] in ("cmd_digit", "fsdd_digit") and TRUTH_VALUE[r["truth"]] >= 1]
            yn_asked = [score_asked(pb, r["transcripts"], r["set"], r["truth"], TRUTH_VALUE) for r in R if r["set"] in ("yes", "no")]
            neg_asked = [score_asked(pb, r["transcripts"], r["set"], r["truth"], TRUTH_VALUE) for r in R if r["set"] == "negative"]
            res[cond] = {"stop": rate(sum(f["stop"] for f in stop), len(stop)),
                         "stop_without_sound_alikes": rate(sum(plain_stop), len(plain_stop)),
                         "rating": rate(sum(f["rating_ok"] for f in dig), len(dig)),
                         "rating_wrong": rate(sum(f["rating_wrong"] for f in dig), len(dig)),
                         "yesno": rate(sum(bool(f["yesno_ok"]) for f in yn), len(yn)),
                         "false_accepts": rate(sum(f["fa_any"] for f in neg), len(neg)),
                         "false_stops": rate(sum(f["silenced"] for f in others), len(others)),
                         "rating_asked": rate(sum(f["rating_ok"] for f in dig_asked), len(dig_asked)),
                         "rating_wrong_asked": rate(sum(f["rating_wrong"] for f in dig_asked), len(dig_asked)),
                         "yesno_asked": rate(sum(bool(f["yesno_ok"]) for f in yn_asked), len(yn_asked)),
                         "false_answers_asked": rate(sum(f["fa"] for f in neg_asked), len(neg_asked))}
        cpu = [r["cpu"] / r["audio_s"] for r in rows if r["variant"] == variant]
        res["cpu_per_audio_s"] = sum(cpu) / len(cpu) if cpu else None
        out[name] = res
    return out


def markdown(summary: dict, meta: dict) -> str:
    def cell(r):
        return f"{100 * r['p']:.1f}% ({r['k']}/{r['n']})" if r["n"] else "—"

    lines = ["# Whisper's encoder window through the coach's streaming path", "",
             f"`{meta['command']}`, {meta['date']} (meanings scored {meta.get('scored', meta['date'])}), {meta['clips']} clips x {len(CONDS)} conditions x {len(CONFIGS)} configurations "
             f"({meta['wall_s']:.0f} s). Each clip streamed as the microphone would give it and judged as the coach judges it "
             "(any urgent partial or final stops; ratings and yes/no from sure finals, no question asked: the free path; "
             "'when asked': each final understood as the answer to the rating or yes/no question, as the session does, "
             "decoded again with the question as context). "
             "benchmarks/windows.py says how.", "",
             "| | " + " | ".join(summary) + " |", "|---|" + "---|" * len(summary)]
    rows = [("stop recall", "stop"), ("stop recall without the hand-picked sound-alikes", "stop_without_sound_alikes"), ("rating right", "rating"),
            ("rating wrong", "rating_wrong"), ("yes/no right", "yesno"), ("false accepts on other words", "false_accepts"),
            ("false stops on every other clip", "false_stops"),
            ("rating right when asked (the session's path)", "rating_asked"), ("rating wrong when asked", "rating_wrong_asked"),
            ("yes/no right when asked", "yesno_asked"), ("other words taken as the answer when asked (rating or yes/no)", "false_answers_asked")]
    for _, cond in CONDS:
        for title, key in rows:
            lines.append(f"| {title}, {cond} | " + " | ".join(cell(s[cond][key]) for s in summary.values()) + " |")
    lines.append("| recognizer CPU s per audio s of a clip (clips of ~1.8 s, mean) | "
                 + " | ".join(f"{s['cpu_per_audio_s']:.3f}" if s["cpu_per_audio_s"] is not None else "—" for s in summary.values()) + " |")
    return "\n".join(lines) + "\n\nContinuous speech, where the windows differ most in cost, is in engines.md (listening loop).\n"


def main(argv=None) -> int:
    from benchmarks.run import _tasks, clip_items, read_journal, run_pool
    from voice_coach.routine import load_content

    p = argparse.ArgumentParser(prog="python -m benchmarks.windows")
    p.add_argument("--out", type=Path, default=Path("docs/benchmarks"))
    p.add_argument("--content", type=Path, default=Path(__file__).resolve().parent.parent / "content")
    p.add_argument("--quick", action="store_true")
    p.add_argument("--report-only", action="store_true", help="score the journal's transcripts again with today's phrase book (no decoding)")
    a = p.parse_args(argv)
    pb = load_content(a.content).phrases
    stem = "windows_quick" if a.quick else "windows"
    journal = a.out / f"{stem}.jsonl"
    if a.report_only:
        if not journal.is_file():
            print(f"bench windows: no journal {journal}; run python -m benchmarks.windows first", file=sys.stderr)
            return 2
        rows = [r for res in read_journal(journal).values() for r in res]
        meta = json.loads((a.out / f"{stem}.json").read_text())["meta"]
    else:
        shared = A.shared_dir()
        sets = clip_sets(shared, a.quick)
        items = clip_items(sets, [snr for snr, _ in CONDS], sorted((shared / "noise").glob("*.wav")))
        tasks = [t for variant in CONFIGS.values() for t in _tasks("clip", items, variant, a.content, 16)]
        t0 = time.monotonic()
        a.out.mkdir(parents=True, exist_ok=True)
        rows = run_pool(tasks, lambda s: print(f"bench windows:{s}", file=sys.stderr, flush=True), journal=journal)
        meta = {"command": "python -m benchmarks.windows" + (" --quick" if a.quick else ""), "date": time.strftime("%Y-%m-%d %H:%M"),
                "clips": len(items) // len(CONDS), "wall_s": time.monotonic() - t0}
    # The transcripts are the journal's; what they mean is scored now, with today's phrase book.
    meta["scored"] = time.strftime("%Y-%m-%d %H:%M")
    summary = summarize(rows, pb)
    (a.out / f"{stem}.json").write_text(json.dumps({"meta": meta, "summary": summary}, indent=1) + "\n")
    (a.out / f"{stem}.md").write_text(markdown(summary, meta))
    print(f"bench windows: wrote {a.out / (stem + '.md')}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
