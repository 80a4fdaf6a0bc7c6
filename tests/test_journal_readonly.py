"""A journal on a disk that cannot be written (an SD card remounted read-only), for real.

The journal folder is made read-only the way the system would: as root, a read-only bind mount in a
private mount namespace (`unshare -m`), so writes fail with EROFS; as another user, by permissions.
`history`, `export` and the next session's advice (the red-flag warning first) must all still work,
and nothing on the read-only disk changes.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from voice_coach import journal as J
from voice_coach.journal import Journal, read_journal, read_past
from tests.test_journal_support import (  # noqa: F401 - the autouse fixture
    CONTENT, _journal_in_tmp, drive, knot, screening,
)

ROOT = Path(__file__).resolve().parent.parent
RED_FLAG_WARNING = "Last time we stopped for a warning sign: new tingling."
TINGLING = screening() + ["found it", "left shoulder blade", "6", "it's tingling"]
_MOUNT_RO = 'd="$1"; shift; mount --bind "$d" "$d" && mount -o remount,ro,bind "$d" "$d" && exec "$@"'


def _read_only_runner(folder: Path):
    """A function running a command with `folder` truly read-only, or None if this machine cannot."""
    if os.geteuid() != 0:
        def run_by_permissions(argv, **kw):
            modes = {p: p.stat().st_mode for p in [folder, *folder.iterdir()]}
            for p in modes:
                p.chmod(0o555 if p.is_dir() else 0o444)
            try:
                return subprocess.run(argv, **kw)
            finally:
                for p, m in modes.items():
                    p.chmod(m)
        return run_by_permissions
    if not (shutil.which("unshare") and shutil.which("mount")):
        return None
    prefix = ["unshare", "-m", "sh", "-c", _MOUNT_RO, "sh", str(folder)]
    probe = subprocess.run([*prefix, "sh", "-c", f"! touch '{folder}/probe' 2>/dev/null"], capture_output=True, timeout=30)
    if probe.returncode != 0 or (folder / "probe").exists():
        return None

    def run_in_read_only_mount(argv, **kw):
        return subprocess.run([*prefix, *argv], **kw)
    return run_in_read_only_mount


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@pytest.fixture
def red_flag_journal(content, tmp_path, monkeypatch) -> Path:
    data = tmp_path / "ro-data"
    monkeypatch.setenv("VOICE_COACH_DATA", str(data))
    for lines in (screening() + knot("left shoulder blade", 6, softened=True) + ["finish"], TINGLING):
        j = Journal()
        drive(j, lines, content)
        j.close()
    assert [s.status for s in read_journal()] == ["completed", "halted"]
    return data


@pytest.fixture(scope="module")
def content():
    from voice_coach.routine import load_content

    return load_content(CONTENT)


def _cli(run, data: Path, *args: str, stdin: str = ""):
    env = {**os.environ, "VOICE_COACH_DATA": str(data), "PYTHONUNBUFFERED": "1"}
    return run([sys.executable, "-m", "voice_coach", *args], input=stdin, capture_output=True, text=True, timeout=120, env=env, cwd=ROOT)


def test_history_export_and_the_next_sessions_advice_on_a_read_only_disk(red_flag_journal):
    data = red_flag_journal
    run = _read_only_runner(data)
    if run is None:
        pytest.skip("cannot make a folder read-only here (root without unshare/mount)")
    before = _snapshot(data)

    p = _cli(run, data, "history")
    assert p.returncode == 0, p.stderr
    assert "(2 sessions)" in p.stdout and "halted for a red flag (tingling)" in p.stdout

    p = _cli(run, data, "export")
    assert p.returncode == 0, p.stderr
    assert p.stdout.startswith("session,date,outcome") and ",halted," in p.stdout

    p = _cli(run, data, "run", "--console", "--speed", "200", stdin="ready\n")
    assert "Traceback" not in p.stderr
    assert f"coach: {RED_FLAG_WARNING}" in p.stdout, p.stdout  # the cross-session warning survives
    assert "keeping this session in memory" in p.stderr
    assert _snapshot(data) == before  # nothing on the read-only disk changed


def test_events_still_in_the_wal_are_read_from_a_read_only_disk(red_flag_journal, tmp_path):
    """A session killed before its -wal was checkpointed, then the card went read-only."""
    data = red_flag_journal
    db = data / J.DB_NAME
    frozen = tmp_path / "frozen"
    frozen.mkdir()
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA wal_autocheckpoint=0")
    conn.execute("INSERT INTO sessions (started, outcome) VALUES ('2030-01-01T10:00:00', 'declined')")
    for name in (J.DB_NAME, f"{J.DB_NAME}-wal"):  # copy as they are on disk while it is still open
        shutil.copyfile(data / name, frozen / name)
    conn.close()
    assert (frozen / f"{J.DB_NAME}-wal").stat().st_size > 0
    run = _read_only_runner(frozen)
    if run is None:
        pytest.skip("cannot make a folder read-only here (root without unshare/mount)")
    p = _cli(run, frozen, "history")
    assert p.returncode == 0, p.stderr
    assert "(3 sessions)" in p.stdout and "declined" in p.stdout


def test_a_session_that_cannot_write_still_reads_the_past_for_its_advice(red_flag_journal):
    """The same, in process: the journal's writes fail as on a read-only disk (injected error)."""
    def readonly(path):
        raise sqlite3.OperationalError("attempt to write a readonly database")

    j = Journal(connect=readonly, warn=lambda line: None)
    assert j.failure is not None
    assert [s.status for s in j.past] == ["completed", "halted"]
    j.close()


def test_read_past_of_an_unreadable_journal_is_empty(tmp_path):
    bad = tmp_path / J.DB_NAME
    bad.write_bytes(b"not a database at all" * 100)
    assert read_past(bad) == []
    assert read_past(tmp_path / "missing.sqlite3") == []


@pytest.mark.timeout(60)
def test_reading_a_locked_journal_read_only_gives_up_instead_of_hanging(red_flag_journal):
    from tests.test_journal import hold_exclusive_lock

    import threading

    other = hold_exclusive_lock(red_flag_journal / J.DB_NAME)
    got = []
    try:
        # Connection.backup() alone retries a locked source for ever, in C, out of reach of
        # pytest-timeout: run it on a thread and give it a bound.
        t = threading.Thread(target=lambda: got.append(read_past(red_flag_journal / J.DB_NAME)), daemon=True)
        t.start()
        t.join(30)
        assert not t.is_alive(), "read_past hung on a locked journal"
        assert isinstance(got[0], list)  # what it could read (a copy of the file), or nothing
    finally:
        other.execute("ROLLBACK")
        other.close()
