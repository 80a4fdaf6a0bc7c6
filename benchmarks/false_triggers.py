"""False halts, stops and ducks on hours of real room audio: `voice-coach bench --false-triggers`.

Every file of shared's talk (speech/talk, read sentences), music (noise/music) and room
(noise/room) sets, in full:
- false halts and stops: each file goes through the coach's own listening path exactly as
  benchmarks/recog.py's "file" stream items do (EchoCanceller with no reference, the default
  recognizer as recog.build_recognizer('default', ...) builds it, `Understanding.sure`), on
  benchmarks/run.run_pool's workers, one file a batch; scoring.stream_events counts what the
  session would do (halt = red flag, stop = stop/pause; ratings and yes/no beside them);
- false ducks: the coach speaking (barge_in.coach_track, repeated, its echo at ECHO_GAIN_DB /
  ECHO_DELAY_MS) with a whole set in the room (its files one after another), through
  barge_in.false_ducks: one canceller and detector run per set, as in a session.
- listening CPU on one core: the talk set's files again, one after another in one process pinned to
  one CPU, after everything else has finished (`one_core_rtf`). The pool's own figures, two
  workers side by side on the two cores, read about 1.7x higher (0.165 against 0.099 on the same
  182 files, 2026-12-07): the issue's budget is one core.
Results go to false_triggers.jsonl as they arrive (run_pool's journal, `[key, [record]]` a line:
a file per batch, then `ducks:<set>`; a run cut short resumes where it stopped), then
false_triggers.md / .json. `--quick`: the first QUICK_SECONDS of QUICK_FILES files per set, with
its own journal (false_triggers_quick.jsonl), so it never ends a full run's.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from benchmarks import audio as A

SETS = {"talk": ("speech", "talk"), "music": ("noise", "music"), "room": ("noise", "room")}
ECHO_GAIN_DB, ECHO_DELAY_MS = -6, 60
QUICK_FILES, QUICK_SECONDS = 2, 20.0


def set_files(shared: Path, quick: bool) -> dict[str, list[Path]]:
    files = {name: sorted((shared / a / b).glob("*.wav")) for name, (a, b) in SETS.items()}
    return {name: fs[:QUICK_FILES] if quick else fs for name, fs in files.items()}


def halt_tasks(files: dict[str, list[Path]], content_dir: Path, quick: bool) -> list[dict]:
    """One run_pool batch per file: a recog.py "file" stream item, default recognizer."""
    from benchmarks.run import stable_seed

    tasks = []
    for name, fs in files.items():
        for f in sorted(fs, key=lambda f: -f.stat().st_size):  # the long files first, so none is left alone at the end
            item = {"source": "file", "path": str(f), "set": name, "seed": stable_seed(name, f.name)}
            if quick:
                item["seconds"] = QUICK_SECONDS
            tasks.append({"kind": "stream", "items": [item], "variant": "default", "content_dir": str(content_dir), "engine": "whisper"})
    return tasks


def journal_path(out: Path, quick: bool) -> Path:
    """A quick run keeps its own journal, so it never ends a full run's resumable one."""
    return out / ("false_triggers_quick.jsonl" if quick else "false_triggers.jsonl")


