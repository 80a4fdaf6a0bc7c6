"""The pure session engine with a fake clock: exact timing, pause, halt, re-prompts."""

import pytest

from voice_coach.events import (
    CancelSpeech, Failed, Fault, Restored, End, Halt, HoldEnd, HoldStart, InputEnded, Paused,
    Record, Resumed, Say, SpeechDone, Tick,
)
from tests.session_script import TO_FIRST_RATING, Runner


@pytest.fixture
def run(session, clock):
    r = Runner(session, clock, step=0.001)
    r.start()
    return r


def at_hold(run):
    run.step = 0.1
    run.run(TO_FIRST_RATING)
    run.step = 0.001
    acts = run.say("six")
    assert any(isinstance(a, HoldStart) for a in acts)
    return run


def of(actions, cls):
    return [a for a in actions if isinstance(a, cls)]


def test_hold_ends_at_exactly_60s(run):
    at_hold(run)
    t0 = run.s.run_time
    assert not of(run.wait(59.999), HoldEnd)
    end = of(run.wait(0.001), HoldEnd)
    assert end == [HoldEnd(60.0, "max", 1, 1)]
    assert round(run.s.run_time - t0, 6) == 60.0


def test_hold_cues_at_exact_times(run):
    at_hold(run)
    t0 = run.s.run_time
    run.wait(60.0)
    cues = [(round(t - t0, 3), a.key) for t, a in run.log if isinstance(a, Say) and a.key.startswith("hold.") and t > t0]
    assert cues == [(15.0, "hold.cue"), (30.0, "hold.cue"), (45.0, "hold.cue"), (50.0, "hold.warn"), (60.0, "hold.release")]


def test_pause_freezes_the_hold_and_resume_continues(run):
    # A pause ("wait") freezes the hold; a stop takes the pressure off (test_pressure.py).
    at_hold(run)
    run.wait(20.0)
    acts = run.say("wait")
    assert isinstance(acts[1], CancelSpeech) and of(acts, Paused) == [Paused("pause")]
    assert not of(run.wait(300.0), HoldEnd)  # paused time does not count
    acts = run.say("resume")
    assert of(acts, Resumed) and any(a.key == "control.time_left" for a in of(acts, Say))
    assert not of(run.wait(39.999), HoldEnd)
    assert of(run.wait(0.001), HoldEnd) == [HoldEnd(60.0, "max", 1, 1)]


@pytest.mark.parametrize("sure", [True, False])  # a stop the recognizer doubts still stops
@pytest.mark.parametrize("word", ["stop", "pause", "wait", "hold on", "hang on"])
def test_stop_words_cancel_speech_first(run, word, sure):
    acts = run.say(word, sure=sure)
    assert [a.type for a in acts][:3] == ["intent", "cancel_speech", "pause"]
    assert run.s.paused


def test_partial_transcript_stops_before_the_utterance_ends(run):
    acts = run.say("stop", final=False)
    assert of(acts, CancelSpeech) and run.s.paused
    assert run.say("stop please", final=True) == []  # the final of the same utterance changes nothing


def test_partial_non_urgent_words_are_ignored(run):
    assert run.say("ready", final=False) == []
    assert not run.s.paused


def test_softened_before_30s_keeps_holding_after_30s_releases(run):
    at_hold(run)
    run.wait(29.999)
    acts = run.say("softened")
    assert [a.key for a in of(acts, Say)] == ["hold.too_early"] and not of(acts, HoldEnd)
    run.wait(0.001)
    acts = run.say("it softened")
    assert of(acts, HoldEnd) == [HoldEnd(30.0, "softened", 1, 1)]
    assert [a.key for a in of(acts, Say)] == ["hold.release", "soften.ask"]


@pytest.mark.parametrize(
    "rating, key, ends",
    [("eight", "guidance.too_high", False), ("nine", "guidance.release_now", True),
     ("three", "guidance.too_low", False), ("six", "guidance.in_range", False)],
)
def test_rerating_during_the_hold(run, rating, key, ends):
    at_hold(run)
    run.wait(10)
    acts = run.say(rating)
    assert of(acts, Say)[0].key == key
    assert bool(of(acts, HoldEnd)) is ends
    if ends:
        assert of(acts, HoldEnd)[0].reason == "too_intense"


