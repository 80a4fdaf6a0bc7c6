from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from voice_coach.clock import FakeClock
from voice_coach.routine import load_content
from voice_coach.session import Session

ROOT = Path(__file__).resolve().parent.parent
CONTENT = ROOT / "content"
SHARED = ROOT.parent / "shared"


@pytest.fixture(autouse=True)
def _isolated_user_dirs(tmp_path_factory, monkeypatch):
    """No test may touch the user's real journal or audio config."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("VOICE_COACH_DATA", str(home / "data"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))


@pytest.fixture(scope="session")
def content():
    return load_content(CONTENT)


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def session(content, clock):
    return Session(content, clock)


@pytest.fixture
def content_copy(tmp_path):
    """A writable copy of the content folder, for tests that break it."""
    dst = tmp_path / "content"
    shutil.copytree(CONTENT, dst)
    return dst