def run(out: Path, shared: Path, content_dir: Path, quick: bool, log) -> None:
    from benchmarks.barge_in import coach_track, false_ducks
    from benchmarks.run import read_journal, run_pool, stable_seed

    files = set_files(shared, quick)
    if not any(files.values()):
        from voice_coach.errors import UserError

        raise UserError(f"no recordings in {shared}/speech/talk, noise/music or noise/room; set VOICE_COACH_SHARED to the shared folder")
    out.mkdir(parents=True, exist_ok=True)
    journal = journal_path(out, quick)
    tasks = halt_tasks(files, content_dir, quick)
    done = read_journal(journal)
    stale = any(isinstance(k, int) and (k >= len(tasks) or res[0]["path"] != tasks[k]["items"][0]["path"]) for k, res in done.items())
    if quick or stale:
        journal.unlink(missing_ok=True)  # a quick run starts afresh; a journal of another plan is not resumed
    log(f"bench false-triggers: halts and stops on {len(tasks)} files through the listening path")
    run_pool(tasks, log, journal=journal)
    done = read_journal(journal)
    coach = coach_track(content_dir)
    with journal.open("a") as jf:
        for name, fs in files.items():
            key = f"ducks:{name}"
            if key in done or not fs:
                continue
            log(f"bench false-triggers: ducks, the coach speaking over all of {name} ({len(fs)} files)")
            bg = np.concatenate([A.read_wav(f)[: int(QUICK_SECONDS * A.SR) if quick else None] for f in fs])
            r = false_ducks(np.resize(coach, len(bg)), bg, ECHO_GAIN_DB, ECHO_DELAY_MS, stable_seed("ducks", name))
            jf.write(json.dumps([key, [{"kind": "ducks", "set": name, "files": len(fs), **r}]]) + "\n")
            jf.flush()
        if "one_core:talk" not in done and files.get("talk"):
            log(f"bench false-triggers: listening CPU on one core, the talk set alone ({len(files['talk'])} files)")
            r = one_core_rtf([t for t in tasks if t["items"][0]["set"] == "talk"])
            jf.write(json.dumps(["one_core:talk", [{"kind": "one_core", "set": "talk", **r}]]) + "\n")
            jf.flush()


def _one_core(tasks: list[dict]) -> dict:
    from benchmarks.recog import run_task

    cpu = audio = 0.0
    for t in tasks:
        for r in run_task(t):
            cpu, audio = cpu + r["cpu"], audio + r["audio_s"]
    return {"cpu": cpu, "audio_s": audio, "files": len(tasks)}


def one_core_rtf(tasks: list[dict]) -> dict:
    """The listening path's CPU per audio second in one process pinned to one CPU, alone.

    The child is started pinned, so every thread it ever has (numpy's, CTranslate2's) shares that
    one CPU. Pinning only the calling thread once it runs read 0.167 against 0.099 on the same
    files: threads started before it stayed free to run on the other core, and added their CPU."""
    import multiprocessing as mp
    import os

    mine = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {max(mine)})
    try:
        pool = mp.get_context("spawn").Pool(1)
    finally:
        os.sched_setaffinity(0, mine)
    with pool:
        return pool.apply(_one_core, (tasks,))


def report(out_dir: Path, content_dir: Path, files_total: dict[str, int], quick: bool) -> dict:
    from benchmarks.run import read_journal
    from benchmarks.scoring import stream_events
    from voice_coach.routine import load_content

    pb = load_content(content_dir).phrases
    records = [r for res in read_journal(journal_path(out_dir, quick)).values() for r in res]

    def per_hour(k, s):
        return k / (s / 3600) if s else None

    sets = {}
    for name in SETS:
        streams = [r for r in records if r.get("set") == name and "transcripts" in r]
        ducks = [r for r in records if r.get("set") == name and r.get("kind") == "ducks"]
        listen_s = sum(r["audio_s"] for r in streams)
        duck_s = sum(r["seconds"] for r in ducks)
        ev = {"halts": 0, "stops": 0, "ratings": 0, "yesno": 0, "examples": []}
        for r in streams:
            e = stream_events(pb, r["transcripts"])
            for k in ("halts", "stops", "ratings", "yesno"):
                ev[k] += e[k]
            ev["examples"] += [f"{Path(r['path']).name}: {x}" for x in e["examples"]]
        n_ducks = sum(r["ducks"] for r in ducks)
        one = next((r for r in records if r.get("set") == name and r.get("kind") == "one_core"), None)
        sets[name] = {
            "files": len(streams), "files_total": files_total.get(name, 0), "minutes": listen_s / 60,
            **{k: {"count": ev[k], "per_hour": per_hour(ev[k], listen_s)} for k in ("halts", "stops", "ratings", "yesno")},
            "examples": ev["examples"],
            "listening_rtf": sum(r["cpu"] for r in streams) / listen_s if listen_s else None,
            "one_core": {"rtf": one["cpu"] / one["audio_s"], "minutes": one["audio_s"] / 60, "files": one["files"]} if one and one["audio_s"] else None,
            "ducks": {"count": n_ducks, "per_hour": per_hour(n_ducks, duck_s), "minutes": duck_s / 60, "files": sum(r["files"] for r in ducks)},
        }
    journal = journal_path(out_dir, quick)
    measured = time.strftime("%Y-%m-%d %H:%M", time.localtime(journal.stat().st_mtime)) if journal.is_file() else None
    # The transcripts are the journal's; what they mean is scored now, with today's phrase book.
    res = {"date": measured, "scored": time.strftime("%Y-%m-%d %H:%M"), "quick": quick, "echo": {"gain_db": ECHO_GAIN_DB, "delay_ms": ECHO_DELAY_MS},
           "engine": "whisper (default, recog.build_recognizer('default'))", "sets": sets}
    (out_dir / "false_triggers.json").write_text(json.dumps(res, indent=1) + "\n")
    (out_dir / "false_triggers.md").write_text(markdown(res))
    return res


