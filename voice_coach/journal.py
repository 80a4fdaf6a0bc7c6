"""The session journal: every event of every session, in SQLite, one commit per event.

Where: `journal.sqlite3` in platformdirs.user_data_dir("voice-coach"), or in $VOICE_COACH_DATA.

Schema (PRAGMA user_version = SCHEMA_VERSION; older files are migrated forward when opened):

    sessions(id, started, ended, outcome, app_version)   one row per session; outcome is NULL while
                                                          running, and stays NULL if the process died
                                                          ("interrupted" in history)
    events(session, seq, t, type, json)                   every record the driver tells its observers,
                                                          exactly as the --events log has it

and views derived from `events` (so there is one source of truth and one INSERT per event):
knots, ratings, holds, softened, screening, pauses, halts, advice.

Durability: WAL with synchronous=FULL (see `_configure`). In a running coach the journal is an
ordered observer on its own thread (voice_coach/runtime.py's JournalStage): it commits what queued
up behind the last commit, and only then does an event reach the event log, the screen or the
speaker, so whatever the person saw or heard acknowledged is on disk. Only a cancel reaches the
voice before the journal. Called directly (`journal(record)`), it commits each record before
returning.

Failure never stops the coach: if the journal cannot be opened or written (read-only or full disk,
locked or damaged file), it warns once on stderr and through the driver's `note()`, keeps the
session in memory, tries again now and then and at the end, and if it still cannot save, writes the
events to a file in the temp folder and says where. A damaged file found at session start is moved
aside (renamed with a timestamp), never deleted.
"""

from __future__ import annotations

import atexit
import json
import os
import sqlite3
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Callable, Iterable

SCHEMA_VERSION = 2
DB_NAME = "journal.sqlite3"
# While a session runs, a lock held by someone else may stall the coach only this long per try:
# the journal is told about every event before the session reacts to it, a "stop" included.
SESSION_BUSY_SECONDS = 0.2
RETRY_SECONDS = 30.0

# -- where ----------------------------------------------------------------------------------------


def data_dir() -> Path:
    override = os.environ.get("VOICE_COACH_DATA")
    if override:
        return Path(override)
    import platformdirs

    return Path(platformdirs.user_data_dir("voice-coach"))


def journal_path() -> Path:
    return data_dir() / DB_NAME


# -- schema ---------------------------------------------------------------------------------------

_V1 = """
CREATE TABLE sessions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    started TEXT NOT NULL,
    ended TEXT,
    outcome TEXT
);
CREATE TABLE events (
    session INTEGER NOT NULL REFERENCES sessions(id),
    seq INTEGER NOT NULL,
    t REAL NOT NULL,
    type TEXT NOT NULL,
    json TEXT NOT NULL,
    PRIMARY KEY (session, seq)
) WITHOUT ROWID;
"""


def _record_view(name: str, what: str, columns: dict[str, str]) -> str:
    cols = "".join(f", json_extract(json, '$.data.{path}') AS {col}" for col, path in columns.items())
    return (
        f"CREATE VIEW {name} AS SELECT session, seq, t{cols} FROM events "
        f"WHERE type = 'record' AND json_extract(json, '$.what') = '{what}';\n"
    )


