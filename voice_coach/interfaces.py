"""The narrow engine interfaces. Each has a device implementation and a file-backed twin.

Audio everywhere in the project is mono int16 PCM at 16 kHz unless an adapter says otherwise;
adapters that talk to devices resample at the edge.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterable, Protocol, runtime_checkable

import numpy as np

SAMPLE_RATE = 16_000


@dataclass(frozen=True)
class Transcript:
    """What a recognizer heard, and the evidence it has for it. Partial transcripts may still
    change; final ones will not. A recognizer knows nothing of intents: whether the words can be
    acted on is decided by the understanding stage (voice_coach/understand.py) from this evidence."""

    text: str
    final: bool
    confidence: float | None = None
    # (word, confidence) for engines that score each word (Vosk).
    words: tuple[tuple[str, float], ...] = ()
    # Engines that can say what else the first word might have been (Whisper): a function, called
    # only when it matters, giving (the chosen first word, [(candidate, probability), ...]).
    first_word: Callable[[], tuple[str, list[tuple[str, float]]]] | None = field(default=None, compare=False, repr=False)
    # Engines that can decode the same audio again under other conditions (Whisper, with more
    # silence around it): a function, called only when it matters, giving the second text.
    again: Callable[[], str] | None = field(default=None, compare=False, repr=False)
    # Engines that can score expected answers directly (Whisper, closed-set): a function, called
    # only when it matters, from a question ("rating", "yes_no", "found", "ready", "softened") to
    # voice_coach.recognizers.closed_set.AnswerScores.
    answers: Callable[[str], object] | None = field(default=None, compare=False, repr=False)
    # Engines that can decode the same audio again with the coach's question as context (Whisper):
    # a function, called only when the coach waits for an answer, from the step ("rating",
    # "yes_no") to that transcript with its own evidence, or None (no question for that step).
    in_context: Callable[[str], "Transcript | None"] | None = field(default=None, compare=False, repr=False)


@runtime_checkable
class Recognizer(Protocol):
    """Streams 16 kHz mono int16 audio in, transcripts out."""

    name: str

    def set_vocabulary(self, phrases: Iterable[str]) -> None:
        """Restrict what can be heard to these phrases (plus rejection of anything else)."""

    def accept(self, pcm: np.ndarray) -> list[Transcript]:
        """Feed a chunk; return any partial or final transcripts it produced."""

    def flush(self) -> list[Transcript]:
        """End of audio: return the final transcript of whatever is pending."""

    def reset(self) -> None:
        """Drop any pending utterance."""


@runtime_checkable
class Synthesizer(Protocol):
    """Text to 16 kHz mono int16 audio; never plays anything itself."""

    def synthesize(self, text: str) -> np.ndarray: ...


@runtime_checkable
class AudioSource(Protocol):
    """A microphone or its twin. Yields 16 kHz mono int16 chunks."""

    def start(self) -> None: ...

    def read(self, timeout: float) -> np.ndarray | None:
        """The next chunk, or None if nothing arrived within `timeout` seconds."""

    def stop(self) -> None: ...


@runtime_checkable
class AudioSink(Protocol):
    """A speaker or its twin."""

    def play(self, pcm: np.ndarray) -> None:
        """Start playing; returns at once."""

    def cancel(self) -> None:
        """Silence now, mid-sentence; safe to call any number of times."""

    def is_playing(self) -> bool: ...

    def close(self) -> None: ...
