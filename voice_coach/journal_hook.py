"""Where the journal plugs into a driver: `journaled_driver(content, clock, observers)`.

Nothing here may stop a session: a journal that cannot be written warns and keeps going, and
advice that cannot be worked out is simply not said.
"""

from __future__ import annotations

from typing import Callable, Sequence

from voice_coach import advice
from voice_coach.driver import SessionDriver
from voice_coach.events import Say
from voice_coach.journal import Journal


def journaled_driver(content, clock, observers=(), journal: Journal | None = None, window: int | None = None) -> SessionDriver:
    """A driver whose session is journaled and hears the journal's advice.

    The journal is the first observer, so an event is committed before it is logged or shown.
    The advice is worked out before the session is built and handed to it at construction.
    """
    j = journal if journal is not None else Journal()
    start, summary = journal_notes(j, content.routine, window)
    driver = SessionDriver(content, clock, [j, *observers], start_notes=start, summary_notes=summary)
    j.driver = driver
    if j.failure is not None:
        j._note({"type": "journal_warning", "message": j.failure})
    return driver


def session_driver(content, clock, journal: Journal, window: int | None = None) -> SessionDriver:
    """A driver for the runtime: the journal's advice given to the session at construction, and
    the journal told about the driver (for its warnings); the runtime observes the driver and
    hands every record to the journal on its own thread."""
    start, summary = journal_notes(journal, content.routine, window)
    driver = SessionDriver(content, clock, start_notes=start, summary_notes=summary)
    journal.driver = driver
    return driver


def announce(journal: Journal) -> None:
    """Once the driver is observed: log why the journal could not be opened, if it could not."""
    if journal.failure is not None and journal.driver is not None:
        journal.driver.note({"type": "journal_warning", "message": journal.failure})


def journal_notes(j: Journal, routine, window: int | None = None) -> tuple[list[Say], Callable[[], list[Say]]]:
    """The journal's advice: lines to say after the welcome, and a function giving the lines to say
    before the goodbye (worked out then, from this session so far)."""
    n = window or advice.window_from_env()
    try:
        start = render(advice.start_notes(j.past, n), routine)
    except Exception:  # noqa: BLE001 - advice is a courtesy; the session goes on without it
        start = []

    def summary() -> list[Say]:
        try:
            return render(advice.summary_notes(j.past, j.current(), n), routine)
        except Exception:  # noqa: BLE001
            return []

    return start, summary


def render(notes: Sequence[advice.Note], routine) -> list[Say]:
    lines = routine.journal
    out = []
    for note in notes:
        template = getattr(lines, note.kind)
        params = dict(note.params)
        if note.kind == advice.RED_FLAG_LAST_TIME:
            what = getattr(routine.halt.kinds, params.get("kind", ""), None) or str(params.get("kind", "")).replace("_", " ")
            params = {"what": what[:1].lower() + what[1:]}
        out.append(Say(template.format(**params), f"journal.{note.kind}"))
    return out
