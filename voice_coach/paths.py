"""Where things live: the project's content and models, and the user's data."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def default_content_dir() -> Path:
    return Path(os.environ.get("VOICE_COACH_CONTENT", PROJECT_ROOT / "content"))


def default_models_dir() -> Path:
    return Path(os.environ.get("VOICE_COACH_MODELS", PROJECT_ROOT / "models"))
