"""Advice across sessions: the rules, table-driven, and the lines the coach actually says."""

from __future__ import annotations

import pytest

from voice_coach import advice
from voice_coach.advice import DAILY_LIFE_LAST_TIME, DAILY_LIFE_TODAY, NOT_IMPROVING, RED_FLAG_LAST_TIME, Note
from voice_coach.events import Say
from voice_coach.journal import Journal, build_session
from voice_coach.routine import load_content
from tests.test_journal_support import CONTENT, _journal_in_tmp, drive, knot, screening  # noqa: F401

L = "left shoulder blade"
R = "right lower back"


def sess(i: int, work: dict | None = None, daily_life: str | None = None, halt: tuple[str, str] | None = None):
    """A session as the journal would build it. work: {location: (ratings, softened)}; ratings is a
    list of first-ratings per knot at that location (None = the rating was skipped)."""
    recs: list[dict] = []
    if daily_life is not None:
        recs.append({"type": "record", "what": "screening", "data": {"question": "daily_life", "answer": daily_life}})
    n = 0
    for loc, (ratings, softened) in (work or {}).items():
        for rating in ratings:
            n += 1
            recs.append({"type": "record", "what": "knot", "data": {"knot": n, "location": loc}})
            if rating is not None:
                recs.append({"type": "record", "what": "rating", "data": {"knot": n, "round": 1, "value": rating, "location": loc}})
            recs.append({"type": "record", "what": "softened", "data": {"knot": n, "round": 1, "softened": softened, "location": loc}})
    if halt:
        recs.append({"type": "halt", "reason": halt[0], "kind": halt[1]})
    return build_session(i, f"2026-01-{i:02d}T18:00:00+00:00", recs)


def w(*ratings, softened=False):
    return (list(ratings), softened)


def history(*works):
    return [sess(i, work) for i, work in enumerate(works, 1)]


NI = lambda loc, n=3: Note(NOT_IMPROVING, {"location": loc, "sessions": n})  # noqa: E731

NOT_IMPROVING_CASES = [
    ("fewer sessions than the window", history({L: w(6)}, {L: w(6)}), 3, []),
    ("same rating three times", history({L: w(6)}, {L: w(6)}, {L: w(6)}), 3, [NI(L)]),
    ("rising ratings", history({L: w(5)}, {L: w(6)}, {L: w(8)}), 3, [NI(L)]),
    ("went down at the end", history({L: w(7)}, {L: w(7)}, {L: w(6)}), 3, []),
    ("went down in the middle, back up", history({L: w(7)}, {L: w(5)}, {L: w(7)}), 3, []),
    ("softened once", history({L: w(6)}, {L: w(6, softened=True)}, {L: w(6)}), 3, []),
    ("only the last N count", history({L: w(6, softened=True)}, {L: w(8)}, {L: w(8)}, {L: w(8)}), 3, [NI(L)]),
    ("older improvement is outside the window", history({L: w(9)}, {L: w(6)}, {L: w(6)}, {L: w(6)}), 3, [NI(L)]),
    ("sessions elsewhere neither count nor break the run",
     history({L: w(6)}, {R: w(5)}, {L: w(6)}, {}, {L: w(6)}), 3, [NI(L)]),
    ("other location improves, this one does not",
     history({L: w(6), R: w(7)}, {L: w(6), R: w(6)}, {L: w(6), R: w(5)}), 3, [NI(L)]),
    ("no ratings at all: softening decides", history({L: w(None)}, {L: w(None)}, {L: w(None)}), 3, [NI(L)]),
    ("one rated session: softening decides", history({L: w(None)}, {L: w(6)}, {L: w(None)}), 3, [NI(L)]),
    ("first of two knots in a session is the session's rating", history({L: w(6, 3)}, {L: w(6, 3)}, {L: w(6, 3)}), 3, [NI(L)]),
    ("window 2", history({L: w(6)}, {L: w(6)}), 2, [NI(L, 2)]),
    ("window 4 needs four", history({L: w(6)}, {L: w(6)}, {L: w(6)}), 4, []),
]


@pytest.mark.parametrize("name,sessions,window,expected", NOT_IMPROVING_CASES, ids=[c[0] for c in NOT_IMPROVING_CASES])
def test_not_improving(name, sessions, window, expected):
    assert advice.not_improving(sessions, window) == expected


def test_locations_are_normalised():
    sessions = history({"Left  Shoulder Blade": w(6)}, {"left shoulder blade": w(6)}, {"LEFT shoulder blade ": w(7)})
    assert advice.not_improving(sessions) == [NI(L)]


START_CASES = [
    ("nothing before", [], []),
    ("red flag last time", [sess(1), sess(2, halt=("red_flag", "numbness"))], [Note(RED_FLAG_LAST_TIME, {"kind": "numbness"})]),
    ("red flag two sessions ago", [sess(1, halt=("red_flag", "numbness")), sess(2)], []),
    ("contraindication is not a red flag", [sess(1, halt=("contraindication", "fever"))], []),
    ("daily life yes last time", [sess(1, daily_life="yes")], [Note(DAILY_LIFE_LAST_TIME)]),
    ("daily life yes, then no", [sess(1, daily_life="yes"), sess(2, daily_life="no")], []),
    ("daily life yes, then a session that never got to the question",
     [sess(1, daily_life="yes"), sess(2)], [Note(DAILY_LIFE_LAST_TIME)]),
    ("all three, in order", [sess(1, {L: w(6)}, daily_life="yes"), sess(2, {L: w(6)}), sess(3, {L: w(6)}, halt=("red_flag", "sharp_pain"))],
     [Note(RED_FLAG_LAST_TIME, {"kind": "sharp_pain"}), Note(DAILY_LIFE_LAST_TIME), NI(L)]),
]


