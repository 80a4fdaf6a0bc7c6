"""`voice-coach setup`: a spoken and printed wizard for a person at the Pi.

1. lists the input and output devices with their rates, and picks the microphone and speaker
   (`--input` / `--output`, else the saved ones, else the system's defaults);
2. plays a line and asks "did you hear that?", answered by voice (yes / no) or by a key;
3. listens for a few seconds while the person says "stop" a few times, and measures the room
   (the quietest blocks) and the voice (the loudest): warns when the mic is too quiet, clips,
   or the room drowns the voice;
4. sets a comfortable volume: "louder", "softer" or "good" (or +, -, Enter);
5. saves the choice (voice_coach.config), which `run`, `check` and the service then use.

Every question accepts a typed answer (a line on standard input) or a spoken one, whichever
comes first. The levels and their verdicts are pure functions (`measure_levels`) with tests.
"""

from __future__ import annotations

import os
import select
import sys
import time
from argparse import Namespace
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from voice_coach import config as cfgmod
from voice_coach.errors import EXIT_FAILURE, EXIT_OK, UserError
from voice_coach.interfaces import SAMPLE_RATE

HEAR_LINE = "This is your massage coach. Did you hear that? Say yes or no."
ROOM_LINE = "Now I will listen for five seconds. Please say stop, three times, in your normal voice."
VOLUME_LINE = "Is this a comfortable volume? Say louder, softer, or good."
DONE_LINE = "All set. Your microphone and speaker are saved."
LISTEN_SECONDS = 5.0
ANSWER_SECONDS = 8.0
VOLUME_STEP = 1.4

# Verdict thresholds, in dBFS of 20 ms blocks.
TOO_QUIET_DB = -42.0  # the loudest speech blocks below this: the recognizer hears too little
CLIP_DB = -1.0  # a sample this close to full scale: clipping
MIN_SNR_DB = 10.0  # voice over room noise

UP_WORDS = {"louder", "loud", "up", "more", "higher", "+"}
DOWN_WORDS = {"softer", "quieter", "down", "less", "lower", "soft", "quiet", "-"}
GOOD_WORDS = {"good", "fine", "ok", "okay", "yes", "right", "perfect", "great", "g", "y", ""}


@dataclass(frozen=True)
class Levels:
    noise_db: float
    speech_db: float
    peak_db: float

    @property
    def snr_db(self) -> float:
        return self.speech_db - self.noise_db

    def verdicts(self) -> list[str]:
        """What is wrong, each with its fix; empty when the microphone is fine."""
        out = []
        if self.peak_db > CLIP_DB:
            out.append("the microphone clips: lower its capture level in alsamixer (F4), or move it further away")
        if self.speech_db < TOO_QUIET_DB:
            out.append("the microphone is too quiet: raise its capture level in alsamixer (F4), unmute it, or move it closer")
        elif self.snr_db < MIN_SNR_DB:
            out.append(f"the room is loud for the voice ({self.snr_db:.0f} dB above it): turn off music or fans, or move the microphone closer")
        return out


def _db(x: float) -> float:
    return 20 * np.log10(x / 32768 + 1e-9)