@pytest.mark.parametrize(
    "first, key",
    [("eight", "guidance.too_high"), ("four", "guidance.too_low")],
)
def test_guidance_before_the_hold_then_hold_when_in_range(run, first, key):
    run.step = 0.1
    run.run(TO_FIRST_RATING)
    acts = run.say(first)
    assert [a.key for a in of(acts, Say)] == [key, "guidance.ask_again"]
    assert not of(acts, HoldStart)
    assert of(run.say("seven"), HoldStart)


@pytest.mark.parametrize(
    "reply, keys",
    [("yes", ["guidance.too_low", "guidance.ask_again"]),
     ("one", ["guidance.too_low", "guidance.ask_again"]),  # the same number again is a yes
     ("no", ["guidance.ask_again"]),
     ("six", ["guidance.in_range", "hold.start"]),
     ("two", ["guidance.confirm"])],  # a different low number is read back in turn
)
def test_low_ratings_are_read_back_before_deeper(run, reply, keys):
    run.step = 0.1
    run.run(TO_FIRST_RATING)
    acts = run.say("one")
    assert [(a.key, a.text) for a in of(acts, Say)] == [("guidance.confirm", "Was that 1? Say yes, or the number again.")]
    assert not of(acts, Record)
    assert [a.key for a in of(run.say(reply), Say)] == keys


def test_three_is_not_read_back(run):
    run.step = 0.1
    run.run(TO_FIRST_RATING)
    assert [a.key for a in of(run.say("three"), Say)] == ["guidance.too_low", "guidance.ask_again"]


@pytest.mark.parametrize("reply, key", [("yes", "guidance.too_low"), ("two", "guidance.too_low"), ("no", "guidance.ask_again")])
def test_low_rating_during_the_hold_is_read_back_and_the_hold_goes_on(run, reply, key):
    at_hold(run)
    run.wait(10)
    acts = run.say("two")
    assert [a.key for a in of(acts, Say)] == ["guidance.confirm"] and not of(acts, HoldEnd)
    assert [a.key for a in of(run.say(reply), Say)] == [key]
    assert [a.key for a in of(run.say("yes"), Say)] != ["guidance.too_low"]  # asked once, answered once


def test_guidance_gives_up_after_max_adjustments(run):
    run.step = 0.1
    run.run(TO_FIRST_RATING)
    for _ in range(3):
        assert not of(run.say("eight"), HoldStart)
    acts = run.say("eight")
    assert of(acts, Say)[0].key == "guidance.give_up" and of(acts, HoldStart)


def test_unsoftened_knot_after_three_rounds_gets_professional_advice(run):
    run.step = 0.1
    run.run(TO_FIRST_RATING)
    for n in range(1, 4):
        acts = run.say("six")
        assert of(acts, HoldStart)[0].round == n
        run.wait(60)
        run.say("no")
        acts = run.until_question()
    keys = [a.key for a in of(acts, Say)]
    assert "soften.not_improving" in keys and keys[-1] == "next.prompt"
    assert "3 rounds" in next(a.text for a in of(acts, Say) if a.key == "soften.not_improving")


def test_unrecognized_input_reprompts_once_then_helps_then_waits(run):
    first = run.say("purple elephant")
    assert [a.key for a in of(first, Say)] == ["control.not_understood", "preparation.prompt"]
    second = run.say("banana")
    assert [a.key for a in of(second, Say)] == ["help.ready"]
    for _ in range(3):  # a third unusable reply, and every one after, still gets an answer
        assert [a.key for a in of(run.say("gibberish"), Say)] == ["control.not_understood", "help.ready", "preparation.prompt"]
    assert of(run.say("ready"), Say)  # still answers a real reply


def test_silence_reprompts_once_then_helps_then_waits(run):
    # Setting up the room: control.pace.ready (90 s) before the prompt comes again.
    assert not of(run.wait(89.999), Say)
    assert [a.key for a in of(run.wait(0.001), Say)] == ["preparation.prompt"]
    assert [a.key for a in of(run.wait(90.0), Say)] == ["help.ready"]
    assert not of(run.wait(600.0), Say)


