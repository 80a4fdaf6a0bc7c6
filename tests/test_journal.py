"""The journal: what it stores, migration, and what happens when the disk or the file misbehaves."""

from __future__ import annotations

import json
import os
import sqlite3
import tempfile
from pathlib import Path

import pytest

from voice_coach import journal as J
from voice_coach.cli import main
from voice_coach.errors import UserError
from voice_coach.history import run_export, run_history
from voice_coach.journal import Journal, journal_path, read_journal
from voice_coach.routine import load_content
from tests.test_journal_support import (  # noqa: F401 - the autouse fixture
    CONTENT, FlakyConnection, _journal_in_tmp, drive, knot, rows, screening,
)

FULL = screening() + knot("left shoulder blade", 6, softened=True) + ["stop", "resume", "finish"]


@pytest.fixture(scope="module")
def content():
    return load_content(CONTENT)


def messages(capsys) -> list[str]:
    return [line for line in capsys.readouterr().err.splitlines() if line]


def test_data_dir_follows_the_env_var(tmp_path, monkeypatch):
    monkeypatch.setenv("VOICE_COACH_DATA", str(tmp_path / "x"))
    assert journal_path() == tmp_path / "x" / "journal.sqlite3"


def test_every_event_is_stored_with_views_and_durable_pragmas(content):
    j = Journal()
    driver, seen = drive(j, FULL, content)
    assert driver.session.outcome == "completed"
    path = journal_path()
    assert j.conn is None  # closed at the end of the session
    conn = J.open_db(path, busy_seconds=0.2)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    conn.close()
    assert rows(path, "PRAGMA user_version") == [(J.SCHEMA_VERSION,)]
    stored = [json.loads(r[0]) for r in rows(path, "SELECT json FROM events WHERE session = 1 ORDER BY seq")]
    assert stored == seen
    assert [r[0] for r in rows(path, "SELECT seq FROM events ORDER BY seq")] == list(range(1, len(seen) + 1))
    (sid, started, ended, outcome, version), = rows(path, "SELECT id, started, ended, outcome, app_version FROM sessions")
    assert (sid, outcome, version) == (1, "completed", "0.1.0") and started and ended
    assert rows(path, "SELECT knot, location FROM knots") == [(1, "left shoulder blade")]
    assert rows(path, "SELECT knot, round, rating, phase, location FROM ratings") == [(1, 1, 6, "pressure", "left shoulder blade")]
    assert rows(path, "SELECT knot, round, seconds, reason, location FROM holds") == [(1, 1, 60.0, "max", "left shoulder blade")]
    assert rows(path, "SELECT knot, round, softened, location FROM softened") == [(1, 1, 1, "left shoulder blade")]
    assert rows(path, "SELECT question, answer FROM screening") == [(q, "no") for q in ("fever", "skin", "wounds", "inflammation", "daily_life")]
    (reason, resumed_t), = rows(path, "SELECT reason, resumed_t FROM pauses")
    assert reason == "stop" and resumed_t is not None
    assert rows(path, "SELECT * FROM halts") == []
    j.close()


def test_halts_view_and_outcome(content):
    j = Journal()
    drive(j, screening() + ["found it", "left shoulder blade", "six", "it's a sharp pain"], content)
    path = journal_path()
    assert rows(path, "SELECT reason, kind FROM halts") == [("red_flag", "sharp_pain")]
    assert rows(path, "SELECT outcome FROM sessions") == [("halted",)]
    assert rows(path, "SELECT reason FROM holds") == [("max",)]  # (the helper answers only when asked)
    j.close()


def test_past_sessions_are_loaded_at_start(content):
    for _ in range(2):
        j = Journal()
        drive(j, FULL, content)
        j.close()
    j = Journal()
    assert [s.id for s in j.past] == [1, 2]
    assert j.past[0].first_rating("left shoulder blade") == 6 and j.past[0].softened_at("left shoulder blade")
    j.close()


# -- migration ------------------------------------------------------------------------------------


def write_v1(path: Path, records: list[dict], outcome: str | None = None) -> None:
    """A journal as version 1 of the schema wrote it, by hand."""
    path.parent.mkdir(parents=True, exist_ok=True)
    c = sqlite3.connect(path)
    c.executescript(J._V1)
    c.execute("INSERT INTO sessions (started, outcome) VALUES ('2026-01-02T18:00:00+00:00', ?)", (outcome,))
    c.executemany(
        "INSERT INTO events VALUES (1, ?, ?, ?, ?)",
        [(i, r["t"], r["type"], json.dumps(r)) for i, r in enumerate(records, 1)],
    )
    c.execute("PRAGMA user_version = 1")
    c.commit()
    c.close()