def measure_levels(pcm: np.ndarray, block: int = SAMPLE_RATE // 50) -> Levels:
    """Room noise = the quietest tenth of 20 ms blocks; voice = the loudest twentieth; peak sample."""
    a = np.asarray(pcm, dtype=np.float64)
    n = len(a) // block
    if n < 10:
        raise ValueError("need at least 10 blocks")
    rms = np.sqrt(np.mean(a[: n * block].reshape(n, block) ** 2, axis=1))
    return Levels(_db(float(np.percentile(rms, 10))), _db(float(np.percentile(rms, 95))), _db(float(np.abs(a).max())))


def volume_answer(text: str) -> str | None:
    """'up', 'down' or 'good' for a typed or spoken answer; None if it is none of these."""
    words = [w.strip(".,!?'\"").lower() for w in text.split()] or [""]
    for w in words:
        if w in UP_WORDS:
            return "up"
        if w in DOWN_WORDS:
            return "down"
    return "good" if any(w in GOOD_WORDS for w in words) else None


class Answers:
    """The first answer to arrive: a line typed on `keys` (a file descriptor) or a spoken one."""

    def __init__(self, keys_fd: int | None, mic, recognizer, phrases):
        self.keys_fd = keys_fd
        self.mic, self.recognizer, self.phrases = mic, recognizer, phrases
        self._typed = b""

    def _typed_line(self) -> str | None:
        if self.keys_fd is None:
            return None
        while b"\n" not in self._typed:
            ready, _, _ = select.select([self.keys_fd], [], [], 0)
            if not ready:
                return None
            data = os.read(self.keys_fd, 256)
            if not data:  # end of input: only the voice can answer now
                self.keys_fd = None
                line, self._typed = self._typed, b""
                return line.decode(errors="replace").strip() if line.strip() else None
            self._typed += data
        line, self._typed = self._typed.split(b"\n", 1)
        return line.decode(errors="replace").strip()

    def wait(self, accept, timeout: float) -> tuple[str | None, str]:
        """(answer, how): accept(text) gives an answer or None; how is 'key', 'voice' or 'timeout'."""
        self.mic.drain()
        self.recognizer.reset()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            typed = self._typed_line()
            if typed is not None:
                got = accept(typed)
                if got is not None:
                    return got, "key"
            chunk = self.mic.read(timeout=0.05)
            if chunk is None:
                continue
            for tr in self.recognizer.accept(chunk):
                if tr.final and tr.text.strip():
                    got = accept(tr.text)
                    if got is not None:
                        return got, "voice"
        return None, "timeout"


def yes_no(phrases):
    def accept(text: str) -> str | None:
        t = text.strip().lower()
        if t in ("y", "yes"):
            return "yes"
        if t in ("n", "no"):
            return "no"
        names = {i.name for i in phrases.parse(text)}
        return "yes" if "yes" in names else "no" if "no" in names else None

    return accept


class _Mic:
    """The wizard's microphone: MicSource with a drain (what was heard while the coach spoke)."""

    def __init__(self, device):
        from voice_coach.audio.mic import MicSource  # noqa: PLC0415

        self.src = MicSource(device, max_queue_s=10)
        self.src.start()

    def read(self, timeout: float):
        return self.src.read(timeout=timeout)

    def drain(self) -> None:
        while self.src.read(timeout=0) is not None:
            pass

    def record(self, seconds: float) -> np.ndarray:
        self.drain()
        got, deadline = [], time.monotonic() + seconds
        while time.monotonic() < deadline:
            c = self.src.read(timeout=0.2)
            if c is not None:
                got.append(c)
        return np.concatenate(got) if got else np.zeros(0, np.int16)

    def stop(self) -> None:
        self.src.stop()


def run_setup(content_dir: Path, args: Namespace, out=None, keys_fd: int | None = None) -> int:
    from voice_coach.audio.devices import NO_CARD, find_device, list_devices  # noqa: PLC0415
    from voice_coach.audio.speaker import SpeakerSink  # noqa: PLC0415
    from voice_coach.audio.tts import make_synthesizer  # noqa: PLC0415
    from voice_coach.recognizers import make_recognizer  # noqa: PLC0415
    from voice_coach.routine import load_content  # noqa: PLC0415

    out = out or sys.stdout
    if keys_fd is None:
        keys_fd = sys.stdin.fileno() if sys.stdin is not None else None
    saved = cfgmod.load()
    problems: list[str] = []

    def show(text: str) -> None:
        print(text, file=out, flush=True)

    devs = list_devices()
    show("Sound devices:")
    for d in devs:
        kinds = "/".join(k for k, n in (("in", d["inputs"]), ("out", d["outputs"])) if n)
        show(f"  {d['index']:>3}: {d['name']} ({kinds}, {d['default_samplerate']:.0f} Hz)")
    if not any(d["inputs"] for d in devs) or not any(d["outputs"] for d in devs):
        raise UserError(NO_CARD)
    mic_i = find_device(args.input if args.input is not None else saved.input, "input")
    spk_i = find_device(args.output if args.output is not None else saved.output, "output")
    show(f"Microphone {mic_i}: {devs[mic_i]['name']}; speaker {spk_i}: {devs[spk_i]['name']}")

    content = load_content(content_dir)
    voice = args.voice if args.voice is not None else saved.voice
    synth = make_synthesizer(voice, getattr(args, "rate", None), None)
    volume = args.volume if args.volume is not None else (saved.volume if saved.volume is not None else 0.8)
    sink = SpeakerSink(spk_i)
    mic = _Mic(mic_i)
    try:
        show("Loading the recognizer...")
        recognizer = make_recognizer(getattr(args, "engine", None), getattr(args, "model", None), content.phrases)
        answers = Answers(keys_fd, mic, recognizer, content.phrases)

        def speak(text: str, vol: float) -> None:
            show(f"coach: {text}")
            pcm = synth.synthesize(text).astype(np.float64) * vol
            sink.play(np.clip(pcm, -32768, 32767).astype(np.int16))
            sink.wait(len(pcm) / SAMPLE_RATE + 5.0)
            time.sleep(0.2)  # the room's echo dies down before we listen

        # 2. can you hear it?
        speak(HEAR_LINE, volume)
        show("  (type y or n and Enter, or say yes or no)")
        heard, how = answers.wait(yes_no(content.phrases), ANSWER_SECONDS)
        show(f"  answer: {heard or 'none'} ({how})")
        if heard != "yes":
            problems.append(
                f"the line was not heard on speaker {spk_i} ({devs[spk_i]['name']}): check it is on and plugged in, "
                "raise its level in alsamixer, or run `voice-coach setup --output N` with another device from the list"
            )

        # 3. the room and the microphone
        speak(ROOM_LINE, volume)
        show(f"  listening {LISTEN_SECONDS:.0f} s...")
        levels = measure_levels(mic.record(LISTEN_SECONDS))
        show(f"  room {levels.noise_db:.0f} dBFS, voice {levels.speech_db:.0f} dBFS, peak {levels.peak_db:.0f} dBFS ({levels.snr_db:.0f} dB above the room)")
        for v in levels.verdicts():
            show(f"  warning: {v}")
        problems += levels.verdicts()

        # 4. volume
        for _ in range(8):
            speak(VOLUME_LINE, volume)
            show(f"  volume {volume:.2f} (type + or - or Enter, or say louder, softer or good)")
            a, how = answers.wait(volume_answer, ANSWER_SECONDS)
            show(f"  answer: {a or 'none'} ({how})")
            if a == "up":
                volume = min(1.0, volume * VOLUME_STEP)
            elif a == "down":
                volume = max(0.05, volume / VOLUME_STEP)
            else:
                break  # good, or no answer: keep it

        cfg = cfgmod.Config(
            input=devs[mic_i]["name"], output=devs[spk_i]["name"], volume=round(volume, 3),
            voice=voice, button=getattr(args, "button", None) or saved.button,
            input_rate=mic.src.device_rate, output_rate=sink.device_rate,
        )
        path = cfgmod.save(cfg)
        speak(DONE_LINE, volume)
        show(f"Saved to {path}")
    finally:
        mic.stop()
        sink.close()
        close = getattr(synth, "close", None)
        if close:
            close()
    for p in problems:
        print(f"voice-coach setup: {p}", file=sys.stderr)
    return EXIT_OK if not problems else EXIT_FAILURE
