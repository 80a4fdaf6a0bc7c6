"""The narrow engine interfaces. Each has a device implementation and a file-backed twin.

Audio everywhere in the project is mono int16 PCM at 16 kHz unless an adapter says otherwise;
adapters that talk to devices resample at the edge.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Protocol, runtime_checkable

import numpy as np

SAMPLE_RATE = 16_000


@dataclass(frozen=True)
class Transcript:
    """What a recognizer heard. Partial transcripts may still change; final ones will not."""

    text: str
    final: bool
    confidence: float | None = None
    # False when the engine doubts a command it heard: only urgent intents (halt, stop, pause) act
    # on such a transcript, since acting on a doubtful "yes", "one" or "resume" steers the session.
    sure: bool = True


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