@pytest.mark.parametrize("name,past,expected", START_CASES, ids=[c[0] for c in START_CASES])
def test_start_notes(name, past, expected):
    assert advice.start_notes(past) == expected


SUMMARY_CASES = [
    ("nothing", [], sess(9), []),
    ("daily life today", [], sess(9, daily_life="yes"), [Note(DAILY_LIFE_TODAY)]),
    ("third session without improvement is today", [sess(1, {L: w(6)}), sess(2, {L: w(7)})], sess(9, {L: w(7)}), [NI(L)]),
    ("today improved", [sess(1, {L: w(6)}), sess(2, {L: w(7)})], sess(9, {L: w(5)}), []),
    ("a location not worked today is not repeated", [sess(1, {L: w(6)}), sess(2, {L: w(6)}), sess(3, {L: w(6)})], sess(9, {R: w(6)}), []),
]


@pytest.mark.parametrize("name,past,today,expected", SUMMARY_CASES, ids=[c[0] for c in SUMMARY_CASES])
def test_summary_notes(name, past, today, expected):
    assert advice.summary_notes(past, today) == expected


@pytest.mark.parametrize("raw,expected", [("", 3), ("4", 4), ("2", 2), ("1", 3), ("lots", 3)])
def test_window_from_env(monkeypatch, raw, expected):
    monkeypatch.setenv(advice.WINDOW_ENV, raw)
    assert advice.window_from_env() == expected


# -- what the coach says ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def content():
    return load_content(CONTENT)


def says(seen: list[dict]) -> list[tuple[str, str]]:
    return [(r["key"], r["text"]) for r in seen if r["type"] == "say"]


def test_start_and_summary_lines_are_spoken_in_place(content):
    stubborn = screening() + knot(L, 6, softened=False) + ["finish"]
    for n in range(3):
        j = Journal()
        _, seen = drive(j, stubborn, content)
        j.close()
        keys = [k for k, _ in says(seen)]
        if n < 2:
            assert not any(k.startswith("journal.") for k in keys)
    # The third session's summary says it, before the goodbye.
    assert keys[-2:] == ["journal.not_improving", "summary.goodbye"]
    line = dict(says(seen))["journal.not_improving"]
    assert line == "The knot at the left shoulder blade hasn't improved over the last 3 sessions. A doctor or licensed therapist should look at it."

    # The fourth starts with it, right after the welcome.
    j = Journal()
    _, seen = drive(j, screening("yes") + ["finish"], content)
    j.close()
    keys = [k for k, _ in says(seen)]
    assert keys[:4] == ["welcome.lines[0]", "welcome.lines[1]", "journal.not_improving", "preparation.lines[0]"]
    assert keys[-2:] == ["journal.daily_life_today", "summary.goodbye"]

    # A red flag, then the next start mentions it first, and yesterday's daily-life answer.
    j = Journal()
    drive(j, screening("yes") + ["found it", R, "six", "I feel numbness"], content)
    j.close()
    j = Journal()
    _, seen = drive(j, ["finish"], content)
    j.close()
    spoken = says(seen)
    assert [k for k, _ in spoken[2:5]] == ["journal.red_flag_last_time", "journal.daily_life_last_time", "journal.not_improving"]
    assert "warning sign: new numbness." in spoken[2][1]


def test_window_parameter_reaches_the_session(content):
    for _ in range(2):
        j = Journal()
        drive(j, screening() + knot(L, 6, softened=False) + ["finish"], content)
        j.close()
    j = Journal()
    _, seen = drive(j, ["finish"], content, window=2)
    j.close()
    assert ("journal.not_improving", "The knot at the left shoulder blade hasn't improved over the last 2 sessions. A doctor or licensed therapist should look at it.") in says(seen)


def test_advice_failure_never_breaks_the_session(content, monkeypatch):
    def boom(*a, **kw):
        raise RuntimeError("bug")

    monkeypatch.setattr(advice, "start_notes", boom)
    monkeypatch.setattr(advice, "summary_notes", boom)
    j = Journal()
    driver, seen = drive(j, screening() + ["finish"], content)
    j.close()
    assert driver.session.outcome == "completed"
    assert not any(k.startswith("journal.") for k, _ in says(seen))


def test_render_all_kinds(content):
    from voice_coach.journal_hook import render

    out = render([Note(RED_FLAG_LAST_TIME, {"kind": "tingling"}), Note(DAILY_LIFE_LAST_TIME), Note(DAILY_LIFE_TODAY), NI(R, 3)], content.routine)
    assert all(isinstance(s, Say) and s.key.startswith("journal.") and "{" not in s.text for s in out)
    assert "new tingling" in out[0].text and R in out[3].text
