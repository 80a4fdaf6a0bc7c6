"""Content is validated strictly at load: every broken file gives one line naming file and key."""

import subprocess
import sys

import pytest

from voice_coach.errors import ContentError
from voice_coach.routine import load_content


def _edit(path, old, new, count=1):
    text = path.read_text()
    assert old in text, f"test setup: {old!r} not in {path.name}"
    assert count != 1 or text.count(old) == 1, f"test setup: {old!r} is not unique in {path.name}"
    path.write_text(text.replace(old, new, count))


BROKEN = [
    # (file, old text, new text, key named in the error, words in the problem)
    ("routine.toml", "[welcome]\n", "[welcome]\ncolour = \"blue\"\n", "welcome.colour", "unknown key"),
    ("routine.toml", "[next]\n", "[nexxt]\n", "nexxt", "unknown key"),
    ("routine.toml", 'prompt = "Say next knot to find another one, or finish to end."', "", "next.prompt", "missing"),
    ("routine.toml", "min_seconds = 30", "min_seconds = \"thirty\"", "hold.min_seconds", "must be a number"),
    ("routine.toml", "max_seconds = 60", "max_seconds = 90", "hold.max_seconds", "between 30 and 60"),
    ("routine.toml", "min_seconds = 30", "min_seconds = 20", "hold.min_seconds", "between 30 and 60"),
    ("routine.toml", 'ask = "Did the knot soften?"', "ask = 3", "soften.ask", "must be text"),
    ("routine.toml", 'ask = "Did the knot soften?"', 'ask = "  "', "soften.ask", "must not be empty"),
    ("routine.toml", "{elapsed} seconds", "{elapsd} seconds", "hold.cue", "unknown placeholder {elapsd}"),
    ("routine.toml", "Well done.", "Well {done}.", "soften.yes", "unknown placeholder {done}"),
    ("routine.toml", "low = 5\n", "low = 8\n", "guidance.low", "must not be above"),
    ("routine.toml", "release_at = 9", "release_at = 6", "guidance.release_at", "must be above guidance.high"),
    ("routine.toml", "confirm_at_or_below = 2", "confirm_at_or_below = 5", "guidance.confirm_at_or_below", "must be below"),
    ("routine.toml", "{rating}? Say yes", "{value}? Say yes", "guidance.confirm", "unknown placeholder {value}"),
    # Only a plain {name} the coach fills: a format spec, a conversion, an attribute or an index
    # would pass str.format's parser and crash (or say something odd) mid-session.
    ("routine.toml", "Noted: {location}.", "Noted: {location:d}.", "palpation.noted", "only plain {name} placeholders"),
    ("routine.toml", "Noted: {location}.", "Noted: {location!x}.", "palpation.noted", "only plain {name} placeholders"),
    ("routine.toml", "Noted: {location}.", "Noted: {location!r}.", "palpation.noted", "only plain {name} placeholders"),
    ("routine.toml", "Noted: {location}.", "Noted: {location:{location}}.", "palpation.noted", "only plain {name} placeholders"),
    ("routine.toml", "Noted: {location}.", "Noted: {location.upper}.", "palpation.noted", "only plain {name} placeholders"),
    ("routine.toml", "Noted: {location}.", "Noted: {location[0]}.", "palpation.noted", "only plain {name} placeholders"),
    ("routine.toml", "Noted: {location}.", "Noted: {}.", "palpation.noted", "only plain {name} placeholders"),
    ("routine.toml", "Noted: {location}.", "Noted: {0}.", "palpation.noted", "only plain {name} placeholders"),
    ("routine.toml", "Noted: {location}.", "Noted: {location.", "palpation.noted", "bad placeholder"),
    ("routine.toml", "{elapsed} seconds", "{elapsed:>3} seconds", "hold.cue", "only plain {name} placeholders"),
    ("routine.toml", "Noted: {location}.", "Noted: {{location}}.", None, None),  # literal braces: fine
    ("routine.toml", 'id = "skin"', 'id = "fever"', "screening.questions[1].id", "duplicate id"),
    ("routine.toml", "[welcome]", "[welcome", "(syntax)", "not valid TOML"),
    ("routine.toml", 'lines = [\n    "Hello.', 'lines = [\n    7, "Hello.', "welcome.lines", "list of text"),
    ("routine.toml", "numbness = \"New numbness\", ", "", "halt.kinds.numbness", "missing"),
    ("phrases.toml", "[intents]\n", "[intents]\nshout = [\"hey\"]\n", "intents.shout", "unknown key"),
    ("phrases.toml", 'pls = "please"', 'pls = "please!"', "shorthand.pls", "plain words"),
    ("phrases.toml", 'pls = "please"', 'pls = 3', "shorthand.pls", "plain words"),
    ("phrases.toml", 'commands = [\n    "stop", ', "commands = [\n    ", "stop.commands", "must include 'stop'"),
    ("phrases.toml", 'phrases = [\n    "pause", "wait", ', 'phrases = [\n    "pause", ', "pause.phrases", "must include 'wait'"),
    ("phrases.toml", "ten = 10 }", "ten = 11 }", "ratings.numbers.ten", "between 0 and 10"),
    ("phrases.toml", "ten = 10 }", "dix = 10 }", None, None),
    ("phrases.toml", "nine = 9, ten = 10 }", "nine = 9 }", "ratings.numbers", "every rating from 0 to 10"),
    # No open prefixes: every word is whole ("sharp*" would fire on "sharpener").
    ("phrases.toml", '"tingling", "tingle",', '"tingl*", "tingle",', "red_flags.tingling.phrases[0]", "not a whole word"),
    ("phrases.toml", '    "{sense} ... in|on', '    "{senses} ... in|on', "red_flags.radiating.phrases[2]", "not a class"),
    ("phrases.toml", 'ambiguous = [\n    "sharp",', 'ambiguous = [\n    "sharpish",', "red_flags.ambiguous[0]", "not a phrase of"),
    ("phrases.toml", 'fuzzy = ["tingling", ', 'fuzzy = ["tickling", ', "red_flags.tingling.fuzzy[0]", "not a word of"),
    ("phrases.toml", "[red_flags.numbness]\n", '[red_flags.numbness]\nwords = ["numb"]\n', "red_flags.numbness.words", "unknown key"),
    ("phrases.toml", "repeated_no = 3", "repeated_no = 1", "stop.repeated_no", "between 2 and 10"),
    ("phrases.toml", "[answers]\n", '[answers]\nmaybe = ["perhaps"]\n', "answers.maybe", "unknown key"),
    ("phrases.toml", "fuzzy_min_length = 7", "fuzzy_min_length = 2", "red_flags.fuzzy_min_length", "between 4 and 20"),
    ("phrases.toml", "[sound_alikes]\n", "[sound_alikes]\nrating = [\"won\"]\n", "sound_alikes.rating", "unknown key"),
    ("phrases.toml", 'pause = ["weight", "paws"]', 'pause = ["way it"]', "sound_alikes.pause[0]", "one plain word"),
    ("phrases.toml", "max_gap = 3", "max_gap = 9", "negation.max_gap", "between 0 and 5"),
    ("phrases.toml", '"tingling", "tingle",', '"...", "tingle",', "red_flags.tingling.phrases[0]", "has no words"),
]