def test_v1_journal_is_migrated(content, tmp_path):
    probe = Journal(tmp_path / "probe.sqlite3")
    _, seen = drive(probe, FULL, content)
    probe.close()
    path = journal_path()
    write_v1(path, seen, outcome=None)  # v1 never set the outcome
    assert "app_version" not in [r[1] for r in rows(path, "PRAGMA table_info(sessions)")]

    j = Journal()
    assert j.failure is None
    assert rows(path, "PRAGMA user_version") == [(2,)]
    assert "app_version" in [r[1] for r in rows(path, "PRAGMA table_info(sessions)")]
    assert rows(path, "SELECT outcome FROM sessions WHERE id = 1") == [("completed",)]  # backfilled from the end event
    assert rows(path, "SELECT location, rating FROM ratings") == [("left shoulder blade", 6)]
    assert [s.status for s in j.past] == ["completed"]
    drive(j, FULL, content)  # and it takes new sessions
    j.close()
    assert [s.status for s in read_journal()] == ["completed", "completed"]


def test_migration_is_idempotent_and_a_read_only_copy_migrates_in_memory(content, tmp_path):
    path = journal_path()
    write_v1(path, [{"t": 0.0, "type": "end", "outcome": "quit"}])
    assert [s.status for s in read_journal()] == ["quit"]  # history migrates too
    assert [s.status for s in read_journal()] == ["quit"]
    conn = J._readonly_copy(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 2
    conn.close()


def test_a_newer_journal_is_not_touched(capsys):
    path = journal_path()
    path.parent.mkdir(parents=True)
    c = sqlite3.connect(path)
    c.execute("PRAGMA user_version = 99")
    c.close()
    j = Journal()
    assert j.failure and "newer voice-coach" in j.failure
    j.close()
    with pytest.raises(UserError, match="newer voice-coach"):
        run_history()


# -- a damaged or locked file -----------------------------------------------------------------------


GARBAGE = b"this is not a database, it is garbage \x00\xff" * 200


def test_damaged_journal_is_moved_aside_at_session_start(content, capsys):
    path = journal_path()
    path.parent.mkdir(parents=True)
    path.write_bytes(GARBAGE)
    j = Journal()
    lines = messages(capsys)
    assert len(lines) == 1 and "was damaged" in lines[0] and "moved it to journal.sqlite3.damaged-" in lines[0]
    aside = list(path.parent.glob("journal.sqlite3.damaged-*"))
    assert len(aside) == 1 and aside[0].read_bytes() == GARBAGE  # kept, never deleted
    assert j.failure is None
    drive(j, FULL, content)
    j.close()
    assert [s.status for s in read_journal()] == ["completed"]


@pytest.mark.parametrize("command", [["history"], ["export", "--format", "csv"], ["export", "--format", "json"]])
def test_damaged_journal_fails_history_and_export_clearly(command, capsys):
    path = journal_path()
    path.parent.mkdir(parents=True)
    path.write_bytes(GARBAGE)
    assert main(command) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "is damaged" in err and "Traceback" not in err
    assert path.read_bytes() == GARBAGE


def hold_exclusive_lock(path: Path) -> sqlite3.Connection:
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("PRAGMA locking_mode=EXCLUSIVE")
    other.execute("BEGIN EXCLUSIVE")
    other.execute("CREATE TABLE IF NOT EXISTS other_program (x)")
    return other


def test_locked_journal_at_start_keeps_the_session_and_saves_it_later(content, capsys):
    Journal().close()  # create it
    path = journal_path()
    other = hold_exclusive_lock(path)
    j = Journal(retry_seconds=0.0)
    lines = messages(capsys)
    assert len(lines) == 1 and "locked by another program" in lines[0] and "keeping this session in memory" in lines[0]
    assert j.failure
    driver = None
    with pytest.raises(UserError, match="locked by another program"):
        run_history()
    other.execute("ROLLBACK")
    other.close()
    driver, seen = drive(j, FULL, content)
    assert driver.session.outcome == "completed"
    assert any("writable again" in m for m in j.messages)
    j.close()
    stored = [json.loads(r[0]) for r in rows(path, "SELECT json FROM events ORDER BY seq")]
    assert stored == seen and stored[0]["type"] == "journal_warning"


def test_locked_history_exits_non_zero_with_one_line(capsys):
    Journal().close()
    other = hold_exclusive_lock(journal_path())
    try:
        assert main(["history"]) == 1
    finally:
        other.close()
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "locked" in err


# -- a full or read-only disk -----------------------------------------------------------------------


def flaky_journal(**kw) -> tuple[Journal, list]:
    made: list[FlakyConnection] = []

    def connect(p):
        made.append(FlakyConnection(J.open_db(p, busy_seconds=0.2)))
        return made[-1]

    return Journal(connect=connect, **kw), made


@pytest.mark.parametrize("error", [
    sqlite3.OperationalError("database or disk is full"),
    sqlite3.OperationalError("attempt to write a readonly database"),
    sqlite3.OperationalError("disk I/O error"),
])
def test_a_failing_disk_warns_once_and_the_session_goes_on(content, capsys, error, tmp_path, monkeypatch):
    j, _ = flaky_journal()
    drive(j, FULL, content)  # one good session first
    j.close()
    capsys.readouterr()

    fallback_dir = tmp_path / "fallback"
    fallback_dir.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(fallback_dir))
    j, made = flaky_journal(retry_seconds=0.0)
    made[-1].error = error
    driver, seen = drive(j, FULL, content)
    assert driver.session.outcome == "completed"
    lines = messages(capsys)
    assert sum("keeping this session in memory" in m for m in lines) == 1  # once, however many writes fail
    assert made[-1].failures > 10  # it kept trying (retry_seconds=0), silently
    assert any(r.get("type") == "journal_warning" for r in seen)  # and told the event log via note()
    assert j.records == seen  # kept in memory
    unsaved = [m for m in lines if "were not saved to the journal" in m]
    assert len(unsaved) == 1 and str(fallback_dir) in unsaved[0]
    (fallback,) = fallback_dir.glob("voice-coach-unsaved-*.jsonl")
    assert [json.loads(x) for x in fallback.read_text().splitlines()] == seen
    j.close()
    assert [s.status for s in read_journal()] == ["completed"]  # the first session is intact


