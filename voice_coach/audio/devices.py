"""Sound devices: is there a card, and which device does "--input 2" or "--input USB" mean."""

from __future__ import annotations

from voice_coach.errors import UserError

PORTAUDIO_FIX = "PortAudio is missing: sudo apt-get install libportaudio2"
NO_CARD = "no sound card found: plug in a USB speaker and microphone (or check `aplay -l`), or run `voice-coach demo`"


def sounddevice():
    """Import sounddevice, turning a missing PortAudio library into a UserError naming the fix."""
    try:
        import sounddevice as sd  # noqa: PLC0415  (loads PortAudio; only audio commands need it)
    except OSError as e:  # sounddevice raises OSError at import when libportaudio is absent
        raise UserError(PORTAUDIO_FIX) from e
    return sd


def list_devices() -> list[dict]:
    """All devices: index, name, input/output channel counts and default sample rate."""
    sd = sounddevice()
    out = []
    for i, d in enumerate(sd.query_devices()):
        out.append(
            {
                "index": i,
                "name": d["name"],
                "inputs": int(d["max_input_channels"]),
                "outputs": int(d["max_output_channels"]),
                "default_samplerate": float(d["default_samplerate"]),
            }
        )
    return out


def has_sound_card() -> bool:
    """True if PortAudio sees at least one input and one output device."""
    try:
        devs = list_devices()
    except UserError:
        return False
    return any(d["inputs"] > 0 for d in devs) and any(d["outputs"] > 0 for d in devs)


def find_device(spec: str | int | None, kind: str) -> int:
    """The index of the input or output device named by `spec`.

    `spec` is an index ("2"), an exact name, or a unique case-insensitive part of a name
    ("usb"). None means the system default. `kind` is "input" or "output".
    """
    if kind not in ("input", "output"):
        raise ValueError(kind)
    key = "inputs" if kind == "input" else "outputs"
    devs = [d for d in list_devices() if d[key] > 0]
    what = "microphone" if kind == "input" else "speaker"
    if not devs:
        raise UserError(f"no {kind} device found ({what}): " + NO_CARD)
    if spec is None or spec == "":
        sd = sounddevice()
        default = sd.default.device[0 if kind == "input" else 1]
        if default is not None and default >= 0 and any(d["index"] == default for d in devs):
            return int(default)
        return devs[0]["index"]
    s = str(spec).strip()
    if s.isdigit():
        idx = int(s)
        if any(d["index"] == idx for d in devs):
            return idx
        raise UserError(f"no {kind} device with index {idx}; {kind} devices: {_names(devs)}")
    exact = [d for d in devs if d["name"].lower() == s.lower()]
    if len(exact) == 1:
        return exact[0]["index"]
    part = [d for d in devs if s.lower() in d["name"].lower()]
    if len(part) == 1:
        return part[0]["index"]
    if not part:
        raise UserError(f"no {kind} device matching {s!r}; {kind} devices: {_names(devs)}")
    raise UserError(f"{s!r} matches several {kind} devices ({_names(part)}); give the index")


def _names(devs: list[dict]) -> str:
    return ", ".join(f"{d['index']}: {d['name']}" for d in devs)


def pick_rate(device: int, kind: str, wanted: int, channels: int = 1) -> int:
    """`wanted` if the device takes it, else its default rate (USB mics often offer only 44.1/48k)."""
    sd = sounddevice()
    check = sd.check_input_settings if kind == "input" else sd.check_output_settings
    try:
        check(device=device, samplerate=wanted, channels=channels, dtype="int16")
        return wanted
    except Exception:  # PortAudio reports an unsupported rate as a generic PortAudioError/ValueError
        rate = int(sd.query_devices(device)["default_samplerate"])
        try:
            check(device=device, samplerate=rate, channels=channels, dtype="int16")
        except Exception as e:
            raise UserError(f"the {kind} device {device} accepts neither {wanted} Hz nor {rate} Hz mono: {e}") from e
        return rate


def close_quietly(stream, timeout: float = 2.0) -> bool:
    """Abort and close a stream without hanging on a dead device; True if it closed in time.

    abort, not stop: a stalled device never drains. A driver stuck in a blocking read can
    keep abort() waiting, so it runs in a daemon thread we stop waiting for.
    """
    import threading  # noqa: PLC0415

    def run():
        try:
            stream.abort()
            stream.close()
        except Exception:  # closing a dead device must not mask the fault being handled
            pass

    t = threading.Thread(target=run, daemon=True, name="close-audio-stream")
    t.start()
    t.join(timeout)
    return not t.is_alive()