_V2 = (
    """
ALTER TABLE sessions ADD COLUMN app_version TEXT;
CREATE INDEX events_by_type ON events(type, session);
-- v1 never filled in the outcome of a session that ended; take it from its `end` event.
UPDATE sessions SET outcome = (
    SELECT json_extract(e.json, '$.outcome') FROM events e
    WHERE e.session = sessions.id AND e.type = 'end' ORDER BY e.seq DESC LIMIT 1
) WHERE outcome IS NULL;
"""
    + _record_view("knots", "knot", {"knot": "knot", "location": "location"})
    + _record_view("ratings", "rating", {"knot": "knot", "round": "round", "rating": "value", "phase": "phase", "location": "location"})
    + _record_view("softened", "softened", {"knot": "knot", "round": "round", "softened": "softened", "location": "location"})
    + _record_view("screening", "screening", {"question": "question", "answer": "answer"})
    + _record_view("advice", "advice", {"kind": "kind", "knot": "knot", "location": "location"})
    + """
CREATE VIEW holds AS SELECT e.session, e.seq, e.t,
    json_extract(e.json, '$.knot') AS knot, json_extract(e.json, '$.round') AS round,
    json_extract(e.json, '$.held') AS seconds, json_extract(e.json, '$.reason') AS reason,
    (SELECT k.location FROM knots k WHERE k.session = e.session AND k.knot = json_extract(e.json, '$.knot')) AS location
    FROM events e WHERE e.type = 'hold_end';
CREATE VIEW pauses AS SELECT e.session, e.seq, e.t, json_extract(e.json, '$.reason') AS reason,
    (SELECT min(r.t) FROM events r WHERE r.session = e.session AND r.type = 'resume' AND r.seq > e.seq) AS resumed_t
    FROM events e WHERE e.type = 'pause';
CREATE VIEW halts AS SELECT session, seq, t, json_extract(json, '$.reason') AS reason,
    json_extract(json, '$.kind') AS kind FROM events WHERE type = 'halt';
"""
)

MIGRATIONS: dict[int, str] = {1: _V1, 2: _V2}
assert max(MIGRATIONS) == SCHEMA_VERSION


class JournalError(Exception):
    """The journal cannot be used; `message` is one line a person can act on."""

    def __init__(self, message: str, kind: str = "error"):
        super().__init__(message)
        self.message = message
        self.kind = kind  # damaged | locked | readonly | full | newer | error


def classify(e: BaseException) -> str:
    code = getattr(e, "sqlite_errorcode", None)
    text = str(e).lower()
    if code in (sqlite3.SQLITE_NOTADB, sqlite3.SQLITE_CORRUPT) or "not a database" in text or "malformed" in text:
        return "damaged"
    if code in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED) or "locked" in text:
        return "locked"
    if code == sqlite3.SQLITE_FULL or "full" in text or getattr(e, "errno", None) == 28:
        return "full"
    if code in (sqlite3.SQLITE_READONLY, sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_PERM) or "readonly" in text or "read-only" in text:
        return "readonly"
    if isinstance(e, PermissionError):
        return "readonly"
    return "error"


def describe(e: BaseException) -> str:
    kind = classify(e)
    detail = getattr(e, "strerror", None) or str(e) or type(e).__name__
    return {
        "damaged": f"damaged: {detail}",
        "locked": "locked by another program",
        "full": f"disk full: {detail}",
        "readonly": f"not writable: {detail}",
    }.get(kind, detail)


def _configure(conn: sqlite3.Connection) -> None:
    # WAL + synchronous=FULL: every COMMIT appends the event's pages to the -wal file and fsyncs it
    # before returning, so a committed event survives kill -9 AND power loss. synchronous=NORMAL
    # would survive kill -9 too, but a power cut could roll back the last events since the latest
    # checkpoint, and a power cut is exactly what a Raspberry Pi with its plug pulled gets; safety
    # records (screening answers, red flags) matter more than speed. The cost on the SD card is
    # small: a session produces a few events per second at most (usually one every few seconds),
    # each commit is one sequential append + one fsync of the WAL (no rollback-journal double
    # write, no fsync of the main file until a checkpoint), so a 20-minute session is a few hundred
    # small appends.
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")


def migrate(conn: sqlite3.Connection) -> int:
    """Bring the schema up to SCHEMA_VERSION, one step per transaction. Returns the old version."""
    old = conn.execute("PRAGMA user_version").fetchone()[0]
    if old > SCHEMA_VERSION:
        raise JournalError(f"was written by a newer voice-coach (schema v{old}, this one knows v{SCHEMA_VERSION}); upgrade voice-coach", "newer")
    if old == SCHEMA_VERSION:
        return old
    for version in range(old + 1, SCHEMA_VERSION + 1):
        conn.execute("BEGIN IMMEDIATE")
        try:
            # Another process may have migrated while we waited for the write lock.
            if conn.execute("PRAGMA user_version").fetchone()[0] >= version:
                conn.execute("COMMIT")
                continue
            for statement in _statements(MIGRATIONS[version]):
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {version}")
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
    return old