def test_a_disk_that_fills_mid_session_and_frees_up_loses_nothing(content, capsys):
    j, made = flaky_journal(retry_seconds=1e9)  # only the end retries
    seen_so_far = []

    def fill_at_20(record):
        seen_so_far.append(record)
        if len(seen_so_far) == 20:
            made[-1].error = sqlite3.OperationalError("database or disk is full")
        if len(seen_so_far) == 60:
            made[-1].error = None  # space freed

    driver, seen = drive(j, FULL, content, observers=[fill_at_20])
    assert driver.session.outcome == "completed"
    lines = messages(capsys)
    assert sum("disk full" in m for m in lines) == 1 and any("writable again" in m for m in lines)
    j.close()
    stored = [json.loads(r[0]) for r in rows(journal_path(), "SELECT json FROM events ORDER BY seq")]
    assert stored == seen
    assert rows(journal_path(), "SELECT outcome FROM sessions") == [("completed",)]


def test_data_dir_that_cannot_be_made(content, capsys, monkeypatch, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    monkeypatch.setenv("VOICE_COACH_DATA", str(blocker / "data"))
    j = Journal()
    driver, seen = drive(j, FULL, content)
    assert driver.session.outcome == "completed"
    lines = messages(capsys)
    assert sum("keeping this session in memory" in m for m in lines) == 1
    j.close()


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root ignores directory permissions")
def test_read_only_data_dir(content, capsys):
    d = journal_path().parent
    d.mkdir(parents=True)
    d.chmod(0o500)
    try:
        j = Journal()
        driver, _ = drive(j, FULL, content)
        assert driver.session.outcome == "completed"
        assert sum("keeping this session in memory" in m for m in messages(capsys)) == 1
        j.close()
    finally:
        d.chmod(0o700)


def test_read_only_existing_journal_still_gives_history(content, monkeypatch):
    j = Journal()
    drive(j, FULL, content)
    j.close()
    real = J.open_db

    def readonly(*a, **kw):
        raise sqlite3.OperationalError("attempt to write a readonly database")

    monkeypatch.setattr(J, "open_db", readonly)
    assert [s.status for s in read_journal()] == ["completed"]
    monkeypatch.setattr(J, "open_db", real)


def test_closing_twice_and_after_end_is_harmless(content):
    j = Journal()
    drive(j, FULL, content)
    j.close()
    j.close()
    j({"t": 0, "type": "say", "text": "late"})  # ignored, no error


def test_history_and_export_via_cli_on_empty_journal(capsys, tmp_path):
    assert main(["history"]) == 0
    assert "No sessions in the journal yet" in capsys.readouterr().out
    assert run_export("csv") == 0
    assert capsys.readouterr().out.startswith("session,date,outcome")
