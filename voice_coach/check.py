"""`voice-coach check`: is this machine ready to coach? Devices, microphone level, voice, recognizer.

Each step prints one line: "ok", or what failed and the fix. Steps that do not need a sound
card (the voice and the recognizer) still run without one, so one check shows everything
that needs fixing. Exit code 0 only if every step passed.
"""

from __future__ import annotations

import sys
import time
from argparse import Namespace
from pathlib import Path

import numpy as np

from voice_coach.errors import EXIT_FAILURE, EXIT_OK, UserError
from voice_coach.interfaces import SAMPLE_RATE

TEST_LINE = "This is your massage coach. Say stop at any time, and I will stop."
MIC_SECONDS = 3.0


def run_check(content_dir: Path, args: Namespace, out=None, mic_seconds: float = MIC_SECONDS) -> int:
    out = out or sys.stdout
    failures = 0

    def say(step: str, ok: bool, text: str) -> None:
        nonlocal failures
        failures += 0 if ok else 1
        print(f"{'ok  ' if ok else 'FAIL'} {step:<11} {text}", file=out, flush=True)

    # 0. the saved setup, and the Pi's power
    try:
        from voice_coach.config import config_path, load

        saved = load()
        if any(v is not None for v in vars(saved).values()):
            rates = f" ({saved.input_rate} Hz / {saved.output_rate} Hz)" if saved.input_rate else ""
            print(f"     saved setup {config_path()}: microphone {saved.input!r}, speaker {saved.output!r}{rates}, volume {saved.volume}", file=out)
        else:
            print(f"     no saved setup ({config_path()}): run `voice-coach setup` to choose and test the devices", file=out)
    except UserError as e:
        say("setup", False, e.message)
    from voice_coach.pi_health import throttled

    power = throttled()
    if power is not None:
        say("power", *power)

    # 1. devices
    card = False
    try:
        from voice_coach.audio.devices import NO_CARD, find_device, list_devices

        devs = list_devices()
        for d in devs:
            kinds = "/".join(k for k, n in (("in", d["inputs"]), ("out", d["outputs"])) if n)
            print(f"     device {d['index']:>3}: {d['name']} ({kinds}, {d['default_samplerate']:.0f} Hz)", file=out)
        if not any(d["inputs"] for d in devs) or not any(d["outputs"] for d in devs):
            raise UserError(NO_CARD)
        mic = find_device(getattr(args, "input", None), "input")
        spk = find_device(getattr(args, "output", None), "output")
        say("devices", True, f"microphone {mic}: {devs[mic]['name']}; speaker {spk}: {devs[spk]['name']}")
        card = True
    except UserError as e:
        say("devices", False, e.message)

    # 2. microphone level
    if card:
        try:
            say("microphone", *_mic_level(getattr(args, "input", None), mic_seconds))
        except UserError as e:
            say("microphone", False, e.message)

    # 3. voice: render always, play only with a speaker
    line = None
    try:
        from voice_coach.audio.tts import make_synthesizer

        synth = make_synthesizer(getattr(args, "voice", None), getattr(args, "rate", None), getattr(args, "volume", None))
        t = time.monotonic()
        line = synth.synthesize(TEST_LINE)
        took = time.monotonic() - t
        via = " (pyttsx3 hung; used espeak-ng directly)" if getattr(synth, "used_fallback", False) else ""
        primary = getattr(synth, "primary", None)
        who = f"Piper voice {primary.name}" if primary is not None else "espeak-ng"
        text = f"{who}: rendered {len(line) / SAMPLE_RATE:.1f} s of speech in {took:.2f} s{via}"
        if card:
            text += "; " + _play(getattr(args, "output", None), line)
        say("voice", True, text)
    except UserError as e:
        say("voice", False, e.message)

    # 4. echo cancelling: the linear canceller is what lets a stop said over the coach through
    try:
        from voice_coach.audio.echo_cancel import SPEEX_MISSING, EchoCanceller

        ec = EchoCanceller()
        if ec.has_linear:
            say("echo", True, "WebRTC AEC3, then libspeexdsp's linear canceller once it has learned the room")
        else:
            say("echo", False, SPEEX_MISSING)
        ec.close()
    except UserError as e:
        say("echo", False, e.message)

    # 5. recognizer
    try:
        say("recognizer", *_recognizer(content_dir, args, line))
    except UserError as e:
        say("recognizer", False, e.message)

    print(f"{'all checks passed' if not failures else f'{failures} check(s) failed'}", file=out)
    return EXIT_OK if not failures else EXIT_FAILURE


def _mic_level(device, seconds: float) -> tuple[bool, str]:
    from voice_coach.audio.faults import AudioFault
    from voice_coach.audio.mic import MicSource

    src = MicSource(device)
    got = []
    src.start()
    try:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            c = src.read(timeout=0.5)
            if c is not None:
                got.append(c)
    except AudioFault as f:
        return False, f"the microphone {f.reason} ({f.detail}); check its cable, or pick another with --input"
    finally:
        src.stop()
    if not got:
        return False, "no audio from the microphone; check it is not muted (alsamixer), or pick another with --input"
    a = np.concatenate(got).astype(np.float64)
    rms = 20 * np.log10(np.sqrt(np.mean(a**2)) / 32768 + 1e-12)
    peak = 20 * np.log10(np.abs(a).max() / 32768 + 1e-12)
    rate = f"{src.device_rate} Hz" + (" resampled to 16 kHz" if src.device_rate != SAMPLE_RATE else "")
    text = f"level {rms:.0f} dBFS (peak {peak:.0f}) over {seconds:.0f} s at {rate}"
    if peak < -60:
        return False, text + ": almost silent; unmute or raise the capture level in alsamixer"
    if peak > -0.5:
        return True, text + ": clipping; lower the capture level in alsamixer"
    return True, text


def _play(device, pcm: np.ndarray) -> str:
    from voice_coach.audio.speaker import SpeakerSink

    sink = SpeakerSink(device)
    try:
        sink.play(pcm)
        if not sink.wait(len(pcm) / SAMPLE_RATE + 3.0):
            raise UserError("the speaker did not finish playing; check it is connected, or pick another with --output")
    finally:
        sink.close()
    return "played it: did you hear it?"


def _recognizer(content_dir: Path, args: Namespace, speech: np.ndarray | None) -> tuple[bool, str]:
    try:
        from voice_coach.recognizers import make_recognizer
    except ImportError as e:
        return False, f"the recognizer module is not available ({e}); reinstall voice-coach"
    from voice_coach.routine import load_content

    content = load_content(content_dir)
    t = time.monotonic()
    rec = make_recognizer(getattr(args, "engine", None), getattr(args, "model", None), content.phrases)
    load = time.monotonic() - t
    if speech is None:  # no voice: a second of quiet still measures the cost
        speech = np.zeros(SAMPLE_RATE, dtype=np.int16)
    t = time.monotonic()
    heard = []
    for i in range(0, len(speech), 320):
        heard += rec.accept(speech[i : i + 320])
    heard += rec.flush()
    rtf = (time.monotonic() - t) / (len(speech) / SAMPLE_RATE)
    text = " ".join(tr.text for tr in heard if tr.final and tr.text)
    # Above 1 it falls behind the microphone and a stop would come later and later.
    ok = rtf < 1.0
    verdict = "" if ok else ": too slow to keep up with the microphone; close other programs, or use --engine pocketsphinx (faster, but hears less)"
    return ok, f"{getattr(rec, 'name', type(rec).__name__)} loaded in {load:.1f} s, real-time factor {rtf:.2f}, heard {text!r}{verdict}"