def _statements(script: str) -> list[str]:
    out, buf = [], ""
    for line in script.splitlines(keepends=True):
        if line.strip().startswith("--"):
            continue
        buf += line
        if sqlite3.complete_statement(buf):
            out.append(buf.strip())
            buf = ""
    assert not buf.strip(), "incomplete statement in a migration"
    return out


def open_db(path: Path, *, busy_seconds: float, create: bool = True) -> sqlite3.Connection:
    """A configured, migrated connection (autocommit mode: transactions are explicit)."""
    mode = "rwc" if create else "rw"
    conn = sqlite3.connect(f"{Path(path).absolute().as_uri()}?mode={mode}", uri=True, timeout=busy_seconds, isolation_level=None, check_same_thread=False)
    try:
        _configure(conn)
        migrate(conn)
    except BaseException:
        conn.close()
        raise
    return conn


def move_aside(path: Path) -> Path:
    """Rename a damaged journal (and its -wal/-shm) with a timestamp; never delete it."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    target = path.with_name(f"{path.name}.damaged-{stamp}")
    n = 1
    while target.exists():
        n += 1
        target = path.with_name(f"{path.name}.damaged-{stamp}-{n}")
    os.replace(path, target)
    for suffix in ("-wal", "-shm"):
        side = Path(f"{path}{suffix}")
        if side.exists():
            os.replace(side, Path(f"{target}{suffix}"))
    return target


# -- reading: the journal as data -------------------------------------------------------------------


def norm_location(location: str | None) -> str | None:
    if not location:
        return None
    return " ".join(str(location).lower().split()) or None


@dataclass
class Round:
    knot: int
    round: int
    location: str | None = None
    ratings: list[int] = field(default_factory=list)
    hold_seconds: float | None = None
    hold_end: str | None = None
    softened: bool | None = None


@dataclass
class SessionData:
    id: int
    started: str
    ended: str | None = None
    outcome: str | None = None  # None: the process ended without an `end` event
    knots: dict[int, str | None] = field(default_factory=dict)
    rounds: list[Round] = field(default_factory=list)
    screening: dict[str, str] = field(default_factory=dict)
    halts: list[tuple[str, str]] = field(default_factory=list)
    pauses: int = 0
    advice: list[str] = field(default_factory=list)

    @property
    def date(self) -> str:
        return self.started[:16].replace("T", " ")

    @property
    def status(self) -> str:
        return self.outcome or "interrupted"

    def locations(self) -> list[str]:
        seen: dict[str, None] = {}
        for loc in self.knots.values():
            if loc:
                seen.setdefault(loc)
        return list(seen)

    def first_rating(self, location: str) -> int | None:
        """The session's pain rating for a location: the first rating given at a knot there."""
        for r in self.rounds:
            if r.location == location and r.ratings:
                return r.ratings[0]
        return None

    def softened_at(self, location: str) -> bool:
        return any(r.softened for r in self.rounds if r.location == location)


