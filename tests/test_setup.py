"""`voice-coach setup`, the saved config and the Pi's power report.

Pure parts first (levels and their verdicts, answers, the config file), then the wizard for real:
`voice-coach setup` in a child process through sounddevice, PortAudio and ALSA file devices,
answered once by keys and once by voice (real recordings of "yes" played into the mic).
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time
from argparse import Namespace

import numpy as np
import pytest

from voice_coach import config as cfgmod
from voice_coach.errors import UserError
from voice_coach.setup_wizard import Levels, measure_levels, volume_answer

SR = 16000


def _room_and_voice(noise_db: float, voice_db: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    a = rng.standard_normal(SR * 4) * 32768 * 10 ** (noise_db / 20)
    t = np.arange(SR // 2) / SR
    for start in (0.5, 1.7, 2.9):  # three half-second "stops"
        i = int(start * SR)
        a[i : i + len(t)] += np.sin(2 * np.pi * 220 * t) * 32768 * 10 ** (voice_db / 20) * np.sqrt(2)
    return np.clip(a, -32768, 32767).astype(np.int16)


def test_levels_a_good_microphone():
    lv = measure_levels(_room_and_voice(-60, -20))
    assert lv.noise_db == pytest.approx(-60, abs=2) and lv.speech_db == pytest.approx(-20, abs=1)
    assert lv.verdicts() == []


def test_levels_too_quiet_clipping_and_a_loud_room():
    assert "too quiet" in measure_levels(_room_and_voice(-75, -50)).verdicts()[0]
    assert "clips" in measure_levels(_room_and_voice(-60, 3)).verdicts()[0]
    assert "room is loud" in measure_levels(_room_and_voice(-28, -22)).verdicts()[0]
    assert Levels(-60, -43, -30).verdicts()[0].startswith("the microphone is too quiet")


def test_volume_answers_typed_or_spoken():
    assert volume_answer("+") == "up" and volume_answer("Louder, please.") == "up"
    assert volume_answer("-") == "down" and volume_answer("A bit softer.") == "down"
    assert volume_answer("") == "good" and volume_answer("That's good.") == "good"
    assert volume_answer("banana") is None


def test_config_round_trip_and_strict_keys(tmp_path, monkeypatch):
    path = tmp_path / "c.toml"
    monkeypatch.setenv("VOICE_COACH_CONFIG", str(path))
    assert cfgmod.load() == cfgmod.Config()
    cfgmod.save(cfgmod.Config(input='USB "PnP" Audio', output="Headphones", volume=0.7, input_rate=48000))
    got = cfgmod.load()
    assert got.input == 'USB "PnP" Audio' and got.volume == 0.7 and got.input_rate == 48000
    path.write_text('speaker = "x"\n')
    with pytest.raises(UserError, match=r"c.toml: unknown key 'speaker'"):
        cfgmod.load()
    path.write_text("volume = 3\n")
    with pytest.raises(UserError, match="volume must be between"):
        cfgmod.load()
    path.write_text('input = 2\n')
    with pytest.raises(UserError, match="input must be a str"):
        cfgmod.load()


def test_command_line_wins_over_the_saved_config():
    args = Namespace(input="hw:2", output=None, volume=None, voice=None)
    cfgmod.apply_saved(args, cfgmod.Config(input="USB mic", output="USB speaker", volume=0.6))
    assert args.input == "hw:2" and args.output == "USB speaker" and args.volume == 0.6


def test_run_reads_the_saved_setup(tmp_path, monkeypatch):
    from voice_coach import cli

    path = tmp_path / "c.toml"
    cfgmod.save(cfgmod.Config(output="USB speaker", volume=0.5), path)
    monkeypatch.setenv("VOICE_COACH_CONFIG", str(path))
    seen = {}
    monkeypatch.setattr("voice_coach.live.run_live", lambda content, args: seen.update(vars(args)) or 0)
    assert cli.main(["run", "--input", "2"]) == 0
    assert seen["input"] == "2" and seen["output"] == "USB speaker" and seen["volume"] == 0.5


def _fake_vcgencmd(tmp_path, answer: str) -> str:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    exe = bin_dir / "vcgencmd"
    exe.write_text(f"#!/bin/sh\necho '{answer}'\n")
    exe.chmod(exe.stat().st_mode | stat.S_IEXEC)
    return f"{bin_dir}{os.pathsep}{os.environ['PATH']}"


def test_power_report_where_vcgencmd_exists(tmp_path, monkeypatch):
    from voice_coach import pi_health

    monkeypatch.setenv("PATH", "/nonexistent")
    assert pi_health.throttled() is None  # not a Pi: nothing to say
    monkeypatch.setenv("PATH", _fake_vcgencmd(tmp_path, "throttled=0x0"))
    assert pi_health.throttled()[0] is True
    monkeypatch.setenv("PATH", _fake_vcgencmd(tmp_path, "throttled=0x50005"))
    ok, text = pi_health.throttled()
    assert not ok and "under-voltage now" in text and "throttled since boot" in text and "power supply" in text


# --- through the real audio stack ---------------------------------------------------------


def _audio_ok() -> bool:
    from audio_helpers import _has_libasound

    try:
        import sounddevice  # noqa: F401
    except OSError:
        return False
    return _has_libasound()


needs_audio = pytest.mark.skipif(not _audio_ok(), reason="needs libasound2 and libportaudio2")


def _run_setup(tmp_path, rig, stdin, extra=()):
    env = rig.env()
    env["VOICE_COACH_CONFIG"] = str(tmp_path / "config.toml")
    p = subprocess.Popen(
        [sys.executable, "-m", "voice_coach", "setup", "--input", "vc_mic", "--output", "vc_spk", *extra],
        env=env, stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    return p


def _speaker_rms(rig) -> float:
    out = np.frombuffer(bytes(rig.received), dtype="<i2").astype(np.float64)
    loud = out[np.abs(out) > 500]
    return float(np.sqrt(np.mean(loud**2))) if len(loud) else 0.0


@pytest.mark.audio
@pytest.mark.timeout(240)
@needs_audio
def test_setup_answered_by_keys_saves_devices_and_volume(tmp_path):
    from audio_helpers import STOP_DIR, AlsaRig, LiveMic, read_wav

    rig = AlsaRig(tmp_path)
    rig.drain(16000)
    mic = LiveMic(rig, noise_db=-62)
    stops = [read_wav(p) for p in sorted(STOP_DIR.glob("*.wav"))[:3]] if STOP_DIR.exists() else []
    try:
        p = _run_setup(tmp_path, rig, subprocess.PIPE, ["--volume", "0.5", "--voice", "espeak"])
        # Heard it; louder; good. The mic meanwhile hears someone say stop now and then.
        p.stdin.write("y\n+\n\n")
        p.stdin.flush()
        deadline = time.monotonic() + 150
        i = 0
        while p.poll() is None and time.monotonic() < deadline:
            if stops and not mic.busy:
                mic.say(np.concatenate([stops[i % len(stops)], np.zeros(SR // 2, np.int16)]))
                i += 1
            time.sleep(0.1)
        out, err = p.communicate(timeout=30)
    finally:
        mic.close()
        rig.close()
    assert p.returncode in (0, 1), (out, err)
    assert "vc_mic" in out and "vc_spk" in out and "Hz" in out  # devices listed with rates
    assert "answer: yes (key)" in out and "answer: up (key)" in out and "answer: good (key)" in out, out
    assert "room " in out and "voice " in out
    cfg = cfgmod.load(tmp_path / "config.toml")
    assert cfg.input == "vc_mic" and cfg.output == "vc_spk"
    assert cfg.volume == pytest.approx(0.7) and cfg.voice == "espeak" and cfg.input_rate == 16000
    assert _speaker_rms(rig) > 0  # the lines were played


@pytest.mark.audio
@pytest.mark.timeout(240)
@needs_audio
def test_setup_answered_by_voice(tmp_path):
    from audio_helpers import SHARED, AlsaRig, LiveMic, read_wav

    yes_dir = SHARED / "speech" / "commands" / "yes"
    if not yes_dir.exists():
        pytest.skip("needs ../shared/speech/commands/yes")
    yeses = [read_wav(p) for p in sorted(yes_dir.glob("*.wav"))[:4]]
    rig = AlsaRig(tmp_path)
    rig.drain(16000)
    mic = LiveMic(rig, noise_db=-62)
    try:
        p = _run_setup(tmp_path, rig, subprocess.DEVNULL, ["--voice", "espeak"])
        deadline = time.monotonic() + 200
        i = 0
        while p.poll() is None and time.monotonic() < deadline:
            if not mic.busy:  # "yes", then a pause, over and over: every question gets a yes
                mic.say(np.concatenate([yeses[i % len(yeses)], np.zeros(SR, np.int16)]))
                i += 1
            time.sleep(0.1)
        out, err = p.communicate(timeout=30)
    finally:
        mic.close()
        rig.close()
    print(out)
    assert "answer: yes (voice)" in out, (out, err)
    assert "answer: good (voice)" in out, out
    assert cfgmod.load(tmp_path / "config.toml").output == "vc_spk"

