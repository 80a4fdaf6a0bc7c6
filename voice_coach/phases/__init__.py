"""The session's phases, in the order they run. `PHASES` maps each phase's name to its class.

    preparation -> screening -> posture -> warmup -> palpation -> rating -> hold -> soften
        -> integrate -> (rating again | next_knot) ; next_knot -> palpation | summary

Each module is one phase: what it says, what it accepts, what it does on a tick, what comes next.
"""

from __future__ import annotations

from voice_coach.phases.base import Phase, Question, TimedStep
from voice_coach.phases.hold import Hold
from voice_coach.phases.integrate import Integrate
from voice_coach.phases.next_knot import NextKnot
from voice_coach.phases.palpation import Palpation
from voice_coach.phases.posture import Posture
from voice_coach.phases.preparation import Preparation
from voice_coach.phases.rating import Rating
from voice_coach.phases.screening import Screening
from voice_coach.phases.soften import Soften
from voice_coach.phases.summary import Summary
from voice_coach.phases.warmup import Warmup

ORDER: tuple[type[Phase], ...] = (Preparation, Screening, Posture, Warmup, Palpation, Rating, Hold, Soften, Integrate, NextKnot, Summary)
PHASES: dict[str, type[Phase]] = {p.name: p for p in ORDER}

__all__ = ["ORDER", "PHASES", "Phase", "Question", "TimedStep"]
