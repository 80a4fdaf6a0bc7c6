import json
import io
from pathlib import Path

import numpy as np
import pytest

from voice_coach.errors import UserError
from voice_coach.hear import run_hear
from voice_coach.paths import default_content_dir
from voice_coach.wav_io import read_wav, write_wav

COMMANDS = Path(__file__).resolve().parents[1].parent / "shared/speech/commands"


def test_missing_file_is_one_line(tmp_path):
    with pytest.raises(UserError) as e:
        run_hear([tmp_path / "gone.wav"], engine="pocketsphinx", model=None, content_dir=default_content_dir())
    assert "gone.wav" in e.value.message


def test_silence_is_none(tmp_path):
    p = tmp_path / "quiet.wav"
    write_wav(p, np.zeros(16000, np.int16), 16000)
    out = io.StringIO()
    assert run_hear([p], engine="pocketsphinx", model=None, content_dir=default_content_dir(), out=out) == 0
    row = json.loads(out.getvalue())
    assert row == {"file": str(p), "text": "", "intent": "none", "value": None, "sure": True}


@pytest.mark.skipif(not COMMANDS.is_dir(), reason="shared recordings not available")
def test_any_rate_and_stereo_give_the_same_answer(tmp_path):
    clip = sorted((COMMANDS / "yes").glob("*.wav"))[0]
    pcm = read_wav(clip)
    import soxr

    up = soxr.resample(pcm.astype(np.float32) / 32768, 16000, 44100)
    stereo = np.stack([up, up], axis=1)
    p = tmp_path / "stereo44k.wav"
    write_wav(p, stereo, 44100)
    out = io.StringIO()
    run_hear([clip, p], engine="pocketsphinx", model=None, content_dir=default_content_dir(), out=out)
    a, b = [json.loads(line) for line in out.getvalue().splitlines()]
    assert set(a) == {"file", "text", "intent", "value", "sure"}
    assert a["intent"] == b["intent"]


def test_cli_hear(tmp_path, capsys):
    from voice_coach.cli import main

    p = tmp_path / "quiet.wav"
    write_wav(p, np.zeros(8000, np.int16), 8000)
    assert main(["hear", "--engine", "pocketsphinx", str(p)]) == 0
    assert json.loads(capsys.readouterr().out)["intent"] == "none"


@pytest.mark.skipif(not COMMANDS.is_dir(), reason="shared recordings not available")
def test_hear_understands_an_answer_to_the_question_given(capsys):
    """`--answer-to rating`: the file is understood as the coach understands an answer to its
    rating question (Whisper decodes it again with the question as context)."""
    from voice_coach.cli import main

    clip = sorted((COMMANDS / "six").glob("*.wav"))[0]
    assert main(["hear", "--engine", "whisper", "--answer-to", "rating", str(clip)]) == 0
    row = json.loads(capsys.readouterr().out)
    assert (row["intent"], row["value"]) == ("rating", 6)


class _Said:
    """A recognizer twin: `finals` at the first chunk, `partials` at the end (as Whisper's second
    listen to a lone word comes after its final)."""

    name = "twin"

    def __init__(self, finals, partials):
        self.finals, self.partials, self._done = finals, partials, False

    def reset(self):
        self._done = False

    def accept(self, pcm):
        from voice_coach.interfaces import Transcript

        if self._done:
            return []
        self._done = True
        return [Transcript(t, final=True) for t in self.finals]

    def flush(self):
        from voice_coach.interfaces import Transcript

        return [Transcript(t, final=False) for t in self.partials]


@pytest.mark.parametrize("finals, partials, heard", [
    (["Rock."], ["Stop."], "Stop."),  # the second listen heard the stop: the coach would have stopped
    (["Stop."], ["Hey."], "Stop."),
    (["Seven."], ["Heaven."], "Seven."),  # a partial that is not urgent changes nothing
    (["left"], [], "left"),
])
def test_a_file_is_understood_as_an_urgent_partial_when_its_finals_are_not_urgent(tmp_path, finals, partials, heard):
    from voice_coach.hear import transcribe_file
    from voice_coach.intents import load_phrasebook
    from voice_coach.understand import Understanding

    p = tmp_path / "word.wav"
    write_wav(p, np.zeros(3200, np.int16), 16000)
    understand = Understanding(load_phrasebook(default_content_dir() / "phrases.toml"))
    assert transcribe_file(_Said(finals, partials), p, understand).text == heard
