"""Time to the first audible word: Piper (onnxruntime) against espeak-ng (pyttsx3, and its CLI).

A line of the routine is asked for (never cached), rendered whole, and its first audible 20 ms
block found (RMS above -40 dBFS). Time to first audible word = render time + that onset. The
speaker path adds the same for every engine and is left out.

Run on one core, as a Pi core budget asks:
    taskset -c 0 .venv/bin/python -m benchmarks.voice_latency --out docs/benchmarks
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

import numpy as np


def onset_seconds(pcm: np.ndarray, rate: int = 16000) -> float:
    block = rate // 50
    a = pcm.astype(np.float64)
    for i in range(0, len(a) - block + 1, block):
        if np.sqrt(np.mean(a[i : i + block] ** 2)) > 32768 * 10 ** (-40 / 20):
            return i / rate
    return len(a) / rate


def routine_lines(n: int) -> list[str]:
    from voice_coach.paths import default_content_dir
    from voice_coach.routine import load_content

    seen: list[str] = []

    def walk(node):
        if isinstance(node, str):
            if len(node.split()) >= 4 and "{" not in node and node not in seen:
                seen.append(node)
        elif isinstance(node, dict):
            for v in node.values():
                walk(v)
        elif isinstance(node, (list, tuple)):
            for v in node:
                walk(v)
        elif hasattr(node, "__dict__"):
            walk(vars(node))

    walk(load_content(default_content_dir()).routine)
    return seen[:n]


def engines():
    from voice_coach.audio import piper_voice as pv
    from voice_coach.audio.tts import EspeakCliSynthesizer, Pyttsx3Synthesizer

    out = {}
    if pv.piper_available():
        out["piper joe-medium (1 thread)"] = lambda: pv.PiperSynthesizer(pv.find_voice("joe"), threads=1, cache_size=0)
    out["pyttsx3 espeak-ng"] = lambda: Pyttsx3Synthesizer(cache_size=0)
    out["espeak-ng CLI"] = lambda: _uncached(EspeakCliSynthesizer())
    return out


def _uncached(s):
    s._cache.size = 0
    return s


def measure(n_lines: int, repeats: int) -> dict:
    lines = routine_lines(n_lines)
    results = {}
    for name, make in engines().items():
        t = time.perf_counter()
        synth = make()
        synth.synthesize("Ready.")  # first call pays for loading (the model, a worker process)
        load = time.perf_counter() - t
        firsts, renders, rtfs = [], [], []
        for _ in range(repeats):
            for line in lines:
                t = time.perf_counter()
                pcm = synth.synthesize(line)
                took = time.perf_counter() - t
                firsts.append(took + onset_seconds(pcm))
                renders.append(took)
                rtfs.append(took / max(1e-3, len(pcm) / 16000))
        close = getattr(synth, "close", None)
        if close:
            close()
        q = statistics.quantiles(firsts, n=20)
        results[name] = {
            "n": len(firsts),
            "load_s": round(load, 3),
            "first_audible_s": {"min": round(min(firsts), 3), "median": round(statistics.median(firsts), 3), "p95": round(q[18], 3), "max": round(max(firsts), 3)},
            "render_median_s": round(statistics.median(renders), 3),
            "rtf_median": round(statistics.median(rtfs), 3),
        }
    return {
        "lines": len(lines),
        "repeats": repeats,
        "cpus_allowed": len(os.sched_getaffinity(0)),
        "machine": platform.machine(),
        "results": results,
    }


def report(res: dict) -> str:
    rows = [
        "# Time to the first audible word",
        "",
        f"{res['lines']} routine lines x {res['repeats']} runs per engine, never cached, on {res['cpus_allowed']} core(s) "
        f"({res['machine']}, `taskset -c 0`). First audible word = render time + the onset of the first block above -40 dBFS.",
        "A Pi 4 core is about 3-4x slower than one core here: multiply accordingly; this is not a Pi measurement.",
        "",
        "| engine | n | load | first word: min | median | p95 | max | render RTF (median) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, r in res["results"].items():
        f = r["first_audible_s"]
        rows.append(f"| {name} | {r['n']} | {r['load_s']:.2f} s | {f['min']:.2f} s | {f['median']:.2f} s | {f['p95']:.2f} s | {f['max']:.2f} s | {r['rtf_median']:.3f} |")
    return "\n".join(rows) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lines", type=int, default=20)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", type=Path, default=Path("docs/benchmarks"))
    a = ap.parse_args()
    res = measure(a.lines, a.repeats)
    a.out.mkdir(parents=True, exist_ok=True)
    (a.out / "voice_latency.json").write_text(json.dumps(res, indent=2) + "\n")
    (a.out / "voice_latency.md").write_text(report(res))
    print(report(res))


if __name__ == "__main__":
    main()
