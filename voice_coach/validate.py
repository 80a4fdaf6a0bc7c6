"""Strict checks for content files: every problem names the file and the key."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from voice_coach.errors import ContentError


def load_toml(path: Path) -> dict[str, Any]:
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        raise ContentError(str(path), "(file)", "missing; restore it from the repository") from None
    except tomllib.TOMLDecodeError as e:
        raise ContentError(str(path), "(syntax)", f"not valid TOML: {e}") from None
    except UnicodeDecodeError as e:
        raise ContentError(str(path), "(file)", f"not UTF-8 text (byte {e.start}); save it as UTF-8") from None
    except OSError as e:
        raise ContentError(str(path), "(file)", f"cannot be read: {e.strerror}") from None


class Checker:
    """Walks a parsed TOML table, rejecting unknown keys and wrong types."""

    def __init__(self, file: Path | str):
        self.file = str(file)

    def fail(self, key: str, problem: str) -> ContentError:
        return ContentError(self.file, key, problem)

    def table(self, data: Any, key: str, allowed: set[str], required: set[str] | None = None) -> dict:
        if not isinstance(data, dict):
            raise self.fail(key or "(top level)", f"must be a table, got {type(data).__name__}")
        for k in data:
            if k not in allowed:
                raise self.fail(_join(key, k), f"unknown key; expected one of: {', '.join(sorted(allowed))}")
        for k in sorted(required if required is not None else allowed):
            if k not in data:
                raise self.fail(_join(key, k), "missing")
        return data

    def text(self, data: dict, key: str, name: str) -> str:
        value = data.get(name)
        full = _join(key, name)
        if not isinstance(value, str):
            raise self.fail(full, f"must be text, got {_kind(value)}")
        if not value.strip():
            raise self.fail(full, "must not be empty")
        return value.strip()

    def number(self, data: dict, key: str, name: str, low: float, high: float) -> float:
        value = data.get(name)
        full = _join(key, name)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.fail(full, f"must be a number, got {_kind(value)}")
        if not low <= value <= high:
            raise self.fail(full, f"must be between {low:g} and {high:g}, got {value:g}")
        return float(value)

    def text_list(self, data: dict, key: str, name: str, allow_empty: bool = False) -> list[str]:
        value = data.get(name)
        full = _join(key, name)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.fail(full, f"must be a list of text, got {_kind(value)}")
        if not value and not allow_empty:
            raise self.fail(full, "must not be empty")
        for i, v in enumerate(value):
            if not v.strip():
                raise self.fail(f"{full}[{i}]", "must not be empty")
        return [v.strip() for v in value]


def _join(key: str, name: str) -> str:
    return f"{key}.{name}" if key else name


def _kind(value: Any) -> str:
    return "nothing" if value is None else type(value).__name__
