"""The JSON-lines event log: one object per event or action, flushed as it happens."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TextIO

from voice_coach.errors import EXIT_USAGE, UserError


class EventLog:
    """Writes the log. If the very first record cannot be written (a full disk, /dev/full), that is
    one line and exit 2 before the coach has said anything. Later, a failing log must not stop a
    session in the middle of a hold: it warns once on stderr and the session goes on (the journal
    still keeps every event)."""

    def __init__(self, target: str | None, warn=None):
        self._own = False
        self._f: TextIO | None = None
        self._target = target
        self._written = 0
        self._warn = warn or (lambda line: print(line, file=sys.stderr, flush=True))
        self.failure: str | None = None
        if target == "-":
            self._f = sys.stdout
        elif target:
            try:
                path = Path(target)
                path.parent.mkdir(parents=True, exist_ok=True)
                self._f = open(path, "w", encoding="utf-8")
                self._own = True
            except OSError as e:
                raise UserError(f"cannot write the event log {target}: {e.strerror}", EXIT_USAGE) from None

    @property
    def to_stdout(self) -> bool:
        return self._f is sys.stdout

    def __call__(self, record: dict) -> None:
        if self._f is None:
            return
        try:
            self._f.write(json.dumps(record, ensure_ascii=False) + "\n")
            self._f.flush()
        except (OSError, ValueError) as e:  # ValueError: the stream was closed under us
            self._failed(e)
            return
        self._written += 1

    def _failed(self, e: Exception) -> None:
        where = "standard output" if self._target == "-" else self._target
        self.failure = f"cannot write the event log {where}: {getattr(e, 'strerror', None) or e}"
        self.close()
        if not self._written:
            raise UserError(self.failure, EXIT_USAGE) from None
        try:
            self._warn(f"voice-coach: warning: {self.failure}; the session goes on without it (the journal keeps every event)")
        except Exception:  # noqa: BLE001 - a warning must not stop the session
            pass

    def close(self) -> None:
        f, self._f = self._f, None
        if self._own and f is not None:
            try:
                f.close()
            except OSError:
                pass
