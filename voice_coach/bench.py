"""`voice-coach bench`: recognition accuracy on real speech, false triggers, stop latency and cost.

The benchmark code lives in the repository's `benchmarks/` package (it needs the recordings in
../shared and the ALSA rig, neither of which ships with the coach); this is its entry point.
"""

from __future__ import annotations

import sys
from pathlib import Path

from voice_coach.errors import UserError


def run_bench(content_dir: Path, out: Path, quick: bool) -> int:
    repo = Path(__file__).resolve().parents[1]
    if not (repo / "benchmarks" / "run.py").is_file():
        raise UserError(f"voice-coach bench needs the source checkout (no benchmarks/ next to {repo / 'voice_coach'})")
    if str(repo) not in sys.path:
        sys.path.insert(0, str(repo))
    from benchmarks.run import main

    return main(Path(content_dir), Path(out), quick)