def test_silence_at_a_yes_no_question_reprompts_sooner(run):
    run.say("ready")
    assert not of(run.wait(14.999), Say)
    assert [a.key for a in of(run.wait(0.001), Say)] == ["screening.fever"]
    assert [a.key for a in of(run.wait(15.0), Say)] == ["help.yes_no"]


def test_speech_done_restarts_the_silence_timer(run):
    run.wait(80)
    run.feed(SpeechDone())
    assert not of(run.wait(89.999), Say)
    assert of(run.wait(0.001), Say)


def test_an_unsure_answer_is_not_taken_and_the_question_is_asked_again(run):
    run.say("ready")
    acts = run.say("yes", sure=False)
    assert not of(acts, Halt)
    assert [a.key for a in of(acts, Say)] == ["control.not_understood", "screening.fever"]
    assert of(run.say("no"), Say)[0].key == "screening.skin"


def test_a_doubted_low_rating_is_read_back_before_deeper(run):
    run.step = 0.1
    run.run(TO_FIRST_RATING)
    acts = run.say("three", sure=False)
    assert not of(acts, Record)
    assert [a.key for a in of(acts, Say)] == ["guidance.confirm"] and "3" in of(acts, Say)[0].text
    acts = run.say("yes")
    assert [a.key for a in of(acts, Say)][0] == "guidance.too_low"
    assert of(acts, Record)[0].data["value"] == 3


def test_a_doubted_low_rating_denied_is_asked_again(run):
    run.step = 0.1
    run.run(TO_FIRST_RATING)
    run.say("three", sure=False)
    acts = run.say("no")
    assert not of(acts, Record)
    assert [a.key for a in of(acts, Say)] == ["guidance.ask_again"]


@pytest.mark.parametrize("word, key", [("nine", "guidance.release_now"), ("six", "guidance.in_range"), ("eight", "guidance.too_high")])
def test_a_doubted_rating_that_takes_no_pressure_deeper_is_acted_on(run, word, key):
    """Holding or easing off is safe whichever number was said: no read-back, no asking again."""
    run.step = 0.1
    run.run(TO_FIRST_RATING)
    acts = run.say(word, sure=False)
    assert key in [a.key for a in of(acts, Say)] and "guidance.confirm" not in [a.key for a in of(acts, Say)]


def test_yes_to_a_contraindication_declines(run):
    run.say("ready")
    acts = run.say("yes")
    assert of(acts, Halt) == [Halt("contraindication", "fever")]
    assert of(acts, End) == [End("declined")]
    assert run.s.outcome == "declined"


def test_screening_cannot_be_skipped(run):
    run.say("ready")
    acts = run.say("skip")
    assert [a.key for a in of(acts, Say)] == ["control.cannot_skip"]
    assert run.s.question.name == "screening.fever"


def test_resume_reasks_the_pending_question(run):
    run.say("ready")
    run.say("wait")
    acts = run.say("go on")
    assert [a.key for a in of(acts, Say)] == ["control.resumed", "screening.fever"]


def test_while_paused_other_words_get_one_reminder(run):
    run.say("pause")
    assert [a.key for a in of(run.say("six"), Say)] == ["control.paused"]
    assert run.say("seven") == []
    assert not of(run.say("ready"), Say)


def test_red_flag_while_paused_still_halts(run):
    run.say("pause")
    acts = run.say("pins and needles")
    assert of(acts, Halt) == [Halt("red_flag", "tingling")]


def test_red_flag_halts_with_cancel_first_and_the_guide_message(run):
    at_hold(run)
    acts = run.say("sharp pain", final=False)
    assert [a.type for a in acts] == ["intent", "cancel_speech", "hold_end", "halt", "record", "say", "end"]
    assert "seek professional medical care" in of(acts, Say)[0].text
    assert run.s.outcome == "halted"
    assert run.say("resume") == [] and run.wait(100) == []  # no way back from a halt


