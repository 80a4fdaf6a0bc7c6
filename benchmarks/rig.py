"""A real-audio-path rig for the stop-latency benchmark: ALSA `type file` PCMs over FIFOs.

The same approach as tests/audio_helpers.py (AlsaRig, LiveMic), which documents how the
ALSA file plugin behaves: with `slave.pcm "null"` there is no clock, so a thread here paces the
speaker FIFO (drained at real time, the "sound card clock") and the mic FIFO (20 ms blocks at
real time; a block of exactly one MicSource block arrives intact, a shorter read would be padded
with stale buffer contents). Both FIFOs are held open O_RDWR so PortAudio's probe never blocks.
The FIFOs are 4 KB (the kernel minimum, one page): 128 ms of 16 kHz audio can sit in each.
"""

from __future__ import annotations

import fcntl
import json
import os
import queue
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np

SR = 16_000
F_SETPIPE_SZ = 1031
F_GETPIPE_SZ = 1032


def fifo_sound_devices(root: Path) -> tuple[Path, Path, Path]:
    """A HOME under `root` whose .asoundrc has `vc_mic` reading one FIFO and `vc_spk` writing another.

    Returns (home, mic_fifo, spk_fifo). Shared by this rig and the tests' AlsaRig.
    """
    root = Path(root)
    home = root / "home"
    home.mkdir(parents=True, exist_ok=True)
    mic_fifo = root / "mic.fifo"
    spk_fifo = root / "spk.fifo"
    for f in (mic_fifo, spk_fifo):
        if not f.exists():
            os.mkfifo(f)
    (home / ".asoundrc").write_text(
        textwrap.dedent(
            f"""
            pcm.vc_mic {{
              type file
              slave.pcm "null"
              file "/dev/null"
              infile "{mic_fifo}"
              format "raw"
            }}
            pcm.vc_spk {{
              type file
              slave.pcm "null"
              file "{spk_fifo}"
              format "raw"
            }}
            """
        )
    )
    return home, mic_fifo, spk_fifo


def start_json_pump(stream, out: queue.Queue, stamp: str) -> None:
    """On a daemon thread: each JSON line of a child's `stream` onto `out` as a dict, with its
    arrival time (time.monotonic) under `stamp`; other lines are skipped; None once it closes."""

    def pump() -> None:
        for line in stream:
            try:
                msg = json.loads(line)
            except ValueError:
                continue
            msg[stamp] = time.monotonic()
            out.put(msg)
        out.put(None)

    threading.Thread(target=pump, daemon=True).start()


