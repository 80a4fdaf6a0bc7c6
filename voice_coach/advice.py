"""Advice across sessions: pure functions from journal data (SessionData, oldest first) to notes.

The rules, precisely:

* **Red flag last time.** If the most recent earlier session was halted for a red flag, the next
  session starts by saying so (with the kind of warning sign).
* **Daily life.** The screening question `daily_life` asks whether the pain disturbs sleep or daily
  life. At the start: if the most recent earlier session that answered it said yes, the coach says
  a healthcare professional or licensed therapist should look at it. In the summary: if this
  session answered yes, it says so again.
* **No improvement.** Per knot location (lower-cased, spaces collapsed; knots with no location are
  left out), take the last N sessions in which a knot was worked at that location (N = `window`,
  default 3, or $VOICE_COACH_NO_IMPROVEMENT_SESSIONS; at least 2). Sessions where the location was
  not worked on neither count nor break the run. The location shows *no improvement* when there
  are at least N such sessions and both:
    1. no knot at that location softened in any of them (no `softened: true` answer), and
    2. the pain rating did not go down: the session's rating for a location is the first rating
       given at a knot there that session; taking the rated sessions among the N, no later one is
       lower than the first one. (With fewer than two rated sessions, ratings show no improvement
       either, so rule 1 decides.)
  At the start this is checked over the earlier sessions; in the summary over the earlier
  sessions plus this one, and only for locations worked on today (the others were said at start).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Sequence

from voice_coach.journal import SessionData

DEFAULT_WINDOW = 3
WINDOW_ENV = "VOICE_COACH_NO_IMPROVEMENT_SESSIONS"
DAILY_LIFE = "daily_life"

RED_FLAG_LAST_TIME = "red_flag_last_time"
DAILY_LIFE_LAST_TIME = "daily_life_last_time"
DAILY_LIFE_TODAY = "daily_life_today"
NOT_IMPROVING = "not_improving"


@dataclass(frozen=True)
class Note:
    """Something to say: `kind` names the line in content [journal]; `params` fill it in."""

    kind: str
    params: dict = field(default_factory=dict)


def window_from_env(default: int = DEFAULT_WINDOW) -> int:
    raw = os.environ.get(WINDOW_ENV, "").strip()
    try:
        n = int(raw) if raw else default
    except ValueError:
        return default
    return n if n >= 2 else default


def not_improving(sessions: Sequence[SessionData], window: int = DEFAULT_WINDOW, only: Sequence[str] | None = None) -> list[Note]:
    """Locations with no improvement over their last `window` sessions, in first-seen order."""
    locations: dict[str, None] = {}
    for s in sessions:
        for loc in s.locations():
            locations.setdefault(loc)
    notes = []
    for loc in locations:
        if only is not None and loc not in only:
            continue
        worked = [s for s in sessions if loc in s.locations()][-window:]
        if len(worked) < window:
            continue
        if any(s.softened_at(loc) for s in worked):
            continue
        rated = [r for r in (s.first_rating(loc) for s in worked) if r is not None]
        if len(rated) >= 2 and min(rated[1:]) < rated[0]:
            continue
        notes.append(Note(NOT_IMPROVING, {"location": loc, "sessions": window}))
    return notes


def start_notes(past: Sequence[SessionData], window: int = DEFAULT_WINDOW) -> list[Note]:
    """What to say after the welcome, from the sessions before this one."""
    notes: list[Note] = []
    if past:
        last = past[-1]
        kinds = [kind for reason, kind in last.halts if reason == "red_flag"]
        if kinds:
            notes.append(Note(RED_FLAG_LAST_TIME, {"kind": kinds[0]}))
    answered = [s for s in past if DAILY_LIFE in s.screening]
    if answered and answered[-1].screening[DAILY_LIFE] == "yes":
        notes.append(Note(DAILY_LIFE_LAST_TIME))
    notes += not_improving(past, window)
    return notes


def summary_notes(past: Sequence[SessionData], today: SessionData, window: int = DEFAULT_WINDOW) -> list[Note]:
    """What to say before the goodbye, from the earlier sessions and this one."""
    notes: list[Note] = []
    if today.screening.get(DAILY_LIFE) == "yes":
        notes.append(Note(DAILY_LIFE_TODAY))
    notes += not_improving([*past, today], window, only=today.locations())
    return notes
