"""Feeds a session and tells observers (the event log, the journal) about everything that happens.

Shared by the console, the live audio loop and the demo, so all three log the same way.
"""

from __future__ import annotations

from typing import Callable, Iterable, Sequence

from voice_coach.clock import Clock
from voice_coach.errors import EXIT_DECLINED, EXIT_FAILED, EXIT_HALTED, EXIT_OK, EXIT_QUIT
from voice_coach.events import Action, Event, Failed, Fault, Heard, InputEnded, Pressed, Restored, Say
from voice_coach.routine import Content
from voice_coach.session import COMPLETED, DECLINED, FAILED, HALTED, QUIT, Session

EXIT_CODES = {COMPLETED: EXIT_OK, HALTED: EXIT_HALTED, DECLINED: EXIT_DECLINED, QUIT: EXIT_QUIT, FAILED: EXIT_FAILED}

Observer = Callable[[dict], None]


class SessionDriver:
    def __init__(
        self,
        content: Content,
        clock: Clock,
        observers: Iterable[Observer] = (),
        *,
        start_notes: Sequence[Say] = (),
        summary_notes: Callable[[], Sequence[Say]] | None = None,
    ):
        self.session = Session(content, clock, start_notes=start_notes, summary_notes=summary_notes)
        self.clock = clock
        self.observers = list(observers)

    def feed(self, event: Event) -> list[Action]:
        t = round(self.clock.now(), 3)
        # An event is logged with the phase it arrived in; each action with the phase it came from.
        phase = {"phase": self.session.phase_name} if self.session.phase_name else {}
        if isinstance(event, Heard):
            self._tell({"t": t, "type": "heard", "text": event.text, "final": event.final, **({} if event.sure else {"sure": False}), **phase})
        elif isinstance(event, InputEnded):
            self._tell({"t": t, "type": "input_ended", **phase})
        elif isinstance(event, Fault):
            self._tell({"t": t, "type": "fault", "source": event.source, "code": event.code, "detail": event.detail, **phase})
        elif isinstance(event, Restored):
            self._tell({"t": t, "type": "restored", "source": event.source, **phase})
        elif isinstance(event, Failed):
            self._tell({"t": t, "type": "failed", "source": event.source, "code": event.code, "detail": event.detail, **phase})
        elif isinstance(event, Pressed):
            self._tell({"t": t, "type": "pressed", "command": event.command, **phase})
        actions = self.session.handle(event)
        for a in actions:
            self._tell({"t": t, **a.to_json()})
        return actions

    def note(self, record: dict) -> None:
        """Something outside the session worth logging (a device warning, say)."""
        self._tell({"t": round(self.clock.now(), 3), **record})

    def _tell(self, record: dict) -> None:
        for observe in self.observers:
            observe(record)

    @property
    def exit_code(self) -> int:
        return EXIT_CODES.get(self.session.outcome or QUIT, EXIT_QUIT)