@pytest.mark.parametrize("file, old, new, key, problem", BROKEN)
def test_broken_content_is_rejected_with_file_and_key(content_copy, file, old, new, key, problem):
    _edit(content_copy / file, old, new)
    if key is None:  # a harmless change: still valid
        load_content(content_copy)
        return
    with pytest.raises(ContentError) as err:
        load_content(content_copy)
    message = err.value.message
    assert file in message and f": {key}:" in message
    if problem:
        assert problem in message
    assert "\n" not in message


def test_missing_file_and_folder(content_copy, tmp_path):
    (content_copy / "phrases.toml").unlink()
    with pytest.raises(ContentError, match=r"phrases.toml: \(file\): missing"):
        load_content(content_copy)
    with pytest.raises(ContentError, match=r"\(folder\)"):
        load_content(tmp_path / "nowhere")


@pytest.mark.parametrize("file", ["routine.toml", "phrases.toml"])
def test_a_file_that_is_not_utf8_is_one_error_naming_it(content_copy, file):
    path = content_copy / file
    path.write_bytes(path.read_bytes().replace(b"\n", b"\n# caf\xe9\n", 1))
    with pytest.raises(ContentError) as err:
        load_content(content_copy)
    assert f"{file}: (file): not UTF-8 text" in err.value.message and "\n" not in err.value.message


def test_shipped_content_loads(content):
    r = content.routine
    assert [q.id for q in r.screening.questions] == ["fever", "skin", "wounds", "inflammation"]
    assert (r.hold.min_seconds, r.hold.max_seconds) == (30, 60)
    assert (r.guidance.low, r.guidance.high) == (5, 7)


def test_cli_bad_content_is_one_line_and_exit_2(content_copy):
    _edit(content_copy / "routine.toml", "[welcome]\n", "[welcome]\ncolour = 1\n")
    p = subprocess.run(
        [sys.executable, "-m", "voice_coach", "--content", str(content_copy), "run", "--console"],
        input="", capture_output=True, text=True, timeout=60,
    )
    assert p.returncode == 2
    assert p.stderr.strip().count("\n") == 0
    assert "routine.toml: welcome.colour: unknown key" in p.stderr
    assert "Traceback" not in p.stderr


def test_cli_content_that_is_not_utf8_is_one_line_and_exit_2(content_copy):
    path = content_copy / "routine.toml"
    path.write_bytes(b"\xff\xfe" + path.read_bytes())
    p = subprocess.run(
        [sys.executable, "-m", "voice_coach", "--content", str(content_copy), "run", "--console"],
        input="", capture_output=True, text=True, timeout=60,
    )
    assert p.returncode == 2, p.stderr
    assert p.stderr.strip().count("\n") == 0 and "routine.toml" in p.stderr and "Traceback" not in p.stderr


def test_every_placeholder_in_the_shipped_content_is_filled_by_the_session(content):
    """The strict check and the session agree: each line formats with the names the schema allows."""
    import string

    from voice_coach.routine import SCHEMA

    def walk(schema, ns, key=""):
        for name, kind in schema.items():
            value = getattr(ns, name)
            if isinstance(kind, dict):
                walk(kind, value, f"{key}{name}.")
            elif isinstance(kind, tuple) and kind[0] == "text":
                fields = {f for _, f, _, _ in string.Formatter().parse(value) if f is not None}
                assert fields <= kind[1], f"{key}{name}"
                value.format(**{f: 7 for f in kind[1]})

    walk(SCHEMA, content.routine)
