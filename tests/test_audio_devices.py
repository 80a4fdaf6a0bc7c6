"""Device lookup, the missing-PortAudio message, and `voice-coach check` on ALSA file devices."""

from __future__ import annotations

import builtins
import io
from argparse import Namespace

import numpy as np
import pytest

from voice_coach.audio import devices
from voice_coach.errors import UserError

DEVS = [
    {"index": 0, "name": "HDA Intel PCH: ALC3246 Analog (hw:0,0)", "inputs": 2, "outputs": 2, "default_samplerate": 44100.0},
    {"index": 1, "name": "USB PnP Sound Device: Audio (hw:1,0)", "inputs": 1, "outputs": 0, "default_samplerate": 48000.0},
    {"index": 2, "name": "USB Speaker (hw:2,0)", "inputs": 0, "outputs": 2, "default_samplerate": 48000.0},
]


@pytest.fixture
def fake_devices(monkeypatch):
    monkeypatch.setattr(devices, "list_devices", lambda: DEVS)


def test_find_by_index_name_and_part(fake_devices):
    assert devices.find_device("1", "input") == 1
    assert devices.find_device(2, "output") == 2
    assert devices.find_device("USB Speaker (hw:2,0)", "output") == 2
    assert devices.find_device("pnp", "input") == 1


def test_lookup_errors_are_user_errors(fake_devices):
    with pytest.raises(UserError, match="no input device with index 2"):
        devices.find_device("2", "input")  # a speaker is not a microphone
    with pytest.raises(UserError, match="no output device matching 'bluetooth'"):
        devices.find_device("bluetooth", "output")
    with pytest.raises(UserError, match="matches several"):
        devices.find_device("hw", "input")


def test_no_devices_names_the_fix(monkeypatch):
    monkeypatch.setattr(devices, "list_devices", lambda: [])
    with pytest.raises(UserError, match="no sound card"):
        devices.find_device(None, "input")


def test_missing_portaudio_names_the_package(monkeypatch):
    real = builtins.__import__

    def fake_import(name, *a, **kw):
        if name == "sounddevice":
            raise OSError("PortAudio library not found")
        return real(name, *a, **kw)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    with pytest.raises(UserError, match="sudo apt-get install libportaudio2"):
        devices.sounddevice()
    assert devices.has_sound_card() is False


def test_check_without_a_card_fails_with_one_line_per_problem(monkeypatch):
    monkeypatch.setattr(devices, "list_devices", lambda: [])
    from voice_coach.check import run_check

    out = io.StringIO()
    rc = run_check(__import__("voice_coach.paths").paths.default_content_dir(), Namespace(), out=out)
    assert rc != 0
    lines = out.getvalue().splitlines()
    assert any(line.startswith("FAIL devices") and "no sound card" in line for line in lines)


def test_check_says_when_the_linear_echo_canceller_is_missing(monkeypatch):
    pytest.importorskip("livekit.rtc")
    import voice_coach.audio.echo_cancel as ec
    from voice_coach.check import run_check

    monkeypatch.setattr(devices, "list_devices", lambda: [])
    monkeypatch.setattr(ec, "load_speexdsp", lambda: None)
    out = io.StringIO()
    assert run_check(__import__("voice_coach.paths").paths.default_content_dir(), Namespace(), out=out) != 0
    echo = [line for line in out.getvalue().splitlines() if line.startswith("FAIL echo")]
    assert len(echo) == 1 and "apt-get install libspeexdsp1" in echo[0], out.getvalue()


@pytest.mark.audio
@pytest.mark.timeout(120)
def test_check_on_alsa_file_devices(tmp_path):
    pytest.importorskip("sounddevice")
    from audio_helpers import AlsaRig

    rig = AlsaRig(tmp_path)
    try:
        rig.drain(16000)
        noise = (np.random.default_rng(0).standard_normal(16000 * 2) * 2000).astype(np.int16)
        # check opens the mic after listing devices; feeding paced audio from the start keeps
        # the FIFO supplied whenever it gets there.
        rig.feed(np.tile(noise, 4), 16000, paced=True)
        code = (
            "import io, json\nfrom argparse import Namespace\nfrom voice_coach.check import run_check\n"
            "from voice_coach.paths import default_content_dir\nout = io.StringIO()\n"
            "rc = run_check(default_content_dir(), Namespace(input='vc_mic', output='vc_spk'), out=out, mic_seconds=1.0)\n"
            "print(json.dumps({'rc': rc, 'out': out.getvalue()}))"
        )
        res = rig.run_python(code, timeout=90)
    finally:
        rig.close()
    lines = res["out"].splitlines()
    assert any(line.startswith("ok   devices") and "vc_mic" in line for line in lines), lines
    assert any(line.startswith("ok   microphone") and "dBFS" in line for line in lines), lines
    assert any(line.startswith("ok   voice") and "played" in line for line in lines), lines
    assert any(line.startswith("ok   echo") and "libspeexdsp" in line for line in lines), lines
    spoken = np.frombuffer(bytes(rig.received), dtype="<i2")
    assert (np.abs(spoken.astype(np.int32)) > 2000).sum() > 16000 * 0.5  # the test line reached the speaker
