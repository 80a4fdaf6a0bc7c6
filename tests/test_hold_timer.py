import pytest

from voice_coach.hold_timer import Countdown, HoldTimer


def hold(start=0.0, **kw):
    args = dict(min_seconds=30, max_seconds=60, cue_every=15, warn_left=10, started=start)
    args.update(kw)
    return HoldTimer(**args)


def test_cues_every_15s_then_warning_then_expiry_exactly():
    h = hold(start=100.0)
    assert h.due(114.999) == []
    assert h.due(115.0) == [("cue", 15.0)]
    assert h.due(130.0) == [("cue", 30.0)]
    assert h.due(145.0) == [("cue", 45.0)]
    assert h.due(149.999) == []
    assert h.due(150.0) == [("warn", 10)]
    assert not h.expired(159.999)
    assert h.expired(160.0)
    assert h.due(160.0) == []


@pytest.mark.parametrize("t, allowed", [(29.999, False), (30.0, True), (45.5, True)])
def test_early_end_only_after_minimum(t, allowed):
    assert hold().may_end_early(t) is allowed


def test_cue_that_would_overlap_the_warning_is_dropped():
    h = hold(cue_every=10)
    assert [what for what, _ in h.due(60.0)] == ["cue", "cue", "cue", "cue"]  # 10..40, none at 50
    h = hold(cue_every=10)
    assert h.due(50.0)[-1] == ("warn", 10)


def test_late_tick_catches_up_in_order():
    h = hold()
    assert h.due(52.0) == [("cue", 15.0), ("cue", 30.0), ("cue", 45.0), ("warn", 10)]


def test_remaining_and_elapsed():
    h = hold(start=10.0)
    assert h.elapsed(25.5) == 15.5 and h.remaining(25.5) == 44.5
    assert h.remaining(99.0) == 0.0


def test_countdown_cues_but_not_at_the_end():
    c = Countdown(seconds=60, cue_every=20, started=0.0)
    assert c.due_cues(60.0) == [20.0, 40.0]
    assert c.done(60.0) and not c.done(59.999)
