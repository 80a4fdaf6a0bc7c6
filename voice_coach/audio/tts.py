"""Speech synthesis: text to 16 kHz mono int16, never played here (the SpeakerSink plays it).

pyttsx3 (espeak-ng on Linux) is known to hang in runAndWait, especially on a second call with
the same engine, and to misbehave on repeated stop(). So it never runs in our process: a worker
process (tts_worker.py) renders each line to a WAV with save_to_file + runAndWait, and we wait
with a timeout. A worker that hangs is killed and replaced once; if the fresh one hangs too we
use the fallback synthesizer (espeak-ng's command line) or raise UserError. Rendered lines are
cached, since the routine repeats its lines.
"""

from __future__ import annotations

import collections
import ctypes.util
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import numpy as np

from voice_coach.audio.files import read_wav
from voice_coach.errors import UserError
from voice_coach.interfaces import SAMPLE_RATE, Synthesizer

ESPEAK_FIX = "install espeak-ng: sudo apt-get install espeak-ng"


def require_espeak() -> None:
    """UserError naming the fix if neither the espeak-ng library nor its command is installed."""
    if ctypes.util.find_library("espeak-ng") or ctypes.util.find_library("espeak") or shutil.which("espeak-ng"):
        return
    raise UserError(ESPEAK_FIX)


class _Cache:
    """Rendered lines, least recently used out first; safe to share between threads."""

    def __init__(self, size: int):
        self.size = size
        self._d: collections.OrderedDict = collections.OrderedDict()
        self._lock = threading.Lock()

    def get(self, key):
        with self._lock:
            if key in self._d:
                self._d.move_to_end(key)
                return self._d[key]
            return None

    def put(self, key, value) -> None:
        if self.size <= 0:
            return
        with self._lock:
            self._d[key] = value
            self._d.move_to_end(key)
            while len(self._d) > self.size:
                self._d.popitem(last=False)


