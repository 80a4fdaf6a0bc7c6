"""What the session does with pressure complaints, release, high ratings and hedges: fake clock,
action lists as the contract."""

import pytest

from tests.session_script import TO_FIRST_RATING, Runner
from voice_coach.events import End, Halt, HoldEnd, HoldStart, Paused, Record, Say, Understood


@pytest.fixture
def run(session, clock):
    r = Runner(session, clock, step=0.1)
    r.start()
    return r


def keys(actions):
    return [a.key for a in actions if isinstance(a, Say)]


def of(actions, cls):
    return [a for a in actions if isinstance(a, cls)]


def at_rating(run):
    run.run(TO_FIRST_RATING)
    return run


def at_hold(run, seconds=10):
    at_rating(run)
    assert of(run.say("six"), HoldStart)
    run.wait(seconds)
    return run


@pytest.mark.parametrize("text", ["too hard", "ow", "owww", "that hurts", "ease off", "not so hard", "back off", "no no no", "stop"])
def test_a_complaint_in_a_hold_pauses_and_tells_the_giver_to_ease_off(run, text):
    at_hold(run)
    acts = run.say(text)
    assert of(acts, Paused) and keys(acts) == ["control.paused", "control.ease_off"]
    assert not of(run.wait(120), HoldEnd)  # paused: nothing runs
    acts = run.say("resume")
    # On resume: a new rating before the pressure goes on again, never the same hold.
    assert of(acts, HoldEnd)[0].reason == "eased_off"
    assert keys(acts)[:2] == ["control.resumed", "control.rerate"] and keys(acts)[-1] == "pressure.rating_prompt"
    assert not of(acts, HoldStart)
    assert of(run.say("five"), HoldStart)


def test_a_complaint_while_rating_asks_for_a_new_rating_on_resume(run):
    at_rating(run)
    acts = run.say("ouch, too much")
    assert keys(acts) == ["control.paused", "control.ease_off"]
    assert keys(run.say("resume"))[-1] == "pressure.rating_prompt"


def test_a_plain_pause_freezes_the_hold_without_advice(run):
    at_hold(run)
    acts = run.say("one sec")
    assert keys(acts) == ["control.paused"]
    assert not of(acts, Record)  # "one sec" is no rating of 1
    assert "control.time_left" in keys(run.say("resume"))


@pytest.mark.parametrize("text", ["let go", "release", "stop pressing", "let go please"])
def test_let_go_in_a_hold_releases_now_even_before_thirty_seconds(run, text):
    at_hold(run, seconds=5)
    acts = run.say(text)
    assert of(acts, Understood)[0].intent == "release"
    assert of(acts, HoldEnd)[0].reason == "released"
    assert keys(acts) == ["guidance.release_now", "soften.ask"]
    assert "hold.too_early" not in keys(acts)


def test_it_let_go_is_softened(run):
    at_hold(run, seconds=35)
    acts = run.say("it let go")
    assert of(acts, HoldEnd)[0].reason == "softened"


@pytest.mark.parametrize("where, text", [("hold", "ten"), ("rating", "ten"), ("hold", "that's agony"), ("rating", "it's unbearable"), ("hold", "worst ever")])
def test_a_ten_or_agony_halts_as_agonizing_pain(run, where, text):
    at_hold(run) if where == "hold" else at_rating(run)
    acts = run.say(text)
    assert of(acts, Halt)[0].kind == "sharp_pain"
    assert of(acts, End)[0].outcome == "halted"


def test_a_nine_in_the_hold_releases_and_no_kneading_this_round(run):
    at_hold(run)
    acts = run.say("nine")
    assert keys(acts)[0] == "guidance.release_now" and of(acts, HoldEnd)[0].reason == "too_intense"
    acts = run.say("no")
    acts += run.until_question()
    said = keys(acts)
    assert "integrate.petrissage" not in said and "guidance.gentle_only" in said


def test_a_nine_before_the_hold_releases_and_goes_to_light_strokes(run):
    at_rating(run)
    acts = run.say("nine")
    assert keys(acts)[:2] == ["guidance.release_now", "integrate.effleurage"]
    assert not of(acts, HoldStart)
    acts = run.until_question()
    assert "integrate.petrissage" not in keys(acts)


def test_not_sure_at_screening_is_asked_again_then_no_massage(run):
    run.say("ready")
    acts = run.say("I'm not sure")
    assert keys(acts) == ["control.unsure", "screening.fever"]
    acts = run.say("I don't know")
    assert keys(acts) == ["screening.unsure_declined"]
    assert of(acts, Halt)[0].reason == "contraindication" and of(acts, End)[0].outcome == "declined"


def test_screening_answers_read_with_the_questions_words(run):
    run.say("ready")
    assert keys(run.say("I do not have a fever")) == ["screening.skin"]
    assert keys(run.say("I have two cats")) == ["control.not_understood", "screening.skin"]
    assert keys(run.say("no, no skin condition")) == ["screening.wounds"]


def test_not_sure_at_the_read_back_means_no_deeper(run):
    at_rating(run)
    assert keys(run.say("one")) == ["guidance.confirm"]
    assert keys(run.say("I'm not sure")) == ["control.unsure", "guidance.confirm"]
    acts = run.say("maybe")
    assert keys(acts)[:2] == ["guidance.unsure_no_deeper", "hold.start"]
    assert "guidance.too_low" not in keys(acts) and not of(acts, Record)


def test_not_sure_in_the_hold_read_back_means_no_deeper(run):
    at_hold(run)
    assert keys(run.say("two")) == ["guidance.confirm"]
    assert keys(run.say("not sure")) == ["guidance.confirm"]
    assert keys(run.say("I don't know")) == ["guidance.unsure_no_deeper"]


def test_not_sure_if_it_softened_is_asked_again_then_not_softened(run):
    at_hold(run, seconds=61)
    assert keys(run.say("hmm, kind of")) == ["control.unsure", "soften.ask"]
    acts = run.say("I don't know")
    assert keys(acts)[0] == "soften.no"
    assert of(acts, Record)[0].data["softened"] is False


def test_did_not_soften_is_no(run):
    at_hold(run, seconds=61)
    assert keys(run.say("no it did not"))[0] == "soften.no"


def test_help_names_what_the_step_accepts(run):
    assert keys(run.say("help")) == ["help.ready"]
    run.say("ready")
    assert keys(run.say("help")) == ["help.yes_no"]
    run.run(["no", "no", "no", "no", "no", "ready", ("until_question",), "found it", "left shoulder blade"])
    assert keys(run.say("what can I say")) == ["help.rating"]
    run.say("six")
    assert keys(run.say("help")) == ["help.hold"]


def test_a_yes_and_a_no_is_asked_again(run):
    run.say("ready")
    assert keys(run.say("yes no")) == ["control.unsure", "screening.fever"]


def test_a_ten_halts_from_the_final_transcript_not_a_partial(run):
    at_hold(run)
    assert not of(run.say("ten", final=False), Halt)  # may still become "ten minutes ago"
    assert of(run.say("ten"), Halt)[0].kind == "sharp_pain"


def test_a_partial_tingling_still_halts_at_once(run):
    at_hold(run)
    assert of(run.say("it's tingl", final=False) + run.say("it's tingling", final=False), Halt)
