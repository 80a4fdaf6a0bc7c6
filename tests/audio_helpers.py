"""Helpers for the audio tests: a simulated echo path, and real-audio runs through ALSA file devices.

ALSA `type file` PCMs stand in for a sound card. What they do (measured on alsa-lib 1.2.8):
- With `slave.pcm "null"` there is no clock: capture and playback run as fast as the CPU goes
  (tens of thousands of times real time). Pacing comes from making `infile` / `file` FIFOs fed
  or drained at real time by a helper process here: the plugin's read()/write() block on them.
- At EOF of `infile` the plugin does not report an error and does not give silence: it stops
  overwriting the capture buffer, so the stream delivers the stale buffer contents again,
  unpaced. A FIFO whose writer stays open but stops writing is a true stall: the capture
  callback stops (PortAudio's thread is blocked in the plugin's read()).
- PortAudio opens every PCM at Pa_Initialize to probe it, so an `infile` FIFO must already
  have a writer (the feeder opens it O_RDWR) or initialisation blocks.
"""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository root, for benchmarks/
from benchmarks.audio import echo_path  # noqa: E402, F401  (one echo model, for the tests and the bench)
from benchmarks.audio import espeak as _espeak  # noqa: E402
from benchmarks.rig import RoomEcho, drain_block, fifo_sound_devices  # noqa: E402
from voice_coach.wav_io import read_wav as _read_wav  # noqa: E402
from tests.tolerance import patience  # noqa: E402

SR = 16_000
SHARED = Path(__file__).resolve().parents[1].parent / "shared"
STOP_DIR = SHARED / "speech" / "commands" / "stop"
F_SETPIPE_SZ = 1031


def read_wav(path: Path) -> np.ndarray:
    return _read_wav(path)


def espeak(text: str) -> np.ndarray:
    """Rendered with the espeak-ng command line (no pyttsx3), 16 kHz int16."""
    return _espeak(text, voice="", wpm=0)


def mix(*signals: np.ndarray, noise_db: float = -50, seed: int = 1) -> np.ndarray:
    n = max(len(s) for s in signals)
    out = np.zeros(n)
    for s in signals:
        out[: len(s)] += s
    out += np.random.default_rng(seed).standard_normal(n) * 32768 * 10 ** (noise_db / 20)
    return np.clip(out, -32768, 32767).astype(np.int16)


def run_aec(canceller, played: np.ndarray, mic: np.ndarray, chunk: int = 320, backlog_ms: float = 0, *,
            ref_late=None, each=None) -> np.ndarray:
    """Feed reference and mic chunk by chunk on a simulated clock, as the live loop would.

    backlog_ms: the listener runs that far behind the speaker (a slow recognizer): each mic
    chunk is cleaned only after the reference for `backlog_ms` later was already fed.
    ref_late(i): how many seconds late the reference's timestamps read at mic sample i (a
    speaker clock that slips). each(i, out): called with every cleaned chunk.
    """
    out = []
    lead = int(backlog_ms * SR / 1000) // chunk
    t0 = 1000.0
    played = np.concatenate([played, np.zeros((lead + 1) * chunk, np.int16)])
    for j in range(lead):
        canceller.process_reverse(played[j * chunk : (j + 1) * chunk], played_at=t0 + (j + 1) * chunk / SR)
    for i in range(0, len(mic) - chunk + 1, chunk):
        j = i + lead * chunk
        late = ref_late(i) if ref_late else 0.0
        canceller.process_reverse(played[j : j + chunk], played_at=t0 + (j + chunk) / SR + late)
        out.append(canceller.process(mic[i : i + chunk], captured_at=t0 + (i + chunk) / SR))
        if each:
            each(i, out[-1])
    return np.concatenate(out)


def db(x: np.ndarray) -> float:
    return 10 * np.log10(np.mean(x.astype(np.float64) ** 2) + 1e-9)


# --- ALSA file devices ----------------------------------------------------------------------


