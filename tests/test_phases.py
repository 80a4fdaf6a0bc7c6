"""The session as named phases: each phase is in the event log and the journal, the happy path
goes through every one, and the numbers that steer pressure come from content."""

import copy
import json
import sqlite3

from tests.session_script import TO_FIRST_RATING, Runner
from tests.test_scenarios import HAPPY
from voice_coach.clock import FakeClock
from voice_coach.driver import SessionDriver
from voice_coach.events import Heard, HoldEnd, HoldStart, Say, Start, Tick
from voice_coach.phases import ORDER, PHASES
from voice_coach.session import Session


def drive_happy(driver, clock):
    class Adapter:  # Runner drives a session; this one drives the driver, so observers see it all
        def __init__(self, d):
            self.d = d

        def handle(self, e):
            return self.d.feed(e)

        def __getattr__(self, name):
            return getattr(self.d.session, name)

    r = Runner(Adapter(driver), clock)
    r.start()
    r.run(HAPPY)
    return r


def test_every_phase_has_its_own_name_and_module():
    assert len(PHASES) == len(ORDER)
    for p in ORDER:
        assert p.__module__ == f"voice_coach.phases.{p.name}", p


def test_the_event_log_names_the_phase_of_every_event_and_action(content):
    seen: list[dict] = []
    clock = FakeClock()
    driver = SessionDriver(content, clock, [seen.append])
    drive_happy(driver, clock)
    assert driver.session.outcome == "completed"
    phases = [e.get("phase") for e in seen]
    assert None not in phases
    in_order = list(dict.fromkeys(phases))
    assert in_order == ["preparation", "screening", "posture", "warmup", "palpation", "rating", "hold", "soften", "integrate", "next_knot", "summary"]
    says = {e["key"]: e["phase"] for e in seen if e["type"] == "say"}
    assert says["hold.start"] == "hold" and says["screening.fever"] == "screening" and says["summary.goodbye"] == "summary"
    heard = [e for e in seen if e["type"] == "heard" and e["text"] == "softened"]
    assert heard[0]["phase"] == "hold"


def test_the_journal_keeps_the_phase(content, tmp_path):
    from voice_coach.journal import Journal
    from voice_coach.journal_hook import journaled_driver

    path = tmp_path / "j.sqlite3"
    clock = FakeClock()
    driver = journaled_driver(content, clock, journal=Journal(path))
    driver.feed(Start())
    driver.feed(Heard("ready"))
    c = sqlite3.connect(path)
    rows = [json.loads(j) for (j,) in c.execute("SELECT json FROM events ORDER BY seq")]
    c.close()
    assert {r.get("phase") for r in rows if r["type"] == "say"} == {"preparation", "screening"}


def test_advice_is_given_at_construction_and_the_session_is_not_changed_after(content):
    note = Say("Last time we stopped for a warning sign.", "journal.red_flag_last_time")
    s = Session(content, FakeClock(), start_notes=[note], summary_notes=lambda: [])
    assert isinstance(s.start_notes, tuple)
    keys = [a.key for a in s.handle(Start()) if isinstance(a, Say)]
    assert keys.index("journal.red_flag_last_time") == keys.index("welcome.lines[1]") + 1


def test_the_release_threshold_comes_from_content(content):
    changed = copy.deepcopy(content)
    changed.routine.guidance.release_at = 8
    clock = FakeClock()
    r = Runner(Session(changed, clock), clock)
    r.start()
    r.run(TO_FIRST_RATING)
    assert [a.key for a in r.say("eight") if isinstance(a, Say)][0] == "guidance.release_now"
    acts = r.say("six")
    assert any(isinstance(a, HoldStart) for a in acts)
    r.wait(10)
    acts = r.say("eight")
    assert [a.reason for a in acts if isinstance(a, HoldEnd)] == ["too_intense"]
    assert not [a for a in r.feed(Tick()) if isinstance(a, HoldEnd)]
