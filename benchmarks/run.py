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
    by = lambda s: [c for c in cmd if c.set == s]
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
        for ci, c in enumerate(clips):
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


def run_pool(tasks: list[dict], log) -> list[dict]:
    from benchmarks.recog import run_task

    out = []
    t0 = time.monotonic()
    ctx = mp.get_context("fork")
    with ctx.Pool(WORKERS, maxtasksperchild=50) as pool:
        for k, res in enumerate(pool.imap_unordered(run_task, tasks)):
            out += res
            if (k + 1) % max(1, len(tasks) // 10) == 0:
                log(f"  {k + 1}/{len(tasks)} batches, {time.monotonic() - t0:.0f} s")
    return out


def main(content_dir: Path, out: Path, quick: bool, log=print) -> int:
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
    engines = engine_availability(pb)
    log(f"bench: {'quick' if quick else 'full'} run; engines: {engines}")

    sets = plan(shared, quick)
    tasks = _tasks("clip", clip_items(sets, SNRS, noises), "default", content_dir, 25)
    tasks += _tasks("clip", red_flag_items(quick, noises), "default", content_dir, 20)
    tasks += _tasks("stream", stream_items(shared, content_dir, quick), "default", content_dir, 1)
    # levers, on a subset: thresholds of the rejection and WebRTC noise suppression
    lever_sets = {k: A.sample(v, 12 if quick else 40, 7) for k, v in sets.items()}
    levers = ["ns", "mindur:30"] + ([] if quick else ["thr:-0.002,-0.002", "drop:ow,shh", "mindur:30+drop:ow,shh", "nobestpath"])
    for v in levers:
        snrs = [None, 6]
        tasks += _tasks("clip", clip_items(lever_sets, snrs, noises, tag=v), v, content_dir, 25)
    log(f"bench: {len(tasks)} batches of recognition on {WORKERS} workers")
    t0 = time.monotonic()
    records = run_pool(tasks, log)
    t_recog = time.monotonic() - t0

    log("bench: stop latency through ALSA file devices (real time)")
    from benchmarks.latency import measure_startup, measure_stop_latency

    try:
        latency = measure_stop_latency(repo, content_dir, shared, trials=12 if quick else 60, log=log)
    except Exception as e:  # noqa: BLE001  no libasound, PortAudio trouble: report, do not fail the whole bench
        latency = {"error": f"{type(e).__name__}: {e}"}
    try:
        startup = measure_startup(repo, runs=1 if quick else 3, log=log)
    except Exception as e:  # noqa: BLE001
        startup = {"error": f"{type(e).__name__}: {e}"}

    from benchmarks.report import summarize, write_report

    summary = summarize(records, pb, levers)
    meta = {
        "quick": quick,
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "machine": f"{platform.machine()}, {mp.cpu_count()} cores, Python {platform.python_version()}",
        "engines": engines,
        "wall_s": time.monotonic() - t_all,
        "recognition_wall_s": t_recog,
        "shared": str(shared),
        "sizes": {k: len(v) for k, v in sets.items()},
        "coach_lines": len(coach_lines(content_dir)),
        "load": [load0, os.getloadavg()[0]],
    }
    write_report(out, meta, summary, latency, startup)
    log(f"bench: wrote {out}/results.md in {time.monotonic() - t_all:.0f} s")
    return 0


def engine_availability(pb) -> dict:
    from voice_coach.recognizers import find_english_vosk_model, make_recognizer

    avail = {"pocketsphinx": "available (model in the package)"}
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