class Pyttsx3Synthesizer:
    """Synthesizer through pyttsx3 in a killable worker process.

    voice: a pyttsx3 voice id ("gmw/en-us") or name ("English (America)"), exact or a unique
        case-insensitive part; see `list_voices()`.
    rate: words per minute; volume: 0.0 to 1.0.
    timeout: seconds one line may take to render before the worker is judged hung.
    fallback: used when pyttsx3 fails or hangs twice in a row; None means raise UserError.
    engine_factory: "module:function" making the engine inside the worker (tests inject fakes).
    """

    def __init__(
        self,
        voice: str | None = None,
        rate: int | None = None,
        volume: float | None = None,
        *,
        timeout: float = 10.0,
        cache_size: int = 256,
        fallback: Synthesizer | None = None,
        engine_factory: str = "pyttsx3:init",
        worker_env: dict | None = None,
        startup_grace: float = 5.0,
    ):
        if engine_factory == "pyttsx3:init":
            require_espeak()
            try:
                import pyttsx3  # noqa: F401, PLC0415  (only to fail early with a clear fix)
            except ImportError as e:
                raise UserError("pyttsx3 is missing: pip install pyttsx3") from e
        if volume is not None and not 0.0 <= volume <= 1.0:
            raise UserError(f"--volume must be between 0.0 and 1.0, not {volume}")
        if rate is not None and not 40 <= rate <= 500:
            raise UserError(f"--rate must be between 40 and 500 words per minute, not {rate}")
        self.rate = rate
        self.volume = volume
        self.timeout = timeout
        self.fallback = fallback
        self.engine_factory = engine_factory
        self.worker_env = worker_env
        self.startup_grace = startup_grace
        self.hangs = 0  # workers killed for hanging, for diagnostics
        self.used_fallback = False
        self._cache = _Cache(cache_size)
        self._n = 0
        self._proc: subprocess.Popen | None = None
        self._lock = threading.Lock()
        self._tmp = tempfile.TemporaryDirectory(prefix="voice_coach_tts_")
        self.voice = self._resolve_voice(voice) if voice else None

    # --- worker plumbing -------------------------------------------------------------------

    def _spawn(self) -> subprocess.Popen:
        env = dict(os.environ)
        if self.worker_env:
            env.update(self.worker_env)
        return subprocess.Popen(
            [sys.executable, "-m", "voice_coach.audio.tts_worker", "--factory", self.engine_factory],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env=env,
        )

    def _kill(self) -> None:
        p, self._proc = self._proc, None
        if p is not None:
            p.kill()
            try:
                p.wait(timeout=2)
            except subprocess.TimeoutExpired:
                pass

    def _ask_once(self, req: dict, timeout: float) -> dict | None:
        """One request to the worker; None if it hung or died (the worker is then gone)."""
        if self._proc is None or self._proc.poll() is not None:
            self._proc = self._spawn()
            timeout += self.startup_grace  # a new worker first imports pyttsx3 and loads espeak
        p = self._proc
        try:
            p.stdin.write(json.dumps(req) + "\n")
            p.stdin.flush()
            ready, _, _ = select.select([p.stdout], [], [], timeout)
            line = p.stdout.readline() if ready else ""
        except (BrokenPipeError, OSError):
            line = ""
        if not line:
            self.hangs += 1
            self._kill()
            return None
        return json.loads(line)

    def _ask(self, req: dict) -> dict | None:
        with self._lock:
            for _attempt in range(2):
                reply = self._ask_once(req, self.timeout)
                if reply is not None:
                    return reply
            return None

    # --- public ----------------------------------------------------------------------------

    def list_voices(self) -> list[dict]:
        """The engine's voices: dicts with id, name and languages."""
        reply = self._ask({"op": "voices"})
        if reply is None:
            raise UserError("the voice engine (pyttsx3) hung while listing voices; reinstall espeak-ng")
        if not reply["ok"]:
            raise UserError(f"the voice engine (pyttsx3) failed: {reply['error']}")
        return reply["voices"]

    def _resolve_voice(self, spec: str) -> str:
        voices = self.list_voices()
        s = spec.lower()
        for key in ("id", "name"):
            exact = [v for v in voices if str(v[key]).lower() == s]
            if exact:
                return exact[0]["id"]
        # espeak ids look like "gmw/en-us": let "en-us" name it.
        tail = [v for v in voices if str(v["id"]).lower().rsplit("/", 1)[-1] == s]
        if len(tail) == 1:
            return tail[0]["id"]
        part = [v for v in voices if s in str(v["id"]).lower() or s in str(v["name"]).lower()]
        if len(part) == 1:
            return part[0]["id"]
        some = ", ".join(f"{v['id']} ({v['name']})" for v in (part or voices)[:8])
        if not part:
            raise UserError(f"no voice matching {spec!r}; for example: {some}")
        raise UserError(f"{spec!r} matches {len(part)} voices, be more exact: {some}")

    def synthesize(self, text: str) -> np.ndarray:
        key = (text, self.voice, self.rate, self.volume)
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        for _ in range(2):  # espeak now and then returns without writing anything: once more
            self._n += 1
            path = Path(self._tmp.name) / f"line{self._n}.wav"  # a fresh name: a late writer can't mix lines
            reply = self._ask(
                {"op": "render", "text": text, "path": str(path), "voice": self.voice, "rate": self.rate, "volume": self.volume}
            )
            rendered = reply is not None and reply["ok"] and path.exists() and path.stat().st_size > 44
            if reply is None or rendered:
                break
        if rendered:
            pcm = read_wav(path)
            path.unlink(missing_ok=True)
        elif self.fallback is not None:
            self.used_fallback = True
            pcm = self.fallback.synthesize(text)
        elif reply is None:
            raise UserError(
                f"the voice engine (pyttsx3 with espeak-ng) hung for {self.timeout:.0f} s twice; "
                "reinstall espeak-ng (sudo apt-get install --reinstall espeak-ng)"
            )
        else:
            raise UserError(f"the voice engine (pyttsx3) failed: {reply.get('error', 'no audio written')}")
        pcm = np.ascontiguousarray(pcm, dtype=np.int16)
        pcm.setflags(write=False)  # cached and shared: nobody may change it
        self._cache.put(key, pcm)
        return pcm

    def close(self) -> None:
        if self._proc is not None:
            try:
                self._proc.stdin.close()
                self._proc.wait(timeout=2)
            except Exception:
                pass
            self._kill()
        self._tmp.cleanup()

    def __del__(self):  # best effort: never leave a worker behind
        try:
            self._kill()
        except Exception:
            pass


