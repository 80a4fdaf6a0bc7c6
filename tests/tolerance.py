"""One tolerance for every wall-clock bound in the tests: a timeout is how long a healthy machine
needs, times a factor for a loaded one (two cores shared by several jobs; a Pi is slower still).

    patience(5)  ->  5 s here, times VOICE_COACH_TEST_PATIENCE (default 3)

Tests never assert how fast something is (the benchmarks measure that): a bound only says "it
came", and must not fail because the machine was busy.
"""

from __future__ import annotations

import os

FACTOR = float(os.environ.get("VOICE_COACH_TEST_PATIENCE", "3"))


def patience(seconds: float) -> float:
    return seconds * FACTOR
