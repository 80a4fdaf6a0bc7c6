"""The understanding stage: one urgency rule, one sureness rule from each engine's evidence, one
read-back rule. Pure: fake evidence, no models."""

import ast
import subprocess
from pathlib import Path

import pytest

from voice_coach.interfaces import Transcript
from voice_coach.understand import (
    FIRST_WORD_FLOOR,
    Understanding,
    intents,
    reads_back,
    steering,
    urgent,
)

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def u(content):
    return Understanding(content.phrases, content.routine.guidance)


@pytest.mark.parametrize(
    "text, kept",
    [("one", [("rating", 1, "unsure")]), ("yes", [("none", None, None)]), ("resume", [("none", None, None)]),
     ("stop, it's a nine", [("stop", None, None), ("rating", 9, "unsure")]),
     ("wait", [("pause", None, None)]), ("it's tingling", [("red_flag", "tingling", None)]), ("stuff", [("stop", None, None)])],
)
def test_an_unsure_transcript_keeps_urgent_intents_and_a_marked_rating(content, text, kept):
    """Urgent meanings act; a rating keeps its value, marked unsure, for reads_back to judge;
    yes, no and resume are dropped (the question is asked again)."""
    assert [(i.name, i.value, i.reason) for i in intents(content.phrases, text, sure=False)] == kept


@pytest.mark.parametrize(
    "text, steers",
    [("one", (("rating", 1),)), ("No.", (("no", None),)), ("resume", (("resume", None),)),
     ("Stop.", None), ("it's tingling", None), ("the oil is warm", None), ("stop, it's a nine", (("rating", 9),))],
)
def test_steering_is_what_would_need_a_double_check(content, text, steers):
    got = steering(content.phrases, text)
    assert (tuple((i.name, i.value) for i in got) if got else None) == steers


@pytest.mark.parametrize(
    "text, want",
    [("stop", "stop"), ("wait a moment", "pause"), ("stop, it's tingling", "red_flag"), ("yes stop", "stop"),
     ("it's a nine, stop", "stop"), ("six", None), ("resume", None), ("", None)],
)
def test_one_urgency_rule(u, text, want):
    got = u.urgent(text)
    assert (got.name if got else None) == want


def test_a_red_flag_outranks_a_stop_wherever_it_is_in_the_list():
    from voice_coach.intents import Intent

    assert urgent([Intent("stop"), Intent("red_flag", "numbness")]).name == "red_flag"


def test_only_one_urgency_rule_in_the_code():
    """grep finds one rule: the stop words and the urgent set are defined in understand.py only."""
    out = subprocess.run(["grep", "-rnE", r"URGENT\w* *= |STOPS *= |in \(\"stop\", \"pause\"\)", "voice_coach", "benchmarks"], cwd=ROOT, capture_output=True, text=True, check=False).stdout
    places = {line.split(":")[0] for line in out.splitlines()}
    assert places == {"voice_coach/understand.py"}, out


def whisper(text, first, again):
    """A Whisper-like final: the first word's candidates and a second decode, counted."""
    calls = []

    def first_word():
        calls.append("first")
        return first[0][0], first

    def redo():
        calls.append("again")
        return again

    return Transcript(text, final=True, confidence=0.9, first_word=first_word, again=redo), calls


@pytest.mark.parametrize(
    "first, again, sure, calls",
    [
        ([("One", 0.9)], "One.", True, ["first", "again"]),  # clear and heard the same again
        ([("One", 0.25), ("On", 0.7)], "One.", False, ["first"]),  # the first word is in doubt
        ([("One", 0.2), ("1", 0.2), ("On", 0.6)], "1", True, ["first", "again"]),  # "One" and "1" mean the same
        ([("One", 0.9)], "On.", False, ["first", "again"]),  # heard differently with more silence around it
    ],
)
def test_a_steering_word_must_be_clear_and_heard_again(u, first, again, sure, calls):
    tr, made = whisper("One.", first, again)
    assert u.sure(tr) is sure
    assert made == calls


@pytest.mark.parametrize("text", ["Stop.", "It's tingling.", "The oil is warm.", ""])
def test_stops_red_flags_and_talk_cost_no_second_decode(u, text):
    tr, made = whisper(text, [("Stop", 0.1)], "banana")
    assert u.sure(tr) and made == []