def build_session(sid: int, started: str, records: Iterable[dict], ended: str | None = None, outcome: str | None = None) -> SessionData:
    """Turn one session's records (as the driver tells them) into SessionData."""
    s = SessionData(id=sid, started=started, ended=ended, outcome=outcome)
    rounds: dict[tuple[int, int], Round] = {}

    def at(knot, rnd, location=None) -> Round:
        key = (int(knot), int(rnd))
        r = rounds.get(key)
        if r is None:
            r = rounds[key] = Round(key[0], key[1], norm_location(location) or s.knots.get(key[0]))
            s.rounds.append(r)
        elif r.location is None and location:
            r.location = norm_location(location)
        return r

    for rec in records:
        kind = rec.get("type")
        if kind == "record":
            what, data = rec.get("what"), rec.get("data") or {}
            if what == "knot":
                s.knots[int(data["knot"])] = norm_location(data.get("location"))
            elif what == "rating":
                at(data["knot"], data["round"], data.get("location")).ratings.append(int(data["value"]))
            elif what == "softened":
                at(data["knot"], data["round"], data.get("location")).softened = bool(data.get("softened"))
            elif what == "screening":
                s.screening[str(data.get("question"))] = str(data.get("answer"))
            elif what == "advice":
                s.advice.append(str(data.get("kind")))
        elif kind == "hold_end":
            r = at(rec["knot"], rec["round"])
            r.hold_seconds = round((r.hold_seconds or 0.0) + float(rec.get("held", 0.0)), 3)
            r.hold_end = rec.get("reason")
        elif kind == "halt":
            s.halts.append((str(rec.get("reason")), str(rec.get("kind") or "")))
        elif kind == "pause":
            s.pauses += 1
        elif kind == "end" and s.outcome is None:
            s.outcome = rec.get("outcome")
    return s


_USEFUL = ("record", "hold_end", "halt", "pause", "end")


def load_sessions(conn: sqlite3.Connection) -> list[SessionData]:
    """Every session in the journal, oldest first (only the events history and advice need)."""
    rows = conn.execute("SELECT id, started, ended, outcome FROM sessions ORDER BY id").fetchall()
    by_id: dict[int, list[dict]] = {r[0]: [] for r in rows}
    marks = ",".join("?" * len(_USEFUL))
    for sid, text in conn.execute(f"SELECT session, json FROM events WHERE type IN ({marks}) ORDER BY session, seq", _USEFUL):
        if sid in by_id:
            try:
                by_id[sid].append(json.loads(text))
            except ValueError:
                continue
    return [build_session(sid, started, by_id[sid], ended, outcome) for sid, started, ended, outcome in rows]


def read_journal(path: Path | None = None) -> list[SessionData]:
    """For `history` and `export`: every session, or JournalError with one clear line."""
    path = Path(path or journal_path())
    if not path.exists():
        return []
    try:
        conn = open_db(path, busy_seconds=2.0, create=False)
    except JournalError as e:
        raise JournalError(f"the journal {path} {e.message}", e.kind) from None
    except (sqlite3.Error, OSError) as e:
        kind = classify(e)
        if kind != "readonly":
            raise _reading_error(path, e) from None
        conn = _readonly_copy(path)  # a read-only disk: migrate a copy in memory
    try:
        return load_sessions(conn)
    except (sqlite3.Error, OSError) as e:
        raise _reading_error(path, e) from None
    finally:
        conn.close()


def _readonly_copy(path: Path) -> sqlite3.Connection:
    try:
        src = sqlite3.connect(f"{path.absolute().as_uri()}?mode=ro", uri=True, timeout=2.0)
        mem = sqlite3.connect(":memory:", isolation_level=None)
        src.backup(mem)
        src.close()
        migrate(mem)
        return mem
    except JournalError as e:
        raise JournalError(f"the journal {path} {e.message}", e.kind) from None
    except (sqlite3.Error, OSError) as e:
        raise _reading_error(path, e) from None


def _reading_error(path: Path, e: BaseException) -> JournalError:
    kind = classify(e)
    if kind == "damaged":
        msg = f"the journal {path} is damaged ({e}); it was left untouched (the next session moves it aside and starts a fresh one)"
    elif kind == "locked":
        msg = f"the journal {path} is locked by another program; try again when it has finished"
    else:
        msg = f"cannot read the journal {path}: {describe(e)}"
    return JournalError(msg, kind)


# -- writing: the observer ---------------------------------------------------------------------------


def _now_iso() -> str:
    return datetime.now().astimezone().isoformat(timespec="seconds")


def _app_version() -> str:
    try:
        from voice_coach import __version__

        return str(__version__)
    except Exception:  # noqa: BLE001
        return ""