def test_audio_fault_pauses_and_says_why(run):
    at_hold(run)
    acts = run.feed(Fault("mic", "stalled", "OSError: [Errno -9981] Input overflowed"))
    assert [a.type for a in acts] == ["cancel_speech", "pause", "say", "say"]
    assert acts[-1].key == "faults.mic_stalled" and "no sound is coming from the microphone" in acts[-1].text
    assert not any("Errno" in a.text for a in of(acts, Say))  # the detail is for the log only
    assert not of(run.wait(120), HoldEnd)
    assert run.feed(Fault("mic", "error", "again")) == []  # announced once
    assert [a.key for a in of(run.feed(Restored("mic")), Say)] == ["control.hearing_again"]
    assert run.s.paused  # still needs a spoken resume


def test_a_voice_fault_pauses_says_so_and_the_session_waits_for_the_voice(run):
    """Before, a voice failure was posted as a microphone fault: the coach said "I can't hear you:
    the voice failed (<exception>). Please check the microphone", then ended as `quit`."""
    at_hold(run)
    acts = run.feed(Fault("voice", "failed", "RuntimeError: espeak died"))
    assert of(acts, Paused) == [Paused("voice_failed")]
    assert [a.key for a in of(acts, Say)] == ["control.paused", "faults.voice_failed"]
    assert "microphone" not in of(acts, Say)[-1].text and "espeak" not in of(acts, Say)[-1].text
    assert not of(run.wait(120), HoldEnd)
    assert [a.key for a in of(run.say("resume"), Say)] == ["faults.voice_failed"]  # not while it cannot be heard
    assert run.s.paused
    assert [a.key for a in of(run.feed(Restored("voice")), Say)] == ["faults.voice_back"]
    assert of(run.say("resume"), Resumed)


def test_failures_that_keep_coming_end_the_session_failed_not_quit(run):
    at_hold(run)
    run.feed(Fault("voice", "failed"))
    acts = run.feed(Failed("voice", "failed", "RuntimeError: espeak died"))
    assert of(acts, HoldEnd)[0].reason == "failed"
    assert of(acts, End) == [End("failed")] and run.s.outcome == "failed"


def test_input_ended_ends_plainly(run):
    acts = run.feed(InputEnded())
    assert [a.key for a in of(acts, Say)] == ["control.input_ended"] and of(acts, End) == [End("quit")]


def test_time_left_in_hold_and_warmup(run):
    at_hold(run)
    run.wait(12.4)
    assert "48 seconds" in of(run.say("how long"), Say)[0].text


def test_finish_during_hold_goes_to_summary(run):
    at_hold(run)
    run.wait(5)
    acts = run.say("finish")
    assert of(acts, HoldEnd)[0].reason == "finished"
    assert of(acts, End) == [End("completed")]
    assert [a.key for a in of(acts, Say)][0] == "control.ease_off"  # the thumb comes off before the goodbye


def test_finish_before_any_pressure_says_no_ease_off(run):
    run.step = 0.1
    acts = run.say("finish")
    assert "control.ease_off" not in [a.key for a in of(acts, Say)]


def test_repeat_says_the_last_prompt_again(run):
    assert [a.key for a in of(run.say("repeat"), Say)] == ["preparation.prompt"]


def test_tick_without_time_passing_does_nothing(run):
    assert run.feed(Tick()) == []


def test_a_doubted_ten_takes_the_pressure_off_but_does_not_end_the_session(run):
    """A sure "ten" at the rating is the guide's agonizing pain: a halt. A doubted one (Whisper
    writes "10" for a "seven" now and then) pauses with the pressure off, and the rating is asked
    again on resume: a halt would end the whole session on a misheard number."""
    run.step = 0.1
    run.run(TO_FIRST_RATING)
    acts = run.say("ten", sure=False)
    assert not of(acts, Halt) and run.s.paused
    assert "control.ease_off" in [a.key for a in of(acts, Say)]
    acts = run.say("continue")
    assert run.s.question is not None and run.s.question.name == "rating"


def test_a_sure_ten_halts(run):
    run.step = 0.1
    run.run(TO_FIRST_RATING)
    assert of(run.say("ten"), Halt)
