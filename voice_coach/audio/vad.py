"""Silero VAD v6, streaming, run with onnxruntime directly (no torch).

The model file is the one faster-whisper ships (faster_whisper/assets/silero_vad_v6.onnx, MIT),
so it adds no dependency: faster-whisper and onnxruntime are already the default engine's. It
takes 32 ms windows (512 samples at 16 kHz) with 64 samples of context from the window before,
and carries its LSTM state (h, c) from window to window.

`SileroVad.accept(pcm)` takes any chunk length and returns one speech probability per whole
window. `OnsetDetector` turns probabilities into voice onset / offset with hysteresis.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from voice_coach.errors import UserError
from voice_coach.interfaces import SAMPLE_RATE

WINDOW = 512  # samples per probability: 32 ms
CONTEXT = 64
FIX = "reinstall the speech engine: pip install --force-reinstall faster-whisper onnxruntime"


def model_path() -> Path:
    spec = importlib.util.find_spec("faster_whisper")
    if spec is None or not spec.submodule_search_locations:
        raise UserError(f"the voice detector's model (in faster-whisper) is missing; {FIX}")
    p = Path(list(spec.submodule_search_locations)[0]) / "assets" / "silero_vad_v6.onnx"
    if not p.is_file():
        raise UserError(f"the voice detector's model {p} is missing; {FIX}")
    return p


class SileroVad:
    def __init__(self, path: Path | None = None):
        try:
            import onnxruntime
        except ImportError:
            raise UserError(f"onnxruntime is not installed; {FIX}") from None
        opts = onnxruntime.SessionOptions()
        opts.inter_op_num_threads = 1
        opts.intra_op_num_threads = 1
        opts.log_severity_level = 4
        self._session = onnxruntime.InferenceSession(str(path or model_path()), providers=["CPUExecutionProvider"], sess_options=opts)
        self.reset()

    def reset(self) -> None:
        self._h = np.zeros((1, 1, 128), np.float32)
        self._c = np.zeros((1, 1, 128), np.float32)
        self._context = np.zeros(CONTEXT, np.float32)
        self._rest = np.zeros(0, np.float32)

    def accept(self, pcm: np.ndarray) -> list[float]:
        """Speech probability of each whole 32 ms window completed by this chunk (int16 in)."""
        x = np.concatenate([self._rest, np.asarray(pcm).reshape(-1).astype(np.float32) / 32768.0])
        n = len(x) // WINDOW * WINDOW
        self._rest = x[n:]
        out = []
        for i in range(0, n, WINDOW):
            w = x[i : i + WINDOW]
            inp = np.concatenate([self._context, w])[None, :]
            p, self._h, self._c = self._session.run(None, {"input": inp, "h": self._h, "c": self._c})
            self._context = w[-CONTEXT:]
            out.append(float(np.asarray(p).reshape(-1)[0]))
        return out


@dataclass
class OnsetDetector:
    """Hysteresis over Silero probabilities: `onset_windows` windows in a row at or above `on`
    start voice (64 ms with the defaults); `offset_s` of windows below `off` end it.
    Silero's own recommendation is 0.5 on, 0.35 off."""

    on: float = 0.5
    off: float = 0.35
    onset_windows: int = 2
    offset_s: float = 0.3
    in_voice: bool = False
    _run: int = 0
    _quiet: int = 0

    def push(self, prob: float) -> str | None:
        """'onset', 'offset' or None, for one window's probability."""
        if not self.in_voice:
            self._run = self._run + 1 if prob >= self.on else 0
            if self._run >= self.onset_windows:
                self.in_voice, self._quiet = True, 0
                return "onset"
            return None
        self._quiet = self._quiet + 1 if prob < self.off else 0
        if self._quiet * WINDOW >= self.offset_s * SAMPLE_RATE:
            self.in_voice, self._run = False, 0
            return "offset"
        return None
