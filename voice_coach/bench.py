"""`voice-coach bench`: recognition accuracy on real speech, false triggers, stop latency and cost.

Every available engine is measured, the default (Whisper tiny.en) first: the targets are judged on
it, PocketSphinx (the light fallback) is shown beside it. Environment knobs: VOICE_COACH_BENCH_ENGINES
(comma-separated engines to measure), VOICE_COACH_BENCH_REUSE (engines whose figures are taken from
the existing results.json in --out), VOICE_COACH_BENCH_CACHE (a folder where finished phases and
recognition batches are kept, so an interrupted run resumes), VOICE_COACH_BENCH_ONLY_DONE (report on
the batches already in that cache, run no more). `--lanes` measures only the runtime's stop path
(transcript posted -> cancel at the voice) with a slow journal disk (benchmarks/lanes.py).
`--engines` measures the candidate recognizers side by side (benchmarks/engines.py), then Whisper's
encoder windows through the coach's streaming path (benchmarks/windows.py).
`--false-triggers` counts false halts, stops and ducks over every file of shared's talk, music and
room audio (benchmarks/false_triggers.py). Every mode ends by assembling targets.md / targets.json
from the figures in --out (benchmarks/targets.py); `--targets` does only that; `--all` runs every
mode in turn, so every row is measured again.

The benchmark code lives in the repository's `benchmarks/` package (it needs the recordings in
../shared and the ALSA rig, neither of which ships with the coach); this is its entry point.
"""

from __future__ import annotations

import sys
from pathlib import Path

from voice_coach.errors import UserError


def run_bench(content_dir: Path, out: Path, quick: bool, lanes: bool = False, engines: bool = False, barge_in: bool = False,
              false_triggers: bool = False, targets: bool = False, every: bool = False) -> int:
    """every: every mode in turn (recognition and latency, engines, barge-in, false triggers, lanes),
    so that every row of targets.md is measured again; hours on this machine."""
    repo = Path(__file__).resolve().parents[1]
    if not (repo / "benchmarks" / "run.py").is_file():
        raise UserError(f"voice-coach bench needs the source checkout (no benchmarks/ next to {repo / 'voice_coach'})")
    if str(repo) not in sys.path:
        sys.path.insert(0, str(repo))
    if every:
        rc = _measure(Path(content_dir), Path(out), quick, False, False, False, False)
        rc |= _measure(Path(content_dir), Path(out), quick, False, True, True, True)
        rc |= _measure(Path(content_dir), Path(out), quick, True, False, False, False)
    else:
        rc = 0 if targets else _measure(Path(content_dir), Path(out), quick, lanes, engines, barge_in, false_triggers)
    from benchmarks.targets import write_targets

    write_targets(Path(out))
    print(f"bench: wrote {Path(out) / 'targets.md'}", file=sys.stderr)
    return rc


def _measure(content_dir: Path, out: Path, quick: bool, lanes: bool, engines: bool, barge_in: bool, false_triggers: bool) -> int:
    if lanes:
        from benchmarks.lanes import run_lanes

        run_lanes(content_dir, out, trials=40 if quick else 200)
        return 0
    if engines or barge_in or false_triggers:
        args = ["--out", str(out), "--content", str(content_dir)]
        rc = 0
        if engines:
            from benchmarks.engines import main as engines_main

            rc |= engines_main(args + (["--quick"] if quick else []))
            from benchmarks.windows import main as windows_main

            rc |= windows_main(args + (["--quick"] if quick else []))
        if barge_in:
            from benchmarks.barge_in import main as barge_main

            rc |= barge_main(args + (["--stops", "6"] if quick else []))
        if false_triggers:
            from benchmarks.false_triggers import main as false_main

            rc |= false_main(args + (["--quick"] if quick else []))
        return rc
    from benchmarks.run import main

    return main(content_dir, out, quick)
