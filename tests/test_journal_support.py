"""Helpers for the journal, history and advice tests (no tests here)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from voice_coach.clock import FakeClock
from voice_coach.driver import SessionDriver
from voice_coach.events import Heard, InputEnded, Start, Tick
from voice_coach.journal import Journal
from voice_coach.journal_hook import journaled_driver

ROOT = Path(__file__).resolve().parent.parent
CONTENT = ROOT / "content"


@pytest.fixture(autouse=True)
def _journal_in_tmp(tmp_path, monkeypatch):
    """No journal test may write the user's real journal."""
    monkeypatch.setenv("VOICE_COACH_DATA", str(tmp_path / "vc-data"))
    monkeypatch.delenv("VOICE_COACH_NO_IMPROVEMENT_SESSIONS", raising=False)


def screening(daily_life: str = "no") -> list[str]:
    return ["ready", "no", "no", "no", "no", daily_life, "ready"]


def knot(location: str, rating: int, softened: bool, rounds: int = 3) -> list[str]:
    """Work one knot: a rating, a hold, and the softened answer; rounds repeat until it softens."""
    if softened:
        return ["found it", location, str(rating), "yes"]
    out = ["found it", location]
    for _ in range(rounds):
        out += [str(rating), "no"]
    return out


def drive(journal: Journal, lines: list[str], content, window: int | None = None, observers=()) -> tuple[SessionDriver, list[dict]]:
    """Run a whole session in-process on a fake clock, answering each question with the next line."""
    clock = FakeClock()
    seen: list[dict] = []
    driver = journaled_driver(content, clock, [seen.append, *observers], journal=journal, window=window)
    driver.feed(Start())
    for line in lines:
        for _ in range(20000):
            if driver.session.ended or driver.session.awaiting_answer:
                break
            clock.advance(0.5)
            driver.feed(Tick())
        if driver.session.ended:
            break
        driver.feed(Heard(line))
    for _ in range(20000):
        if driver.session.ended or driver.session.awaiting_answer:
            break
        clock.advance(0.5)
        driver.feed(Tick())
    if not driver.session.ended:
        driver.feed(InputEnded())
    return driver, seen


def rows(path: Path, sql: str, *args) -> list[tuple]:
    c = sqlite3.connect(path)
    try:
        return c.execute(sql, args).fetchall()
    finally:
        c.close()


class FlakyConnection:
    """A real connection whose writes fail on demand (disk full, read-only ...)."""

    def __init__(self, conn: sqlite3.Connection):
        self._c = conn
        self.error: Exception | None = None
        self.failures = 0

    def _check(self, sql: str) -> None:
        if self.error is not None and sql.lstrip().upper().startswith(("INSERT", "UPDATE", "BEGIN")):
            self.failures += 1
            raise self.error

    def execute(self, sql, *args):
        self._check(sql)
        return self._c.execute(sql, *args)

    def executemany(self, sql, *args):
        self._check(sql)
        return self._c.executemany(sql, *args)

    @property
    def in_transaction(self):
        return self._c.in_transaction

    def close(self):
        self._c.close()
