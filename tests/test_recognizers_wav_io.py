import wave

import numpy as np
import pytest

from voice_coach.errors import UserError
from voice_coach.wav_io import read_wav, wav_to_chunks, write_wav


def _tone(rate, seconds=0.5, freq=440.0):
    t = np.arange(int(rate * seconds)) / rate
    return (0.5 * np.sin(2 * np.pi * freq * t) * 32767).astype(np.int16)


@pytest.mark.parametrize("rate", [8000, 16000, 22050, 44100, 48000])
def test_any_rate_to_16k(tmp_path, rate):
    p = tmp_path / f"t{rate}.wav"
    write_wav(p, _tone(rate), rate)
    x = read_wav(p)
    assert x.dtype == np.int16
    assert abs(len(x) - 8000) <= 2
    # the tone survives resampling: dominant frequency still 440 Hz
    spec = np.abs(np.fft.rfft(x.astype(float)))
    assert abs(np.argmax(spec) * 16000 / len(x) - 440) < 5


def test_stereo_is_mixed_to_mono(tmp_path):
    left = _tone(44100)
    stereo = np.stack([left, np.zeros_like(left)], axis=1)
    p = tmp_path / "s.wav"
    write_wav(p, stereo, 44100)
    with wave.open(str(p)) as w:
        assert w.getnchannels() == 2
    x = read_wav(p)
    assert x.ndim == 1 and abs(len(x) - 8000) <= 2
    assert 0.2 * 32767 < np.abs(x).max() < 0.3 * 32767  # half of the left channel


def test_8bit_and_float(tmp_path):
    import struct

    def raw_wav(path, tag, bits, data, rate=16000):
        fmt = struct.pack("<HHIIHH", tag, 1, rate, rate * bits // 8, bits // 8, bits)
        body = b"WAVE" + b"fmt " + struct.pack("<I", 16) + fmt + b"data" + struct.pack("<I", len(data)) + data
        path.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)

    raw_wav(tmp_path / "u8.wav", 1, 8, bytes([128, 192, 64, 128]))
    assert list(read_wav(tmp_path / "u8.wav")) == [0, 16384, -16384, 0]
    raw_wav(tmp_path / "f32.wav", 3, 32, np.array([0.0, 0.5, -0.5], "<f4").tobytes())
    assert list(read_wav(tmp_path / "f32.wav")) == [0, 16384, -16384]


def test_chunks(tmp_path):
    p = tmp_path / "c.wav"
    write_wav(p, np.zeros(16000 + 800, np.int16), 16000)
    chunks = list(wav_to_chunks(p, 100))
    assert [len(c) for c in chunks] == [1600] * 10 + [800]


def test_missing_and_bad_files_name_the_file(tmp_path):
    with pytest.raises(UserError) as e:
        read_wav(tmp_path / "nope.wav")
    assert "nope.wav" in e.value.message and "\n" not in e.value.message
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"this is not audio")
    with pytest.raises(UserError) as e:
        read_wav(bad)
    assert "bad.wav" in e.value.message and "\n" not in e.value.message
