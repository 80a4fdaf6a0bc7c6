"""Whole sessions from a script of utterances and waits: the list of actions is the contract."""

from voice_coach.events import Say
from tests.session_script import Runner

HAPPY = [
    "ready", "no", "no", "no", "no", "no", "ready", ("until_question",),
    "found it", "lower right back", "eight", "six", ("wait", 35), "softened", "yes", ("until_question",),
    "next knot", "found it", "skip", "four", "five", ("until_question",), "no", ("until_question",),
    "finish",
]


def compact(runner):
    """Action types, with say keys, ignoring repeated cue lines."""
    out = []
    for _, a in runner.log:
        item = a.key if isinstance(a, Say) else a.type
        if item.endswith(".cue") and out and out[-1] == item:
            continue
        out.append(item)
    return out


def test_happy_session(session, clock):
    r = Runner(session, clock)
    r.start()
    r.run(HAPPY)
    assert session.outcome == "completed"
    flow = compact(r)
    assert flow[:7] == ["welcome.lines[0]", "welcome.lines[1]", "preparation.lines[0]", "preparation.lines[1]", "preparation.lines[2]", "preparation.prompt", "intent"]
    expected_order = [
        "screening.intro", "screening.fever", "screening.skin", "screening.wounds", "screening.inflammation",
        "screening.all_clear", "screening.advisory.ask", "posture.prompt", "warmup.start", "warmup.cue", "warmup.end",
        "palpation.prompt", "palpation.where", "palpation.noted", "pressure.ask_rating",
        "guidance.too_high", "guidance.ask_again", "guidance.in_range", "hold_start", "hold.start", "hold.cue",
        "hold.release", "hold_end", "soften.ask", "soften.yes", "integrate.effleurage", "integrate.petrissage",
        "integrate.done", "next.prompt", "palpation.prompt", "palpation.where", "pressure.ask_rating",
        "guidance.too_low", "hold_start", "hold.warn", "hold_end", "soften.ask", "soften.no", "integrate.effleurage",
        "soften.another_round", "pressure.ask_rating",
        "summary.intro", "summary.knots", "summary.softened", "summary.goodbye", "end",
    ]
    cursor = 0
    for key in expected_order:  # each in order, each after the one before
        assert key in flow[cursor:], f"{key} missing after position {cursor}: {flow[cursor:cursor + 8]}"
        cursor = flow.index(key, cursor) + 1
    holds = [a for _, a in r.log if a.type == "hold_end"]
    assert [(h.held, h.reason, h.knot) for h in holds] == [(35.0, "softened", 1), (60.0, "max", 2)]
    records = [(a.what, a.data.get("location")) for _, a in r.log if a.type == "record" and a.what == "knot"]
    assert records == [("knot", "right lower back"), ("knot", None)]


def test_same_script_with_tingling_during_hold_halts(session, clock):
    r = Runner(session, clock)
    r.start()
    script = list(HAPPY)
    script.insert(script.index(("wait", 35)) + 1, "it's tingling")
    r.run(script)
    assert session.outcome == "halted"
    types = [a.type for _, a in r.log]
    assert types[-6:] == ["cancel_speech", "hold_end", "halt", "record", "say", "end"]


def test_fever_declines(session, clock):
    r = Runner(session, clock)
    r.start()
    r.run(["ready", "yes", "no", "no"])
    assert session.outcome == "declined"
    assert compact(r)[-3:] == ["halt", "screening.declined", "end"]


def test_daily_life_pain_is_advised_and_summarised(session, clock):
    r = Runner(session, clock)
    r.start()
    r.run(["ready", "no", "no", "no", "no", "yes", ("until_question",)])
    assert "screening.advisory.if_yes" in compact(r)
    r.run(["finish"])
    assert "summary.advice" in compact(r)


def test_skipping_palpation_goes_to_next_or_finish(session, clock):
    r = Runner(session, clock)
    r.start()
    r.run(["ready", "no", "no", "no", "no", "no", "ready", ("until_question",), "skip", "finish"])
    assert session.outcome == "completed"
    assert "summary.no_knots" in compact(r)


def test_the_event_log_marks_an_unsure_transcript(content):
    from voice_coach.clock import FakeClock
    from voice_coach.driver import SessionDriver
    from voice_coach.events import Heard, Start

    seen: list[dict] = []
    driver = SessionDriver(content, FakeClock(), [seen.append])
    driver.feed(Start())
    driver.feed(Heard("ready"))
    driver.feed(Heard("yes", sure=False))
    heard = [(e["text"], e.get("sure", True)) for e in seen if e["type"] == "heard"]
    assert heard == [("ready", True), ("yes", False)]
    assert driver.session.outcome is None  # the doubtful yes did not decline the massage