class Journal:
    """A driver observer: `journal(record)` commits the record before returning.

    `past` holds the sessions already in the journal when this one started (for advice).
    """

    def __init__(
        self,
        path: Path | None = None,
        *,
        connect: Callable[[Path], sqlite3.Connection] | None = None,
        warn: Callable[[str], None] | None = None,
        retry_seconds: float = RETRY_SECONDS,
        monotonic: Callable[[], float] = time.monotonic,
    ):
        self.path = Path(path or journal_path())
        self._connect = connect or (lambda p: open_db(p, busy_seconds=SESSION_BUSY_SECONDS))
        self._warn_out = warn or (lambda line: print(line, file=sys.stderr, flush=True))
        self._retry_seconds = retry_seconds
        self._monotonic = monotonic
        self._lock = threading.RLock()
        self.started = _now_iso()
        self.conn: sqlite3.Connection | None = None
        self.session_id: int | None = None
        self.past: list[SessionData] = []
        self.records: list[dict] = []  # everything this session, saved or not; seq = index + 1
        self.saved = 0  # records[:saved] are committed
        self.failure: str | None = None  # why we are in memory-only mode
        self.messages: list[str] = []  # every line we printed (tests read these)
        self.driver = None  # set by journal_hook.attach: warnings also go to driver.note()
        self._last_try = 0.0
        self._in_note = False
        self._busy = False
        self._closed = False
        self._open()
        atexit.register(self.close)

    # -- opening --------------------------------------------------------------------------------

    def _open(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.conn = self._connect(self.path)
            self.past = load_sessions(self.conn)
            return
        except JournalError as e:
            self._close_conn()
            self._fail(f"the journal {self.path} {e.message}")
            return
        except (sqlite3.Error, OSError) as e:
            self._close_conn()
            if classify(e) != "damaged" or not self.path.exists():
                self._fail(f"cannot open the journal {self.path} ({describe(e)})")
                return
            damage = str(e)
        try:
            moved = move_aside(self.path)
        except OSError as e:
            self._fail(f"the journal {self.path} is damaged ({damage}) and could not be moved aside ({e.strerror})")
            return
        self._say(f"voice-coach: the journal {self.path} was damaged ({damage}); moved it to {moved.name} and started a fresh one")
        try:
            self.conn = self._connect(self.path)
            self.past = []
        except (sqlite3.Error, OSError, JournalError) as e:
            self._close_conn()
            self._fail(f"cannot open a fresh journal {self.path} ({getattr(e, 'message', None) or describe(e)})")

    # -- the observer ---------------------------------------------------------------------------

    def __call__(self, record: dict) -> None:
        with self._lock:
            if self._closed:
                return
            if self._in_note:
                # Our own warning, told back to us. If a record caused it, that record is still
                # being told to the other observers: put the warning first, as the log has it.
                self.records.insert(len(self.records) - 1 if self._busy else len(self.records), record)
                return
            self._busy = True
            try:
                self._observe(record)
            finally:
                self._busy = False

    def batch(self, records: list[dict]) -> None:
        """Several records, committed together (one transaction up to each session end): what the
        runtime's journal thread calls with whatever queued up behind the last commit."""
        with self._lock:
            if self._closed:
                return
            self._busy = True
            try:
                for n, record in enumerate(records):
                    if record.get("type") == "end" or n == len(records) - 1:
                        self._observe(record)
                    else:
                        self.records.append(record)
            finally:
                self._busy = False

    def _observe(self, record: dict) -> None:
        self.records.append(record)
        ending = record.get("type") == "end"
        if self.failure is None:
            self._flush()
        elif ending or self._monotonic() - self._last_try >= self._retry_seconds:
            self._retry()
        if ending and self.failure is not None:
            self._give_up()
        if ending and not self.pending:
            # Done: close now (the last connection to close checkpoints the WAL into the main
            # file), rather than hold a file open until exit. A late record reopens it.
            self._close_conn()
            try:
                atexit.unregister(self.close)
            except Exception:  # noqa: BLE001
                pass

    def _flush(self) -> bool:
        try:
            self._write()
        except Exception as e:  # noqa: BLE001 - nothing may stop the session
            self._last_try = self._monotonic()
            self._fail(f"cannot write the journal {self.path} ({describe(e)})")
            return False
        return True

    @property
    def pending(self) -> list[dict]:
        return self.records[self.saved:]

    def _write(self) -> None:
        items = list(enumerate(self.records[self.saved:], self.saved + 1))
        if self.conn is None:
            self.conn = self._connect(self.path)
        c = self.conn
        new_session = self.session_id is None
        c.execute("BEGIN IMMEDIATE")
        try:
            if new_session:
                self.session_id = c.execute(
                    "INSERT INTO sessions (started, app_version) VALUES (?, ?)", (self.started, _app_version())
                ).lastrowid
            c.executemany(
                "INSERT INTO events (session, seq, t, type, json) VALUES (?, ?, ?, ?, ?)",
                [(self.session_id, seq, float(r.get("t", 0.0)), str(r.get("type", "")), json.dumps(r, ensure_ascii=False)) for seq, r in items],
            )
            for _, r in items:
                if r.get("type") == "end":
                    c.execute("UPDATE sessions SET ended = ?, outcome = ? WHERE id = ?", (_now_iso(), r.get("outcome"), self.session_id))
            c.execute("COMMIT")
            self.saved += len(items)
        except BaseException:
            if new_session:
                self.session_id = None
            try:
                if c.in_transaction:
                    c.execute("ROLLBACK")
            except sqlite3.Error:
                pass
            raise

    def _retry(self) -> None:
        self._last_try = self._monotonic()
        if self.conn is None:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self.conn = self._connect(self.path)
            except Exception:  # noqa: BLE001
                self._close_conn()
                return
        held = len(self.pending)
        try:
            self._write()
        except Exception:  # noqa: BLE001
            return
        self.failure = None
        self._say(f"voice-coach: the journal {self.path} is writable again; saved {held} held events")

    def _fail(self, message: str) -> None:
        if self.failure is not None:
            return
        self.failure = message
        self._say(f"voice-coach: warning: {message}; keeping this session in memory and carrying on")
        self._note({"type": "journal_warning", "message": message})

    def _give_up(self) -> None:
        """The session ended and the journal still cannot take it: keep it somewhere, and say where."""
        if not self.pending:
            return
        n = len(self.pending)
        try:
            fd, name = tempfile.mkstemp(prefix="voice-coach-unsaved-", suffix=".jsonl")
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                for r in self.pending:
                    f.write(json.dumps(r, ensure_ascii=False) + "\n")
                f.flush()
                os.fsync(f.fileno())
            where = f"written to {name} instead"
        except OSError as e:
            where = f"and could not be written anywhere else ({e.strerror})"
        self._say(f"voice-coach: warning: {n} events of this session were not saved to the journal ({self.failure}); {where}")
        self.saved = len(self.records)  # handed over to the file (or reported lost): not again

    def _note(self, record: dict) -> None:
        driver = self.driver
        if driver is None or self._in_note:
            return
        self._in_note = True
        try:
            driver.note(record)
        except Exception:  # noqa: BLE001
            pass
        finally:
            self._in_note = False

    def _say(self, line: str) -> None:
        self.messages.append(line)
        try:
            self._warn_out(line)
        except Exception:  # noqa: BLE001
            pass

    # -- the end --------------------------------------------------------------------------------

    def current(self) -> SessionData:
        """This session so far, as data (from memory, whether or not it was saved)."""
        return build_session(self.session_id or 0, self.started, self.records)

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            if self.pending:
                if self.failure is None:
                    self._flush()
                else:
                    self._retry()
                if self.failure is not None:
                    self._give_up()
            self._closed = True
            self._close_conn()
        try:
            atexit.unregister(self.close)
        except Exception:  # noqa: BLE001
            pass

    def _close_conn(self) -> None:
        if self.conn is not None:
            try:
                self.conn.close()
            except sqlite3.Error:
                pass
        self.conn = None
