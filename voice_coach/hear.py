"""`voice-coach hear FILE...`: recognize recorded WAV files, one JSON object per file."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Iterable

from voice_coach.events import Heard
from voice_coach.interfaces import Recognizer, Transcript
from voice_coach.understand import Understanding

CHUNK_MS = 100


def transcribe_file(recognizer: Recognizer, path: Path, understand: Understanding, chunk_ms: int = CHUNK_MS,
                    step: str | None = None) -> Heard:
    """Stream a WAV file through the recognizer as a microphone would; its final transcripts, joined
    (sure only if the understanding stage is sure of every one of them), or an urgent partial when
    the finals are not urgent (the coach would have acted on it). `step`: the session step
    the answer is given at ("rating", "yes_no"), so it is understood as the live coach does
    (Understanding.in_context: decoded with the question as context)."""
    from voice_coach.wav_io import wav_to_chunks

    recognizer.reset()
    transcripts: list[Transcript] = []
    for chunk in wav_to_chunks(path, chunk_ms):
        transcripts += recognizer.accept(chunk)
    transcripts += recognizer.flush()
    heard = [understand.heard(t, step) for t in transcripts if t.final and t.text.strip()]
    out = Heard(" ".join(h.text for h in heard).strip(), final=True, sure=all([h.sure for h in heard]))
    if understand.urgent(out.text) is None:
        # The coach acts on an urgent partial at once (a stop heard before the final, or by the
        # second listen to a lone word), so the file is understood as that partial.
        out = next((Heard(t.text, final=True, sure=True) for t in transcripts if not t.final and understand.urgent(t.text) is not None), out)
    return out


def hear_files(recognizer: Recognizer, phrasebook, files: Iterable[Path], step: str | None = None):
    from voice_coach.intents import Context

    understand = Understanding(phrasebook)
    for f in files:
        heard = transcribe_file(recognizer, Path(f), understand, step=step)
        intent = understand.intents(heard.text, heard.sure, Context(step) if step else None)[0]
        # `sure`: whether the engine was sure of the words. A doubted yes or no is `none` (the coach
        # asks again); a doubted rating keeps its value (read back first if it would mean deeper).
        yield {"file": str(f), "text": heard.text, "intent": intent.name, "value": intent.value, "sure": heard.sure}


def run_hear(files, engine: str | None, model: Path | None, content_dir: Path, out=None, step: str | None = None) -> int:
    from voice_coach.intents import load_phrasebook
    from voice_coach.recognizers import make_recognizer
    from voice_coach.wav_io import read_wav

    out = out or sys.stdout
    phrasebook = load_phrasebook(Path(content_dir) / "phrases.toml")
    files = [Path(f) for f in files]
    for f in files:  # fail fast, naming the file, before loading a model
        read_wav(f)
    recognizer = make_recognizer(engine, model, phrasebook)
    for row in hear_files(recognizer, phrasebook, files, step=step):
        print(json.dumps(row), file=out, flush=True)
    return 0
