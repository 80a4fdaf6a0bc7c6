"""The routine in content/routine.toml: loaded once, validated strictly, then read-only.

The schema below is the single list of what the coach says and the numbers it times by. A
missing line, an unknown key, a wrong type or a placeholder the coach cannot fill is an error
naming the file and the key.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from voice_coach.errors import ContentError
from voice_coach.events import FAULT_CODES
from voice_coach.intents import PhraseBook, load_phrasebook
from voice_coach.validate import Checker, load_toml

RED_FLAG_KINDS = ("sharp_pain", "radiating", "numbness", "tingling")

# A field is: "text", "lines", ("text", {placeholders}), ("number", low, high), or a nested schema.
TEXT = "text"
LINES = "lines"


def _t(*names: str) -> tuple:
    return ("text", set(names))


def _n(low: float, high: float) -> tuple:
    return ("number", low, high)


SCHEMA: dict[str, dict[str, Any]] = {
    "welcome": {"lines": LINES},
    "preparation": {"lines": LINES, "prompt": TEXT},
    "screening": {
        "intro": TEXT, "declined": TEXT, "all_clear": TEXT,
        "questions": "questions",
        "advisory": {"id": TEXT, "ask": TEXT, "if_yes": TEXT},
    },
    "posture": {"lines": LINES, "prompt": TEXT},
    "warmup": {"start": TEXT, "seconds": _n(5, 600), "cue_every": _n(5, 300), "cue": TEXT, "end": TEXT},
    "palpation": {"lines": LINES, "prompt": TEXT, "where": TEXT, "noted": _t("location")},
    "pressure": {"lines": LINES, "ask_rating": TEXT, "rating_prompt": TEXT},
    "guidance": {
        "low": _n(1, 10), "high": _n(1, 10), "in_range": TEXT, "too_low": TEXT, "too_high": TEXT,
        "release_now": TEXT, "release_at": _n(2, 10), "max_adjustments": _n(1, 10), "ask_again": TEXT, "give_up": TEXT,
        "confirm_at_or_below": _n(0, 10), "confirm": _t("rating"),
    },
    "hold": {
        # The guide: sustained pressure for 30 to 60 seconds. Content may narrow it, not widen it.
        "min_seconds": _n(30, 60), "max_seconds": _n(30, 60), "cue_every": _n(5, 60), "warn_left": _n(0, 30),
        "start": TEXT, "cue": _t("elapsed"), "too_early": TEXT, "warn": _t("seconds"), "release": TEXT,
    },
    "soften": {
        "ask": TEXT, "yes": TEXT, "no": TEXT, "not_improving": _t("rounds"), "max_rounds": _n(1, 10),
        "another_round": TEXT,
    },
    "integrate": {
        "effleurage": TEXT, "effleurage_seconds": _n(5, 600), "petrissage": TEXT,
        "petrissage_seconds": _n(5, 600), "cue_every": _n(5, 300), "cue": TEXT, "done": TEXT,
    },
    "next": {"prompt": TEXT},
    "summary": {
        "intro": TEXT, "knots": _t("knots"), "no_knots": TEXT, "softened": _t("softened"),
        "advice": TEXT, "goodbye": TEXT,
    },
    "halt": {"red_flag": _t("what"), "kinds": {k: TEXT for k in RED_FLAG_KINDS}},
    "control": {
        "paused": TEXT, "resumed": TEXT, "not_understood": TEXT, "help": TEXT, "time_left": _t("seconds"),
        "no_timer": TEXT, "cannot_skip": TEXT, "no_answer": TEXT, "input_ended": TEXT,
        "finished_early": TEXT, "hearing_again": TEXT,
        "listen_timeout_seconds": _n(3, 600),
    },
    "faults": {**{f"{src}_{code}": TEXT for src, codes in FAULT_CODES.items() for code in codes}, "voice_back": TEXT, "failed": TEXT},
    # Said from the journal across sessions (voice_coach/advice.py decides when).
    "journal": {
        "red_flag_last_time": _t("what"), "daily_life_last_time": TEXT, "daily_life_today": TEXT,
        "not_improving": _t("location", "sessions"),
    },
}


@dataclass(frozen=True)
class Content:
    routine: SimpleNamespace
    phrases: PhraseBook
    folder: Path


def load_content(folder: Path) -> Content:
    folder = Path(folder)
    if not folder.is_dir():
        raise ContentError(str(folder), "(folder)", "not found; pass --content DIR or restore content/")
    routine = load_routine(folder / "routine.toml")
    phrases = load_phrasebook(folder / "phrases.toml")
    return Content(routine=routine, phrases=phrases, folder=folder)


def load_routine(path: Path) -> SimpleNamespace:
    data = load_toml(path)
    c = Checker(path)
    r = _section(c, data, "", SCHEMA)
    g, h = r.guidance, r.hold
    if g.low > g.high:
        raise c.fail("guidance.low", f"must not be above guidance.high ({g.high:g})")
    if g.release_at <= g.high:
        raise c.fail("guidance.release_at", f"must be above guidance.high ({g.high:g})")
    if g.confirm_at_or_below >= g.low:
        raise c.fail("guidance.confirm_at_or_below", f"must be below guidance.low ({g.low:g})")
    if h.min_seconds > h.max_seconds:
        raise c.fail("hold.min_seconds", f"must not be above hold.max_seconds ({h.max_seconds:g})")
    if h.warn_left >= h.max_seconds:
        raise c.fail("hold.warn_left", "must be shorter than hold.max_seconds")
    return r


def _section(c: Checker, data: Any, key: str, schema: dict[str, Any]) -> SimpleNamespace:
    c.table(data, key, set(schema))
    out = {}
    for name, kind in schema.items():
        full = f"{key}.{name}" if key else name
        if isinstance(kind, dict):
            out[name] = _section(c, data[name], full, kind)
        elif kind == TEXT:
            out[name] = _checked_text(c, data, key, name, set())
        elif kind == LINES:
            out[name] = [_placeholders(c, f"{full}[{i}]", s, set()) for i, s in enumerate(c.text_list(data, key, name))]
        elif kind == "questions":
            out[name] = _questions(c, data[name], full)
        elif kind[0] == "text":
            out[name] = _checked_text(c, data, key, name, kind[1])
        elif kind[0] == "number":
            out[name] = c.number(data, key, name, kind[1], kind[2])
    return SimpleNamespace(**out)


def _questions(c: Checker, data: Any, key: str) -> list[SimpleNamespace]:
    if not isinstance(data, list) or not data:
        raise c.fail(key, "must be a non-empty list of [[screening.questions]] tables")
    seen = set()
    out = []
    for i, q in enumerate(data):
        qkey = f"{key}[{i}]"
        c.table(q, qkey, {"id", "ask"})
        qid = c.text(q, qkey, "id")
        if qid in seen:
            raise c.fail(f"{qkey}.id", f"duplicate id {qid!r}")
        seen.add(qid)
        out.append(SimpleNamespace(id=qid, ask=_checked_text(c, q, qkey, "ask", set())))
    return out


def _checked_text(c: Checker, data: dict, key: str, name: str, allowed: set[str]) -> str:
    return _placeholders(c, f"{key}.{name}" if key else name, c.text(data, key, name), allowed)


def _placeholders(c: Checker, full: str, text: str, allowed: set[str]) -> str:
    try:
        names = {f for _, f, _, _ in string.Formatter().parse(text) if f is not None}
    except ValueError as e:
        raise c.fail(full, f"bad placeholder: {e}") from None
    bad = names - allowed
    if bad:
        hint = f"; allowed: {{{', '.join(sorted(allowed))}}}" if allowed else "; this line takes none"
        raise c.fail(full, f"unknown placeholder {{{sorted(bad)[0]}}}{hint}")
    return text
