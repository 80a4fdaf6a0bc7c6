"""Vosk adapter: a KaldiRecognizer restricted to the coach's phrases plus "[unk]".

Out-of-vocabulary speech decodes to "[unk]" (which the intent parser ignores); partial results
come from PartialResult() while speech goes on, final ones at Vosk's own endpoint.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Iterable

import numpy as np

from voice_coach.errors import UserError
from voice_coach.interfaces import SAMPLE_RATE, Transcript

log = logging.getLogger(__name__)

FIX = "run `voice-coach models download`, or pass --model PATH to a Vosk model folder"


def resolve_model(model: Path | None, models_dir: Path | None = None) -> Path:
    """The Vosk model folder to use: --model, else the first English vosk-model* in models/."""
    if model is not None:
        return Path(model)
    from voice_coach.recognizers import find_english_vosk_model

    found = find_english_vosk_model(models_dir)
    if found is None:
        from voice_coach.paths import default_models_dir

        where = Path(models_dir) if models_dir is not None else default_models_dir()
        raise UserError(f"no Vosk model found in {where}; {FIX}")
    return found


def check_model_dir(path: Path) -> None:
    path = Path(path)
    if not path.exists():
        raise UserError(f"Vosk model folder {path} does not exist; {FIX}")
    if not path.is_dir():
        raise UserError(f"Vosk model {path} is not a folder; {FIX}")
    if not (path / "am" / "final.mdl").is_file() or not (path / "conf").is_dir():
        raise UserError(f"{path} is not a complete Vosk model (no am/final.mdl or conf/); {FIX}")


class VoskRecognizer:
    name = "vosk"

    def __init__(self, model_path: Path, phrases: Iterable[str] | None = None, sample_rate: int = SAMPLE_RATE):
        check_model_dir(model_path)
        try:
            import vosk
        except ImportError as e:  # pragma: no cover - dependency is declared
            raise UserError(f"Vosk is not installed ({e}); run: pip install vosk") from None
        vosk.SetLogLevel(-1)
        self._vosk = vosk
        self.model_path = Path(model_path)
        try:
            self._model = vosk.Model(str(model_path))
        except Exception as e:  # vosk raises a bare Exception on a broken model
            raise UserError(f"cannot load the Vosk model in {model_path} ({e}); {FIX}") from None
        self.sample_rate = sample_rate
        self.phrases: list[str] = []
        self.skipped: list[str] = []
        self._rec = None
        self._last_partial = ""
        if phrases is not None:
            self.set_vocabulary(phrases)

    def set_vocabulary(self, phrases: Iterable[str]) -> None:
        kept, skipped = [], []
        for p in sorted(set(phrases)):
            words = p.split()
            if words and all(self._has_word(w) for w in words):
                kept.append(p)
            else:
                skipped.append(p)
        if skipped:
            log.info("vosk: skipped phrases with words not in the model: %s", ", ".join(skipped))
        if not kept:
            raise UserError(f"none of the coach's phrases are in the Vosk model {self.model_path}; {FIX}")
        self.phrases, self.skipped = kept, skipped
        # "[unk]" lets out-of-vocabulary speech decode to itself instead of to the nearest phrase.
        grammar = kept + (["[unk]"] if self._has_word("[unk]") else [])
        self._rec = self._vosk.KaldiRecognizer(self._model, self.sample_rate, json.dumps(grammar, ensure_ascii=False))
        self._rec.SetWords(True)
        self._last_partial = ""

    def _has_word(self, word: str) -> bool:
        return self._model.vosk_model_find_word(word) >= 0

    def accept(self, pcm: np.ndarray) -> list[Transcript]:
        if self._rec is None:
            raise RuntimeError("set_vocabulary() must be called before accept()")
        data = np.asarray(pcm, dtype=np.int16).tobytes()
        if self._rec.AcceptWaveform(data):
            self._last_partial = ""
            final = self._final(self._rec.Result())
            return [final] if final else []
        text = json.loads(self._rec.PartialResult()).get("partial", "").strip()
        if text and text != self._last_partial and text != "[unk]":
            self._last_partial = text
            return [Transcript(text, final=False)]
        return []

    def flush(self) -> list[Transcript]:
        if self._rec is None:
            return []
        self._last_partial = ""
        final = self._final(self._rec.FinalResult())
        return [final] if final else []

    def reset(self) -> None:
        if self._rec is not None:
            self._rec.Reset()
        self._last_partial = ""

    @staticmethod
    def _final(raw: str) -> Transcript | None:
        result = json.loads(raw)
        text = result.get("text", "").strip()
        if not text:
            return None
        words = tuple((w["word"], float(w.get("conf", 1.0))) for w in result.get("result", []) if w.get("word") not in (None, "[unk]"))
        return Transcript(text, final=True, confidence=min(c for _, c in words) if words else None, words=words)