def test_partials_are_never_held_back(u):
    tr, made = whisper("One", [("One", 0.01)], "On")
    assert u.sure(Transcript(tr.text, final=False, first_word=tr.first_word, again=tr.again)) and made == []


def test_the_floor_is_the_documented_one():
    assert FIRST_WORD_FLOOR == 0.3


@pytest.mark.parametrize("words, sure", [((("six", 1.0),), True), ((("six", 0.31),), False), ((("no", 0.9), ("six", 0.4)), False)])
def test_word_confidences_decide_for_engines_that_give_them(u, words, sure):
    """Vosk reports a confidence per word: a steering answer with a doubtful word is unsure."""
    assert u.sure(Transcript(" ".join(w for w, _ in words), final=True, words=words)) is sure


def test_a_doubtful_stop_word_still_stops(u):
    tr = Transcript("stop", final=True, words=(("stop", 0.1),))
    heard = u.heard(tr)
    assert heard.sure and u.urgent(heard.text).name == "stop"


def test_an_engine_with_no_evidence_is_taken_at_its_word(u):
    assert u.sure(Transcript("six", final=True, confidence=0.2))


@pytest.mark.parametrize("value, back", [(1, True), (2, True), (3, False), (9, False)])
def test_read_back_at_or_below_the_content_number(content, value, back):
    assert reads_back(value, content.routine.guidance) is back


@pytest.mark.parametrize("value, back", [(1, True), (2, True), (3, True), (4, True), (5, False), (7, False), (8, False), (9, False)])
def test_a_doubted_rating_is_read_back_only_when_it_would_mean_deeper(content, value, back):
    """Below guidance.low (5) the coach would say "deeper": a doubted one is read back. In range or
    above, holding or easing off is safe whichever number was said."""
    assert content.routine.guidance.low == 5
    assert reads_back(value, content.routine.guidance, sure=False) is back


def test_read_back_is_written_once():
    """The session's phases ask the understanding stage; none compares with the threshold itself."""
    hits = []
    for path in (ROOT / "voice_coach").rglob("*.py"):
        if "confirm_at_or_below" in path.read_text() and path.name not in ("understand.py", "routine.py"):
            hits.append(path.name)
    assert hits == []
    tree = ast.parse((ROOT / "voice_coach" / "understand.py").read_text())
    assert sum(isinstance(n, ast.FunctionDef) and n.name == "reads_back" for n in ast.walk(tree)) == 2  # the rule, and the bound method


def _with_context(text, ctx_text, final=True):
    asked = []

    def in_context(step):
        asked.append(step)
        return Transcript(ctx_text, final=True) if ctx_text is not None else None

    return Transcript(text, final=final, in_context=in_context), asked


@pytest.mark.parametrize(
    "text, ctx_text, step, heard, asked",
    [
        ("Sex.", "6", "rating", "6", ["rating"]),  # the question as context hears the answer
        ("Know.", "No.", "yes_no", "No.", ["yes_no"]),
        ("Sex.", "6", "hold", "Sex.", []),  # no question at this step
        ("Sex.", "6", None, "Sex.", []),
        ("Stop.", "6", "rating", "Stop.", []),  # urgent: it has acted; never decoded again
        ("It's tingling.", "No.", "yes_no", "It's tingling.", []),
        ("Sex.", None, "rating", "Sex.", ["rating"]),  # the context decode heard nothing
        ("Sex.", "  ", "rating", "Sex.", ["rating"]),
    ],
)
def test_an_answer_is_understood_from_the_decode_with_the_question(u, text, ctx_text, step, heard, asked):
    tr, made = _with_context(text, ctx_text)
    assert u.heard(tr, step).text == heard
    assert made == asked


def test_a_partial_is_never_decoded_again_with_the_question(u):
    tr, made = _with_context("Sex", "6", final=False)
    assert u.heard(tr, "rating").text == "Sex" and made == []


def test_the_answer_from_the_question_is_judged_like_any(u):
    """The context transcript carries its own evidence, and the same sureness rule reads it."""
    doubtful = Transcript("One.", final=True, first_word=lambda: ("One", [("One", 0.2), ("On", 0.8)]))
    tr = Transcript("On.", final=True, in_context=lambda step: doubtful)
    h = u.heard(tr, "rating")
    assert (h.text, h.sure) == ("One.", False)