def markdown(res: dict) -> str:
    def n(x):
        return "—" if x is None else f"{x:.1f}"

    lines = ["# False halts, stops and ducks on real room audio", "",
             f"Measured {res['date']}{' (QUICK: first 20 s of 2 files per set)' if res['quick'] else ''}, the transcripts' meanings scored {res['scored']}, by "
             "`voice-coach bench --false-triggers` (benchmarks/false_triggers.py; method in its docstring). Listening: every file",
             "through the coach's listening path (echo canceller, Whisper tiny.en, the understanding stage), no one speaking to it.",
             f"Ducks: the coach speaking (echo {res['echo']['gain_db']} dB / {res['echo']['delay_ms']} ms) with the same audio in the room.", "",
             "| set | files | minutes listened | false halts | per hour | false stops | per hour | ratings | yes/no | listening RTF | minutes under the coach | false ducks | per hour |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for name, s in res["sets"].items():
        rtf = "—" if s["listening_rtf"] is None else f"{s['listening_rtf']:.3f}"
        lines.append(f"| {name} | {s['files']}/{s['files_total']} | {s['minutes']:.1f} | {s['halts']['count']} | {n(s['halts']['per_hour'])} | "
                     f"{s['stops']['count']} | {n(s['stops']['per_hour'])} | {s['ratings']['count']} | {s['yesno']['count']} | {rtf} | "
                     f"{s['ducks']['minutes']:.1f} | {s['ducks']['count']} | {n(s['ducks']['per_hour'])} |")
    for name, s in res["sets"].items():
        if s.get("one_core"):
            o = s["one_core"]
            lines += ["", f"Listening CPU on one core ({name}, {o['files']} files, {o['minutes']:.1f} min, one process pinned to one CPU, "
                      f"alone): **{o['rtf']:.3f}** s per audio s. The listening RTF column is the two workers' side by side, which "
                      "share the machine and read higher."]
    lines += ["", "Ratings and yes/no count answers heard with no question asked (the session takes them only when it asks).",
              "A duck on 'talk' is a real voice the coach heard (it resumes its line): a false interruption, not an echo leak.", "",
              "## What was heard", ""]
    for name, s in res["sets"].items():
        lines += [f"- {name}: {x}" for x in s["examples"]] or [f"- {name}: nothing"]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    from benchmarks.run import _log_stderr

    p = argparse.ArgumentParser(prog="python -m benchmarks.false_triggers")
    p.add_argument("--out", type=Path, default=Path("docs/benchmarks"))
    p.add_argument("--content", type=Path, default=Path(__file__).resolve().parent.parent / "content")
    p.add_argument("--quick", action="store_true", help=f"the first {QUICK_SECONDS:.0f} s of {QUICK_FILES} files per set")
    p.add_argument("--report-only", action="store_true")
    a = p.parse_args(argv)
    shared = A.shared_dir()
    if not a.report_only:
        run(a.out, shared, a.content, a.quick, _log_stderr)
    report(a.out, a.content, {k: len(v) for k, v in set_files(shared, a.quick).items()}, a.quick)
    print(f"bench false-triggers: wrote {a.out / 'false_triggers.md'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
