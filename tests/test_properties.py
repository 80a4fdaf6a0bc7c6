"""Property tests: whatever happens first, a red flag halts within that one event; nothing crashes
the engine; a pause always leaves the hold frozen."""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from voice_coach.clock import FakeClock
from voice_coach.events import Fault, Halt, Heard, Restored, SpeechDone, Start, Tick
from voice_coach.session import Session

UTTERANCES = [
    "ready", "yes", "no", "found it", "left shoulder blade", "six", "seven", "eight", "nine", "two",
    "softened", "stop", "pause", "wait", "resume", "repeat", "skip", "next knot", "help", "how long",
    "finish", "purple", "", "I'm not numb", "no tingling", "one moment",
]
RED_FLAGS = ["sharp pain", "it's tingling", "numbness", "it shoots down my leg", "pins and needles", "agonizing", "no, it's numb"]

step = st.one_of(
    st.tuples(st.just("say"), st.sampled_from(UTTERANCES), st.booleans()),
    st.tuples(st.just("wait"), st.floats(0.0, 90.0, allow_nan=False), st.just(True)),
    st.tuples(st.just("event"), st.sampled_from(["done", "fault", "restored"]), st.just(True)),
)
FEW = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def play(content, steps):
    clock = FakeClock()
    s = Session(content, clock)
    s.handle(Start())
    for kind, arg, final in steps:
        if s.ended:
            break
        if kind == "say":
            s.handle(Heard(arg, final))
        elif kind == "wait":
            clock.advance(round(arg, 3))
            s.handle(Tick())
        else:
            s.handle({"done": SpeechDone(), "fault": Fault("mic", "stalled"), "restored": Restored("mic")}[arg])
    return s, clock


@FEW
@given(steps=st.lists(step, max_size=40), flag=st.sampled_from(RED_FLAGS), partial=st.booleans(), sure=st.booleans())
def test_red_flag_halts_within_one_event_in_any_state(content, steps, flag, partial, sure):
    s, _ = play(content, steps)
    if s.ended:
        return
    actions = s.handle(Heard(flag, final=not partial, sure=sure))
    assert s.outcome == "halted"
    assert actions[1].type == "cancel_speech"
    assert any(isinstance(a, Halt) and a.reason == "red_flag" for a in actions)
    assert actions[-1].type == "end"


@FEW
@given(steps=st.lists(step, max_size=60))
def test_no_sequence_crashes_or_leaves_a_hold_running_after_pause(content, steps):
    s, clock = play(content, steps)
    if s.ended:
        return
    s.handle(Heard("stop", sure=False))  # a doubted stop still stops
    assert s.paused
    before = s.run_time
    clock.advance(500)
    s.handle(Tick())
    assert s.run_time == before  # nothing runs while paused
    assert not [a for a in s.handle(Tick()) if a.type in ("hold_end", "hold_start", "say")]


@FEW
@given(steps=st.lists(step, max_size=60))
def test_every_session_ends_or_waits_with_time_frozen_or_a_question(content, steps):
    s, clock = play(content, steps)
    if s.ended or s.paused:
        return
    # Left alone long enough, a running session always comes back to a question.
    for _ in range(2000):
        if s.question is not None or s.ended:
            break
        clock.advance(1.0)
        s.handle(Tick())
    assert s.question is not None or s.ended
