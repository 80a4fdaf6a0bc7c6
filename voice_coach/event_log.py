"""The JSON-lines event log: one object per event or action, flushed as it happens."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TextIO

from voice_coach.errors import EXIT_USAGE, UserError


class EventLog:
    def __init__(self, target: str | None):
        self._own = False
        self._f: TextIO | None = None
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
        if self._f is not None:
            self._f.write(json.dumps(record, ensure_ascii=False) + "\n")
            self._f.flush()

    def close(self) -> None:
        if self._own and self._f is not None:
            self._f.close()
        self._f = None
