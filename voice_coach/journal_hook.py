"""Where the journal plugs into a driver: `journaled_driver(content, clock, observers)`.

Nothing here may stop a session: a journal that cannot be written warns and keeps going, and
advice that cannot be worked out is simply not said.
"""

from __future__ import annotations

from typing import Sequence

from voice_coach import advice
from voice_coach.driver import SessionDriver
from voice_coach.events import Say
from voice_coach.journal import Journal


def journaled_driver(content, clock, observers=()) -> SessionDriver:
    """A driver whose session is journaled and hears the journal's advice.

    The journal is the first observer, so an event is committed before it is logged or shown.
    """
    journal = Journal()
    driver = SessionDriver(content, clock, [journal, *observers])
    attach_journal(driver, journal)
    return driver


def attach_journal(driver, j: Journal, window: int | None = None) -> None:
    """Give the driver's session the journal's advice lines, and the journal the driver's note()."""
    j.driver = driver
    if j.failure is not None:
        j._note({"type": "journal_warning", "message": j.failure})
    session = driver.session
    routine = session.r
    n = window or advice.window_from_env()
    try:
        session.start_notes = [*session.start_notes, *render(advice.start_notes(j.past, n), routine)]
    except Exception:  # noqa: BLE001 - advice is a courtesy; the session goes on without it
        pass

    def summary(_session) -> list[Say]:
        try:
            return render(advice.summary_notes(j.past, j.current(), n), routine)
        except Exception:  # noqa: BLE001
            return []

    session.summary_notes = summary


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