class AlsaRig:
    """A temp HOME whose .asoundrc defines `vc_mic` (reads a FIFO) and `vc_spk` (writes a FIFO).

    `feed(pcm, rate)` writes the mic FIFO at real time in a thread; `drain(rate)` reads the
    speaker FIFO at real time in a thread, timestamping what arrives. Scripts run in a child
    Python with HOME pointing here, since PortAudio reads ALSA config once at initialisation.
    """

    def __init__(self, root: Path):
        self.root = Path(root)
        self.home, self.mic_fifo, self.spk_fifo = fifo_sound_devices(self.root)
        # Both FIFOs are held open read-write here so the plugin's open() (also during
        # PortAudio's device probe) never blocks and never sees EOF until we say so.
        self._mic_fd = os.open(self.mic_fifo, os.O_RDWR)
        self._spk_fd = os.open(self.spk_fifo, os.O_RDWR)
        for fd in (self._mic_fd, self._spk_fd):
            fcntl.fcntl(fd, F_SETPIPE_SZ, 4096)  # small pipes: little hidden buffering
        self._threads: list[threading.Thread] = []
        self.received = bytearray()
        self.recv_times: list[tuple[float, int]] = []  # (monotonic time, bytes so far)
        self._stop = threading.Event()
        self.feed_done = threading.Event()
        self.drain_t0: float | None = None

    def env(self) -> dict:
        env = dict(os.environ)
        env["HOME"] = str(self.home)
        env.pop("ALSA_CONFIG_PATH", None)
        return env

    def feed(self, pcm: np.ndarray, rate: int, *, paced: bool = False, then: str = "stall") -> None:
        """Write pcm into the mic FIFO; afterwards 'stall' (keep it open, write nothing) or 'eof'.

        paced=False writes it all at once into a pipe big enough to hold it: the plugin then
        reads whole periods and the content arrives intact (at CPU speed). paced=True writes
        10 ms blocks at real time, but the plugin does not wait for a whole period: a short
        read() is padded with stale buffer contents, so paced capture is right in timing only.
        """
        data = pcm.astype("<i2").tobytes()
        if not paced:
            try:
                fcntl.fcntl(self._mic_fd, F_SETPIPE_SZ, max(65536, len(data) + 4096))
            except OSError:
                pass  # above pipe-max-size: the writer thread will simply block until read

        def run():
            block = len(data) if not paced else 2 * rate // 100
            t0 = time.monotonic()
            for i in range(0, len(data), block):
                if self._stop.is_set():
                    return
                os.write(self._mic_fd, data[i : i + block])
                delay = t0 + (i + block) / (2 * rate) - time.monotonic()
                if paced and delay > 0:
                    time.sleep(delay)
            self.feed_done.set()
            if then == "eof":
                os.close(self._mic_fd)
                self._mic_fd = -1

        self._start(run)

    def drain(self, rate: int, *, pad: bool = False) -> None:
        """Read the speaker FIFO at real time (the 'sound card clock').

        pad=True: a tick that finds less than a block queued is filled with silence, as a sound
        card plays silence when not fed, so speaker sample i always played at drain_t0 + i/rate
        (what LiveMic's echo needs); otherwise only what arrived is kept."""

        def run():
            block = 2 * rate // 100
            t0 = self.drain_t0 = time.monotonic()
            n = 0
            while not self._stop.is_set():
                try:
                    chunk = drain_block(self._spk_fd, block, pad=pad)
                except OSError:  # closed by close()
                    return
                now = time.monotonic()
                self.received += chunk
                n += len(chunk)
                self.recv_times.append((now, len(self.received)))
                delay = t0 + n / (2 * rate) - time.monotonic()
                if delay > 0:
                    time.sleep(delay)

        if pad:
            fl = fcntl.fcntl(self._spk_fd, fcntl.F_GETFL)
            fcntl.fcntl(self._spk_fd, fcntl.F_SETFL, fl | os.O_NONBLOCK)
        self._start(run)

    def _start(self, fn) -> None:
        t = threading.Thread(target=fn, daemon=True)
        t.start()
        self._threads.append(t)

    def run_python(self, code: str, timeout: float = 60, on_ready=None) -> dict:
        """Run `code` in a child Python with this HOME; it must print one JSON line last.

        If the child prints a line "READY", `on_ready()` is called then (e.g. to start feeding
        the mic only once the stream is open: PortAudio's device probe at initialisation reads
        from the infile FIFO and would swallow the start of the audio).
        """
        import queue as _queue

        # os._exit: after a stall PortAudio's thread is stuck in the plugin's read(), and a
        # normal exit would hang in Pa_Terminate.
        code += "\nimport os as _os, sys as _sys\n_sys.stdout.flush()\n_os._exit(0)\n"
        p = subprocess.Popen(
            [sys.executable, "-c", code], env=self.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        lines: _queue.Queue = _queue.Queue()

        def pump():
            for line in p.stdout:
                lines.put(line)
            lines.put(None)

        threading.Thread(target=pump, daemon=True).start()
        deadline = time.monotonic() + patience(timeout)
        out = []
        while True:
            left = deadline - time.monotonic()
            try:
                line = lines.get(timeout=max(0.01, left))
            except _queue.Empty:
                p.kill()
                raise AssertionError(f"child timed out after {timeout} s; output so far: {out}") from None
            if line is None:
                break
            if line.strip() == "READY" and on_ready is not None:
                on_ready()
            out.append(line)
        try:
            rc = p.wait(timeout=max(1.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            p.kill()
            raise AssertionError("child did not exit") from None
        err = p.stderr.read()
        if rc != 0:
            raise AssertionError(f"child failed ({rc}):\n{''.join(out)}\n{err}")
        return json.loads(out[-1])

    def close(self) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout=5)
        for fd in (self._mic_fd, self._spk_fd):
            if fd >= 0:
                try:
                    os.close(fd)
                except OSError:
                    pass
        self._mic_fd = self._spk_fd = -1


def alsa_file_plugin_available() -> bool:
    return any(Path(p).exists() for p in ("/usr/share/alsa/alsa.conf",)) and _has_libasound()


def _has_libasound() -> bool:
    import ctypes.util

    return ctypes.util.find_library("asound") is not None


class LiveMic:
    """A microphone that never stops: 20 ms blocks at real time into the rig's mic FIFO.

    Silence unless `say()` queued speech; `stall()` stops writing (the FIFO stays open), like a
    mic whose driver hung. With `echo_from`, what the rig's speaker played comes back into the
    mic through a fixed echo path (benchmarks.rig.RoomEcho: delay, a speaker's roll-off, gain),
    as in a room; that rig's speaker must be drained with pad=True. Blocks of exactly one MicSource block
    arrive intact (a shorter block would be padded by the ALSA file plugin).
    """

    BLOCK_MS = 20

    def __init__(self, rig: "AlsaRig", *, echo_from: "AlsaRig | None" = None, echo_gain_db: float = -6, echo_delay_ms: int = 60, noise_db: float = -60):
        self.rig = rig
        self.block = SR * self.BLOCK_MS // 1000
        self._queue: list[np.ndarray] = []
        self._lock = threading.Lock()
        self._stalled = threading.Event()
        self._stop = threading.Event()
        self.said_at: list[tuple[float, float]] = []  # (start, end) monotonic of each utterance
        self.echo_from = echo_from
        self._echo = RoomEcho(echo_gain_db, echo_delay_ms)
        self.noise = 32768 * 10 ** (noise_db / 20)
        fl = fcntl.fcntl(rig._mic_fd, fcntl.F_GETFL)
        fcntl.fcntl(rig._mic_fd, fcntl.F_SETFL, fl | os.O_NONBLOCK)  # a full pipe drops audio, as a real mic would
        # ...but only after a real hiccup: 1 s of room, as a sound card's buffer would have.
        fcntl.fcntl(rig._mic_fd, F_SETPIPE_SZ, 65536)
        self.dropped = 0
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def say(self, pcm: np.ndarray) -> None:
        with self._lock:
            self._queue.append(np.asarray(pcm, dtype=np.int16))

    @property
    def busy(self) -> bool:
        with self._lock:
            return bool(self._queue)

    def stall(self) -> None:
        self._stalled.set()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _speech_block(self, now: float) -> np.ndarray:
        out = np.zeros(self.block, dtype=np.float64)
        filled = 0
        with self._lock:
            while self._queue and filled < self.block:
                cur = self._queue[0]
                n = min(self.block - filled, len(cur))
                out[filled : filled + n] = cur[:n]
                if n == len(cur):
                    self._queue.pop(0)
                    self.said_at.append((now, now + (filled + n) / SR))
                else:
                    self._queue[0] = cur[n:]
                filled += n
        return out

    def _echo_block(self, t0: float, k: int) -> np.ndarray:
        src = self.echo_from
        if src is None:
            return np.zeros(self.block)
        return self._echo.block(src.received, src.drain_t0, t0, k, self.block)

    def _run(self) -> None:
        rng = np.random.default_rng(7)
        t0 = time.monotonic()
        k = 0
        while not self._stop.is_set():
            k += 1
            due = t0 + k * self.BLOCK_MS / 1000
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            if self._stalled.is_set():
                continue
            now = time.monotonic()
            x = self._speech_block(now) + self._echo_block(t0, k) + rng.standard_normal(self.block) * self.noise
            data = np.clip(x, -32768, 32767).astype("<i2").tobytes()
            try:
                os.write(self.rig._mic_fd, data)
            except BlockingIOError:
                self.dropped += 1
            except OSError:
                return
