"""Where the journal plugs into every driver.

    observers = [log]
    observers[:0] = journal_observers()   # first: an event is committed before anyone sees it
    driver = SessionDriver(content, clock, observers)
    attach_journal(driver)                # advice lines at start and summary; warnings via note()

Nothing here may stop a session: a journal that cannot be written warns and keeps going, and
advice that cannot be worked out is simply not said.
"""

from __future__ import annotations

from typing import Sequence

from voice_coach import advice
from voice_coach.events import Say
from voice_coach.journal import Journal

_active: Journal | None = None


def journal_observers() -> list:
    """A fresh Journal for the session about to run (opened now, so warnings come early)."""
    global _active
    _active = Journal()
    return [_active]


def active_journal() -> Journal | None:
    return _active


def attach_journal(driver, journal: Journal | None = None, window: int | None = None) -> None:
    """Give the driver's session the journal's advice lines, and the journal the driver's note()."""
    j = journal or _active
    if j is None:
        return
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
