"""The understanding stage on typed utterances (tests/data/utterances.tsv), ordinary read speech
and the coach's own lines. Targets are the issue's; the figures are in docs/understanding.md."""

import pytest

from benchmarks.understanding import BLIND, BLIND_2, BLIND_3, BLIND_4, HELD_OUT, TARGETS, coach_triggers, evaluate, ordinary_triggers, read_table
from tests.conftest import SHARED
from voice_coach.intents import Context


@pytest.fixture(scope="module")
def results(content):
    return evaluate(content=content)


def test_the_table_is_large_and_covers_every_category():
    rows = read_table()
    assert len(rows) >= 400
    assert {r.expected.split("=")[0] for r in rows} >= {"red_flag", "denied", "stop", "pause", "pressure", "release", "rating", "yes", "no", "hedge", "none"}


@pytest.mark.parametrize("category", sorted(TARGETS))
def test_targets_are_met(results, category):
    r = results[category]
    assert r.n > 0
    assert r.p >= TARGETS[category], "\n".join(r.misses)


def test_yes_no_is_never_the_opposite(results):
    assert results["yes_no"].extra.get("opposite", 0) == 0


@pytest.mark.parametrize("held", HELD_OUT, ids=lambda h: h.path.name)
def test_held_out_tables_never_miss_a_red_flag_nor_turn_an_answer(content, held):
    """The safety rows of the held-out tables stay right now that their misses were fixed: every red
    flag halts, no denial halts, no yes/no comes out as its opposite, no ordinary chat halts, and
    no table does worse than its first run."""
    res = evaluate(content=content, rows=read_table(held.path))
    missed = [m for m in res["red_flag"].misses + res["denied"].misses if not any(repr(k) in m for k in held.known_misses)]
    assert not missed, missed  # every red flag halts, no denial halts, but for the misses the table names
    assert res["yes_no"].extra.get("opposite", 0) == 0
    assert not any("red_flag" in m for m in res["none"].misses), res["none"].misses
    for c, (k, n) in held.first_run.items():
        assert res[c].n == n and res[c].k >= k, (c, res[c].misses)


def test_the_blind_tables_are_the_ones_written_blind():
    assert len(read_table(BLIND)) == 335  # as the reviewers wrote them: rows are never edited to pass
    assert len(read_table(BLIND_2)) == 268
    assert len(read_table(BLIND_3)) == 249
    assert len(read_table(BLIND_4)) == 200


def test_pressure_complaints_carry_their_reason(results, content):
    rows = [r for r in read_table() if r.expected == "pressure"]
    assert results["stop"].extra["pressure_reason"] == len(rows)


def test_no_coach_line_means_anything(content):
    assert coach_triggers(content) == []


def test_coach_lines_are_checked_with_placeholders_filled(content):
    from voice_coach.routine import coach_lines

    lines = coach_lines(content.routine)
    assert any("Was that 2?" in line for line in lines) and any("New numbness" in line for line in lines)
    # The echo guard is what keeps these quiet: without it the halt line is a red flag.
    line = next(x for x in lines if x.startswith("Stop the massage now.") and "tingling" in x)
    assert content.phrases.parse(line)[0].name == "none"
    assert content.phrases.parse("stop")[0].name == "stop"  # a short run of the coach's words still acts


@pytest.mark.skipif(not (SHARED / "speech" / "talk" / "transcripts.tsv").exists(), reason="needs ../shared/speech/talk")
def test_ordinary_read_speech_triggers_nothing(content):
    n, bad, examples = ordinary_triggers(content)
    assert n >= 180 * 8
    assert bad == 0, "\n".join(examples[:20])


@pytest.mark.parametrize("text", ["sharpener", "needless to say", "the electricity went out", "suddenly I'm sleepy", "turn the radiator up"])
def test_no_open_prefixes(content, text):
    assert all(i.name != "red_flag" for i in content.phrases.parse(text))


def test_a_ten_is_agony_only_as_a_rating(content):
    p = content.phrases
    assert p.parse("ten", context=Context("rating"))[0] == p.parse("ten", context=Context("hold"))[0]
    assert p.parse("ten", context=Context("hold"))[0].name == "red_flag"
    assert p.parse("ten", context=Context("yes_no"))[0].name != "red_flag"
    assert p.parse("nine", context=Context("hold"))[0].value == 9


def test_i_have_needs_the_questions_words(content):
    q = Context("yes_no", content.routine.screening.questions[0].ask)
    p = content.phrases
    assert p.parse("I have a fever", context=q)[0].name == "yes"
    assert p.parse("I do not have a fever", context=q)[0].name == "no"
    assert p.parse("I have two cats", context=q)[0].name == "none"
    assert p.parse("I do", context=q)[0].name == "yes"


def test_an_unsure_transcript_keeps_release_and_hedges(content):
    from voice_coach.understand import intents

    assert [i.name for i in intents(content.phrases, "let go", sure=False)] == ["release"]
    assert [i.name for i in intents(content.phrases, "not sure", sure=False)] == ["hedge"]