class RoomEcho:
    """What the rig's speaker played, coming back into its microphone: a fixed echo path.

    The speaker FIFO is drained at real time from `drain_t0`, so speaker sample i played at
    drain_t0 + i/SR; mic block k (from 1) of a thread started at `mic_t0` is written at
    mic_t0 + k*block/SR. The echo of block k is the speaker's samples from a fixed absolute index,
    (mic_t0 - drain_t0)*SR + (k-1)*block - delay: a steady delay, as a room has. (Taking instead
    the latest bytes the drain happened to have read makes the echo repeat or skip whole blocks
    whenever the two threads' wake-ups jitter: a moving echo path no linear canceller can follow.)
    A one-pole low-pass at 3.5 kHz stands for a small speaker; then the gain.
    """

    def __init__(self, gain_db: float, delay_ms: float):
        self.gain = 10 ** (gain_db / 20)
        self.delay = int(SR * delay_ms / 1000)
        self._a = np.exp(-2 * np.pi * 3500 / SR)
        self._lp = 0.0

    def block(self, received: bytearray, drain_t0: float | None, mic_t0: float, k: int, block: int) -> np.ndarray:
        out = np.zeros(block)
        if drain_t0 is None or self.gain == 0:
            return out
        start = int(round((mic_t0 - drain_t0) * SR)) + (k - 1) * block - self.delay
        lo, hi = max(start, 0), min(start + block, len(received) // 2)
        if hi > lo:
            out[lo - start : hi - start] = np.frombuffer(bytes(received[2 * lo : 2 * hi]), dtype="<i2")
        y = np.empty(block)
        a, lp = self._a, self._lp
        for i, v in enumerate(out):
            lp = (1 - a) * v + a * lp
            y[i] = lp
        self._lp = lp
        return y * self.gain


def drain_block(fd: int, nbytes: int, pad: bool = True) -> bytes:
    """One tick of a speaker drained at real time: what the writer has queued, up to `nbytes`,
    padded with silence (a sound card plays silence when it is not fed; the sample count stays
    true to the clock). pad=False: only what arrived."""
    try:
        chunk = os.read(fd, nbytes)
    except BlockingIOError:
        chunk = b""
    return chunk + bytes(nbytes - len(chunk)) if pad else chunk


class Rig:
    def __init__(self, root: Path):
        self.root = Path(root)
        self.home, self.mic_fifo, self.spk_fifo = fifo_sound_devices(self.root)
        self._mic_fd = os.open(self.mic_fifo, os.O_RDWR | os.O_NONBLOCK)
        self._spk_fd = os.open(self.spk_fifo, os.O_RDWR | os.O_NONBLOCK)
        for fd in (self._mic_fd, self._spk_fd):
            fcntl.fcntl(fd, F_SETPIPE_SZ, 4096)
        self.drain_t0: float | None = None
        self.pipe_bytes = fcntl.fcntl(self._spk_fd, F_GETPIPE_SZ)
        self.received = bytearray()
        self.recv_times: list[tuple[float, int]] = []  # (monotonic time, bytes received so far)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        # mic state
        self._queue: list[np.ndarray] = []
        self.said: list[float] = []  # monotonic time each queued utterance's first sample was written
        self.mic_dropped = 0

    def env(self) -> dict:
        env = dict(os.environ)
        env["HOME"] = str(self.home)
        env.pop("ALSA_CONFIG_PATH", None)
        return env

    # --- speaker side: drain at real time ---------------------------------------------------

    def start(self, echo_gain_db: float = -6, echo_delay_ms: int = 60, noise_db: float = -60) -> None:
        self._echo = RoomEcho(echo_gain_db, echo_delay_ms)
        self._noise = 32768 * 10 ** (noise_db / 20)
        for fn in (self._drain, self._mic):
            t = threading.Thread(target=fn, daemon=True)
            t.start()
            self._threads.append(t)

    def _drain(self) -> None:
        block = 2 * SR // 50
        t0 = self.drain_t0 = time.monotonic()
        n = 0
        while not self._stop.is_set():
            try:
                chunk = drain_block(self._spk_fd, block)
            except OSError:
                return
            now = time.monotonic()
            with self._lock:
                self.received += chunk
                self.recv_times.append((now, len(self.received)))
            n += len(chunk)
            delay = t0 + n / (2 * SR) - time.monotonic()
            if delay > 0:
                time.sleep(delay)

    # --- mic side: 20 ms blocks at real time, speech + echo of the speaker + noise ------------

    def say(self, pcm: np.ndarray) -> None:
        with self._lock:
            self._queue.append(np.asarray(pcm, dtype=np.int16))

    def _mic(self) -> None:
        block = SR // 50
        rng = np.random.default_rng(7)
        t0 = time.monotonic()
        k = 0
        while not self._stop.is_set():
            k += 1
            delay = t0 + k * block / SR - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            now = time.monotonic()
            x = np.zeros(block)
            with self._lock:
                filled = 0
                while self._queue and filled < block:
                    cur = self._queue[0]
                    n = min(block - filled, len(cur))
                    x[filled : filled + n] = cur[:n]
                    if self._new_item:
                        self.said.append(now + filled / SR)
                        self._new_item = False
                    if n == len(cur):
                        self._queue.pop(0)
                        self._new_item = True
                    else:
                        self._queue[0] = cur[n:]
                    filled += n
                x += self._echo.block(self.received, self.drain_t0, t0, k, block)
            x += rng.standard_normal(block) * self._noise
            try:
                os.write(self._mic_fd, np.clip(x, -32768, 32767).astype("<i2").tobytes())
            except BlockingIOError:
                self.mic_dropped += 1
            except OSError:
                return

    _new_item = True

    # --- reading the speaker output -----------------------------------------------------------

    def output_since(self, t: float) -> tuple[np.ndarray, list[tuple[float, int]]]:
        """Speaker samples received since time t, with their (arrival time, end byte) marks."""
        with self._lock:
            marks = [(tt, b) for tt, b in self.recv_times if tt >= t]
            if not marks:
                return np.zeros(0, np.int16), []
            start = next((b for tt, b in reversed(self.recv_times) if tt < t), 0)
            data = bytes(self.received[start : marks[-1][1]])
        return np.frombuffer(data, dtype="<i2"), [(tt, b - start) for tt, b in marks]

    def close(self) -> None:
        self._stop.set()
        for fd in (self._mic_fd, self._spk_fd):
            try:
                os.close(fd)
            except OSError:
                pass
        for t in self._threads:
            t.join(timeout=2)


class Child:
    """A child Python on the rig's devices, talking JSON lines on stdout, commands on stdin."""

    def __init__(self, rig: Rig, code: str, args: list[str]):
        self.p = subprocess.Popen(
            [sys.executable, "-c", code, *args], env=rig.env(), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True,
        )
        self.lines: queue.Queue = queue.Queue()
        start_json_pump(self.p.stdout, self.lines, stamp="_wall")

    def send(self, cmd: str) -> None:
        self.p.stdin.write(cmd + "\n")
        self.p.stdin.flush()

    def get(self, timeout: float) -> dict | None:
        try:
            msg = self.lines.get(timeout=timeout)
        except queue.Empty:
            return None
        if msg is None:
            raise RuntimeError(f"child exited ({self.p.poll()}): {self.p.stderr.read()[-3000:]}")
        return msg

    def kill(self) -> None:
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait(timeout=5)