class EspeakCliSynthesizer:
    """Synthesizer through the espeak-ng command (same voices as pyttsx3 on Linux, no Python engine).

    The fallback when pyttsx3 hangs, and a faster real voice for tests.
    """

    def __init__(self, voice: str | None = None, rate: int | None = None, volume: float | None = None, *, timeout: float = 10.0):
        self.exe = shutil.which("espeak-ng")
        if self.exe is None:
            raise UserError(ESPEAK_FIX)
        self.voice, self.rate, self.volume, self.timeout = voice, rate, volume, timeout
        self._cache = _Cache(256)

    def synthesize(self, text: str) -> np.ndarray:
        hit = self._cache.get(text)
        if hit is not None:
            return hit
        cmd = [self.exe, "--stdout"]
        if self.voice:
            cmd += ["-v", self.voice]
        if self.rate:
            cmd += ["-s", str(int(self.rate))]
        if self.volume is not None:
            cmd += ["-a", str(int(round(self.volume * 100)))]  # espeak amplitude: 0-200, 100 normal
        try:
            raw = subprocess.run(cmd + ["--", text], capture_output=True, timeout=self.timeout, check=True).stdout
        except subprocess.TimeoutExpired as e:
            raise UserError(f"espeak-ng hung for {self.timeout:.0f} s; reinstall it: sudo apt-get install --reinstall espeak-ng") from e
        except subprocess.CalledProcessError as e:
            raise UserError(f"espeak-ng failed: {e.stderr.decode(errors='replace').strip()}") from e
        import soxr  # noqa: PLC0415

        # --stdout writes a 44-byte WAV header with an unknown length; the data is 22050 Hz mono s16.
        rate = int.from_bytes(raw[24:28], "little") or 22050
        pcm = soxr.resample(np.frombuffer(raw[44:], dtype="<i2"), rate, SAMPLE_RATE).astype(np.int16)
        pcm.setflags(write=False)
        self._cache.put(text, pcm)
        return pcm


class SilentSynthesizer:
    """Synthesizer twin for fast tests: silence as long as the line would take to say.

    `seconds_per_char` ~ 0.06 matches espeak at its default 175 words per minute.
    `spoken` records the texts asked for.
    """

    def __init__(self, seconds_per_char: float = 0.06, min_seconds: float = 0.3):
        self.seconds_per_char = seconds_per_char
        self.min_seconds = min_seconds
        self.spoken: list[str] = []

    def synthesize(self, text: str) -> np.ndarray:
        self.spoken.append(text)
        secs = max(self.min_seconds, len(text) * self.seconds_per_char)
        return np.zeros(int(secs * SAMPLE_RATE), dtype=np.int16)


ESPEAK_VOICES = ("espeak", "espeak-ng", "pyttsx3")


def make_synthesizer(voice: str | None = None, rate: int | None = None, volume: float | None = None) -> Synthesizer:
    """The live synthesizer, chosen by `voice` (`--voice`):

    - None or "piper": the Piper voice where it is installed (onnxruntime and a voice package),
      else espeak-ng through pyttsx3;
    - a Piper voice name ("joe") or an .onnx path: that Piper voice, or a UserError naming the fix;
    - "espeak" (or "pyttsx3"): espeak-ng's default voice through pyttsx3;
    - anything else: a pyttsx3 voice id or name ("en-us", "English (America)").
    pyttsx3 runs in a worker with espeak-ng's command as its fallback; a Piper voice that fails
    on a line falls back to pyttsx3 for the rest of the session.
    """
    from voice_coach.audio import piper_voice as pv  # noqa: PLC0415

    want_piper = voice in (None, "piper") or voice in pv.BUNDLED or (voice or "").endswith(".onnx")
    if want_piper:
        files = pv.find_voice(None if voice in (None, "piper") else voice)
        if files is not None and (voice not in (None, "piper") or pv.piper_available()):
            primary = pv.PiperSynthesizer(files, rate, volume)
            return pv.FallbackSynthesizer(primary, _pyttsx3(None, rate, volume))
        if voice == "piper":
            raise UserError(f"no Piper voice is installed: {pv.PIPER_FIX}")
    return _pyttsx3(None if voice in (None, "piper", *ESPEAK_VOICES) else voice, rate, volume)


def _pyttsx3(voice: str | None, rate: int | None, volume: float | None) -> Synthesizer:
    require_espeak()
    fallback = EspeakCliSynthesizer(None, rate, volume) if shutil.which("espeak-ng") else None
    s = Pyttsx3Synthesizer(voice, rate, volume, fallback=fallback)
    if fallback is not None and s.voice:
        fallback.voice = s.voice  # pyttsx3's espeak voice ids are espeak-ng voice names too
    return s
