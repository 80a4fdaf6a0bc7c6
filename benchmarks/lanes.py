"""Stop latency inside the runtime: transcript posted -> cancel applied at the voice, with the
journal on a slow disk (every commit takes `fsync_ms` more, as an SD card's fsync can).

A real session, a real Journal (SQLite, WAL, synchronous=FULL) in a temp folder whose COMMITs are
slowed down, the runtime's dispatcher on its own thread as in `voice-coach run`, and a voice that
notes when cancel() reaches it. Each trial resumes the session (which gives the journal several
records to commit), then, after a random 0-40 ms so that the stop often lands mid-commit, posts a
final "stop" transcript from another thread, as the listener does, and times it to the cancel.

For comparison, the order before the runtime: the journal as the driver's first observer,
committing each record before the next observer and before the caller acts on the actions.
"""

from __future__ import annotations

import random
import sqlite3
import tempfile
import threading
import time
from pathlib import Path

import numpy as np


class SlowDisk:
    """A connection whose COMMIT takes `delay` seconds more."""

    def __init__(self, conn: sqlite3.Connection, delay: float):
        self._c, self._delay = conn, delay

    def execute(self, sql, *args):
        out = self._c.execute(sql, *args)
        if sql.strip().upper() == "COMMIT":
            time.sleep(self._delay)
        return out

    def __getattr__(self, name):
        return getattr(self._c, name)


class TimedVoice:
    def __init__(self):
        self.cancelled = threading.Event()
        self.cancel_at = None

    def say(self, text):
        pass

    def cancel(self):
        if self.cancel_at is None:
            self.cancel_at = time.perf_counter()
            self.cancelled.set()

    @property
    def speaking(self):
        return False


def _journal(folder: Path, fsync_ms: float):
    from voice_coach.journal import Journal, open_db

    return Journal(folder / "journal.sqlite3", connect=lambda p: SlowDisk(open_db(p, busy_seconds=0.2), fsync_ms / 1000), warn=lambda line: None)


def measure_runtime(content, trials: int, fsync_ms: float, seed: int = 7) -> dict:
    from voice_coach.clock import MonotonicClock
    from voice_coach.interfaces import Transcript
    from voice_coach.journal_hook import session_driver
    from voice_coach.runtime import Runtime
    from voice_coach.understand import Understanding

    rng = random.Random(seed)
    lat, behind = [], []
    with tempfile.TemporaryDirectory(prefix="vc_lanes_") as tmp:
        journal = _journal(Path(tmp), fsync_ms)
        driver = session_driver(content, MonotonicClock(), journal)
        voice = TimedVoice()
        rt = Runtime(driver, voice, Understanding(content.phrases), journal=journal)
        stop = threading.Event()
        runner = threading.Thread(target=lambda: rt.run(until=lambda: "stop" if stop.is_set() else None), daemon=True)
        runner.start()
        time.sleep(0.3)
        for _ in range(trials):
            rt.post(Transcript("resume", final=True))
            time.sleep(rng.uniform(0.0, 0.04))
            voice.cancel_at = None
            voice.cancelled.clear()
            backlog = rt.journal_stage.pending
            t0 = time.perf_counter()
            rt.post(Transcript("stop", final=True))
            if not voice.cancelled.wait(5):
                continue
            lat.append(voice.cancel_at - t0)
            behind.append(backlog)
            rt.journal_stage.flush(5)
        stop.set()
        runner.join(5)
        rt.close()
        journal.close()
    return {"trials": len(lat), "fsync_ms": fsync_ms, **_dist(lat), "journal_backlog_at_stop": {"mean": float(np.mean(behind)) if behind else None, "max": int(max(behind)) if behind else None}}


def measure_inline(content, trials: int, fsync_ms: float) -> dict:
    """The order before the runtime: the journal commits each record as the driver tells it, and
    the caller cancels the voice when the session's actions come back."""
    from voice_coach.clock import MonotonicClock
    from voice_coach.events import CancelSpeech, Heard, Start
    from voice_coach.journal_hook import journaled_driver

    lat = []
    with tempfile.TemporaryDirectory(prefix="vc_lanes_") as tmp:
        journal = _journal(Path(tmp), fsync_ms)
        driver = journaled_driver(content, MonotonicClock(), journal=journal)
        driver.feed(Start())
        for _ in range(trials):
            driver.feed(Heard("resume"))
            t0 = time.perf_counter()
            actions = driver.feed(Heard("stop"))
            if any(isinstance(a, CancelSpeech) for a in actions):
                lat.append(time.perf_counter() - t0)
        journal.close()
    return {"trials": len(lat), "fsync_ms": fsync_ms, **_dist(lat)}


def _dist(values) -> dict:
    if not values:
        return {"median_ms": None, "p99_ms": None, "max_ms": None}
    v = np.array(values) * 1000
    return {"median_ms": float(np.median(v)), "p99_ms": float(np.percentile(v, 99)), "max_ms": float(v.max())}


def run_lanes(content_dir: Path, out: Path, trials: int = 200, fsync_ms: float = 20.0, log=print) -> dict:
    import json
    import os
    import platform

    from voice_coach.routine import load_content

    content = load_content(content_dir)
    log(f"bench lanes: {trials} stops through the runtime, journal commits +{fsync_ms:g} ms")
    new = measure_runtime(content, trials, fsync_ms)
    log(f"bench lanes: the same {max(trials // 4, 10)} times with the journal inline (the order before the runtime)")
    old = measure_inline(content, max(trials // 4, 10), fsync_ms)
    res = {"runtime": new, "inline_journal": old, "date": time.strftime("%Y-%m-%d %H:%M"), "load": os.getloadavg()[0],
           "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"}
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "lanes.json").write_text(json.dumps(res, indent=1) + "\n")
    (out / "lanes.md").write_text(_report(res))
    log(f"bench lanes: wrote {out / 'lanes.md'}")
    return res


def _report(r: dict) -> str:
    n, o = r["runtime"], r["inline_journal"]

    def ms(x):
        return "n/a" if x is None else f"{x:.2f} ms"

    return (
        "# Stop latency inside the runtime (transcript posted -> cancel at the voice)\n\n"
        f"Measured {r['date']} on {r['machine']} (load average {r['load']:.1f}) by `voice-coach bench --lanes` "
        "(benchmarks/lanes.py). Every journal COMMIT is slowed by "
        f"{n['fsync_ms']:g} ms, as a slow SD card's fsync; a real session and a real SQLite journal.\n\n"
        "| path | stops | median | p99 | max |\n|---|---|---|---|---|\n"
        f"| runtime: system lane, journal on its own thread | {n['trials']} | {ms(n['median_ms'])} | {ms(n['p99_ms'])} | {ms(n['max_ms'])} |\n"
        f"| before: journal inline, first observer | {o['trials']} | {ms(o['median_ms'])} | {ms(o['p99_ms'])} | {ms(o['max_ms'])} |\n\n"
        f"At the moment of the stop the journal had on average {n['journal_backlog_at_stop']['mean']:.1f} records "
        f"(at most {n['journal_backlog_at_stop']['max']}) still to commit: the stop went past them. "
        "The time from the stop to silence at the speaker adds the audio path (see results.md).\n"
    )


if __name__ == "__main__":  # python -m benchmarks.lanes [TRIALS]
    import sys

    root = Path(__file__).resolve().parents[1]
    run_lanes(root / "content", root / "docs" / "benchmarks", trials=int(sys.argv[1]) if len(sys.argv) > 1 else 200)
