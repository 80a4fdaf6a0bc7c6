"""The benchmark's machinery: exact SNR mixing, the echo path model, scoring, and the report.

Small and fast; no recognizer runs here (voice-coach bench is the measurement itself).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks import audio as A  # noqa: E402 - after the sys.path line above
from benchmarks import scoring as S  # noqa: E402 - after the sys.path line above
from voice_coach.routine import load_content  # noqa: E402 - after the sys.path line above


@pytest.fixture(scope="module")
def pb():
    return load_content(ROOT / "content").phrases


def _word(seconds=0.5, lead=0.3, tail=0.4, seed=0):
    rng = np.random.default_rng(seed)
    n = int(seconds * A.SR)
    t = np.arange(n) / A.SR
    w = (8000 * np.sin(2 * np.pi * 220 * t) * np.hanning(n) + rng.standard_normal(n) * 300).astype(np.int16)
    return A.pad(w, lead, tail)


@pytest.mark.parametrize("snr", [24, 18, 12, 6, 0, -3])
def test_noise_is_scaled_to_the_exact_snr_of_the_active_speech(snr):
    speech = _word()
    noise = np.random.default_rng(1).standard_normal(len(speech)) * 5000
    scaled = A.scale_noise(speech, noise, snr)
    measured = 10 * np.log10(A.active_power(speech) / np.mean(scaled**2))
    assert measured == pytest.approx(snr, abs=1e-9)


def test_active_power_ignores_the_silence_around_a_word():
    word = _word(lead=0.0, tail=0.0)
    assert A.active_power(A.pad(word, 2.0, 2.0)) == pytest.approx(A.active_power(word), rel=1e-9)


def test_mix_adds_speech_and_scaled_noise_and_clean_is_untouched():
    speech = _word()
    noise = np.random.default_rng(2).standard_normal(len(speech)) * 3000
    assert np.array_equal(A.mix_at_snr(speech, noise, None), speech)
    mixed = A.mix_at_snr(speech, noise, 6).astype(np.float64)
    expected = np.clip(speech + A.scale_noise(speech, noise, 6), -32768, 32767).astype(np.int16)
    assert np.array_equal(mixed, expected)


def test_noise_segments_are_reproducible_and_loop_short_noise():
    noise = np.arange(1000, dtype=np.float64)
    a = A.noise_segment(noise, 300, np.random.default_rng(5))
    b = A.noise_segment(noise, 300, np.random.default_rng(5))
    assert np.array_equal(a, b) and len(a) == 300
    assert len(A.noise_segment(noise, 2500, np.random.default_rng(5))) == 2500


def test_echo_path_equals_the_sample_loop_model():
    """Vectorised copy of tests/audio_helpers.echo_path: same output on a short signal."""
    x = (np.random.default_rng(3).standard_normal(3000) * 4000).astype(np.int16)
    got = A.echo_path(x, delay_ms=10, gain_db=-6, seed=4)
    # the reference model, written out sample by sample
    rng = np.random.default_rng(4)
    a = np.exp(-2 * np.pi * 3500 / A.SR)
    y = np.empty(len(x))
    acc = 0.0
    for i, v in enumerate(x.astype(np.float64)):
        acc = (1 - a) * v + a * acc
        y[i] = acc
    n = int(0.25 * A.SR)
    t = np.arange(n) / A.SR
    tail = rng.standard_normal(n) * np.exp(-6.9 * t / 0.2) * 0.25
    tail[0] = 1.0
    y = np.convolve(y, tail)[: len(x)]
    d = int(10 * A.SR / 1000)
    want = np.concatenate([np.zeros(d), y])[: len(x)] * 10 ** (-6 / 20)
    assert np.max(np.abs(got - want)) < 1e-6 * np.max(np.abs(want))


def test_word_end_finds_the_end_of_the_loud_part():
    w = _word(seconds=0.5, lead=0.3, tail=0.4)
    end = A.word_end(w) / A.SR
    assert 0.6 < end <= 0.81


def test_outcome_follows_the_session_rules(pb):
    # a partial "shh" pauses at once; a rating is only read from the final transcript
    o = S.outcome(pb, [["shh", False, 1.0, 0.4], ["six", True, 0.8, 0.9]])
    assert o.urgent == "pause" and o.urgent_partial and o.urgent_at == 0.4 and o.rating == 6
    o = S.outcome(pb, [["six", False, 1.0, 0.4], ["about a seven", True, 0.5, 0.9]])
    assert o.urgent is None and o.rating == 7 and o.confidence == 0.5
    assert S.outcome(pb, [["its tingling", False, 1.0, 0.3]]).urgent == "red_flag"
    assert S.outcome(pb, [["no tingling", True, 1.0, 0.3]]).urgent is None
    # an unsure final carries no yes/no; its rating is kept, marked doubted; its stop still counts
    o = S.outcome(pb, [["One.", True, 0.6, 0.9, False]])
    assert o.rating == 1 and not o.rating_sure and o.urgent is None
    assert S.outcome(pb, [["One.", True, 0.6, 0.9, True]]).rating_sure
    assert S.outcome(pb, [["yes", True, 0.6, 0.9, False]]).yes is False
    assert S.outcome(pb, [["Stop.", True, 0.6, 0.9, False]]).urgent == "stop"


def test_policies_delay_or_drop_a_lone_urgent_partial(pb):
    trs = [["ow", False, 1.0, 0.3], ["yes", True, 1.0, 0.9]]
    assert S.outcome(pb, trs, "any").urgent == "stop"
    assert S.outcome(pb, trs, "stable2").urgent is None
    assert S.outcome(pb, trs, "final").urgent is None
    trs = [["stop", False, 1.0, 0.3], ["stop", True, 1.0, 0.7]]
    assert S.outcome(pb, trs, "stable2").urgent_at == 0.7
    assert S.outcome(pb, trs, "final").urgent_at == 0.7


def test_clip_flags(pb):
    tv = {"six": 6}
    ok = S.score_clip(S.outcome(pb, [["six", True, 1.0, 1.0]]), "fsdd_digit", "six", tv)
    assert ok["rating_ok"] and not ok["rating_wrong"]
    lost = S.score_clip(S.outcome(pb, [["wait", False, 1.0, 0.5], ["six", True, 1.0, 1.0]]), "fsdd_digit", "six", tv)
    assert not lost["rating_ok"] and lost["silenced"]
    neg = S.score_clip(S.outcome(pb, [["three", True, 1.0, 1.0]]), "negative", "tree", tv)
    assert neg["fa_rating"] and neg["fa_any"] and not neg["fa_urgent"]
    # a doubted rating below 5 is read back: right after its yes; a wrong one is caught by the no
    tv = {"three": 3, "eight": 8}
    back = S.score_clip(S.outcome(pb, [["three", True, 1.0, 1.0, False]]), "fsdd_digit", "three", tv)
    assert back["rating_ok"] and back["rating_read_back"]
    caught = S.score_clip(S.outcome(pb, [["three", True, 1.0, 1.0, False]]), "fsdd_digit", "eight", tv)
    assert caught["rating_read_back"] and not caught["rating_wrong"] and not caught["rating_ok"]
    acted = S.score_clip(S.outcome(pb, [["eight", True, 1.0, 1.0, False]]), "fsdd_digit", "three", tv)
    assert acted["rating_wrong"] and not acted["rating_read_back"]  # a doubted 8 eases off: acted on
    # at the rating a sure "10" halts the session; a doubted one pauses with the pressure off
    tv = {"seven": 7}
    asked = lambda sure: [["10", True, 1.0, 1.0, sure, {"rating": ["10", sure], "yes_no": ["10", sure]}]]  # noqa: E731
    sure10 = S.score_asked(pb, asked(True), "fsdd_digit", "seven", tv)
    assert sure10["halt"] and not sure10["rating_ok"] and not sure10["rating_wrong"]
    doubted10 = S.score_asked(pb, asked(False), "fsdd_digit", "seven", tv)
    assert doubted10["stop"] and not doubted10["halt"]
    # another word heard as a doubted "3" at the rating is read back, not taken
    three = [["3", True, 1.0, 1.0, False, {"rating": ["3", False], "yes_no": ["3", False]}]]
    neg = S.score_asked(pb, three, "negative", "tree", tv)
    assert not neg["fa"] and neg["fa_read_back"]
    three = [["3", True, 1.0, 1.0, True, {"rating": ["3", True], "yes_no": ["3", True]}]]
    assert S.score_asked(pb, three, "negative", "tree", tv)["fa"]  # a sure 3 is taken


def test_stream_events_count_once_per_utterance(pb):
    trs = [["ow", False, 1, 0.1], ["ow stop", False, 1, 0.2], ["stop", True, 1, 0.5],
           ["five", True, 1, 2.0], ["numb", False, 1, 3.0], ["numb", True, 1, 3.2]]
    ev = S.stream_events(pb, trs)
    assert (ev["stops"], ev["ratings"], ev["halts"]) == (1, 1, 1)


def test_rates_and_confirmation_model():
    r = S.rate(95, 100)
    assert r["p"] == 0.95 and r["lo"] < 0.95 < r["hi"]
    assert S.rate(0, 0)["p"] is None
    rows = [(True, False, 0.9), (True, False, 0.2), (False, True, 0.2), (False, False, None)]
    x = S.confirmed_accuracy(rows, p_yes=0.5, p_no=0.9, p_no_as_yes=0.1, threshold=0.5)
    assert x["p"] == pytest.approx((1 + 0.5) / 4)
    assert x["wrong"] == pytest.approx(0.1 / 4)
    assert x["readbacks"] == pytest.approx(2 / 4)


def test_report_is_written(tmp_path, pb):
    from benchmarks.report import summarize, write_report

    recs = []
    for snr in (None, 6):
        recs += [
            {"variant": "default", "set": "stop", "truth": "stop", "snr": snr, "transcripts": [["stop", False, 1, 0.5]], "cpu": 0.01, "audio_s": 1.8},
            {"variant": "default", "set": "fsdd_digit", "truth": "six", "snr": snr, "transcripts": [["six", True, 0.9, 1.2]], "cpu": 0.01, "audio_s": 1.8},
            # Heard as "Sex." freely; as "6" with the rating question as context (recog.stream(asked=True)).
            {"variant": "default", "set": "cmd_digit", "truth": "six", "snr": snr, "cpu": 0.01, "audio_s": 1.8,
             "transcripts": [["Sex.", True, 0.5, 1.2, True, {"rating": ["6", True], "yes_no": ["Sex.", True]}]]},
            {"variant": "default", "set": "negative", "truth": "tree", "snr": snr, "transcripts": [["three", True, 0.4, 1.2]], "cpu": 0.01, "audio_s": 1.8},
            {"variant": "default", "set": "yes", "truth": "yes", "snr": snr, "transcripts": [["yes", True, 0.9, 1.2]], "cpu": 0.01, "audio_s": 1.8},
            {"variant": "default", "set": "no", "truth": "no", "snr": snr, "transcripts": [["no", True, 0.9, 1.2]], "cpu": 0.01, "audio_s": 1.8},
            {"variant": "default", "set": "red_flag", "truth": "numb", "text": "I feel numb", "voice": "en-us", "wpm": 170, "snr": snr,
             "transcripts": [["numb", False, 1, 0.6]], "cpu": 0.01, "audio_s": 1.8},
        ]
    recs.append({"variant": "default", "set": "coach_aec", "source": "coach", "lines": ["x"], "aec": True, "audio_s": 600.0, "cpu": 6.0,
                 "transcripts": [["shh", False, 1, 3.0], ["", True, 0.1, 3.5]]})
    summary = summarize(recs, pb, [])
    acc = summary["accuracy"]["default"]
    assert acc["clean"]["stop_silenced"]["p"] == 1.0 and acc["6 dB"]["rating"]["p"] == 0.5
    assert acc["6 dB"]["rating_asked"]["p"] == 1.0 and acc["clean"]["rating_wrong_asked"]["k"] == 0
    assert acc["clean"]["yesno_asked"]["p"] == 1.0 and acc["clean"]["neg_fa_asked"]["p"] == 1.0  # "three" when a rating is asked
    assert acc["clean"]["neg_fa_any"]["p"] == 1.0
    assert summary["streams"]["coach_aec"]["stops"] == 1
    assert summary["streams"]["coach_aec"]["per_hour"]["stops"] == pytest.approx(6.0)
    meta = {"quick": True, "date": "today", "machine": "test", "engines": {"pocketsphinx": "available"}, "wall_s": 1.0,
            "recognition_wall_s": 1.0, "shared": "x", "sizes": {"stop": 1}, "coach_lines": 1}
    latency = {"trials": 2, "detected": 2, "rows": [{"latency": 0.2}, {"latency": 0.25}], "latency": {"median": 0.22, "p95": 0.25, "min": 0.2, "max": 0.25},
               "session": {"maxrss_mb": 100.0, "cpu": 1.0, "mic_dropped": 0, "overflows": 0, "underflows": 0}}
    write_report(tmp_path, meta, summary, latency, {"runs": [1.0], "median": 1.0})
    md = (tmp_path / "results.md").read_text()
    assert "| stop recall, clean | >= 99% | 100.0% (1/1) | **met** |" in md
    assert "SYNTHETIC" in md and "**NOT met**" in md  # the coach's "shh" is 6 false stops an hour
    assert "| clean | 100.0% (2/2) | 0.0% (0/2) | 0.0% (0/2) | 0.0% (0/2) | 100.0% (2/2) | 100.0% (1/1) |" in md  # when asked
    doc = json.loads((tmp_path / "results.json").read_text())
    assert {t["what"] for t in doc["targets"]} >= {"stop recall, clean", "peak RSS of a listening session"}
    assert (tmp_path / "accuracy_vs_snr.png").stat().st_size < 200_000


def test_shared_dir_can_be_overridden(monkeypatch, tmp_path):
    monkeypatch.setenv("VOICE_COACH_SHARED", str(tmp_path))
    assert A.shared_dir() == tmp_path
    monkeypatch.delenv("VOICE_COACH_SHARED")
    assert A.shared_dir().name == "shared"


def _recs(text_stop, text_digit):
    recs = []
    for snr in (None, 6):
        recs += [
            {"variant": "default", "set": "stop", "truth": "stop", "snr": snr, "transcripts": [[text_stop, True, None, 1.5]], "cpu": 0.5, "audio_s": 1.8},
            {"variant": "default", "set": "fsdd_digit", "truth": "six", "snr": snr, "transcripts": [[text_digit, True, None, 1.2]], "cpu": 0.5, "audio_s": 1.8},
        ]
    recs.append({"variant": "default", "set": "silence", "source": "silence", "aec": True, "audio_s": 120.0, "cpu": 0.6, "transcripts": []})
    return recs


def test_report_judges_the_default_engine_and_shows_the_fallback_beside_it(tmp_path, pb):
    from benchmarks.report import rerender, summarize, write_report
    from benchmarks.run import _sizes

    whisper = summarize(_recs("Stop.", "6"), pb, [])
    ps = summarize(_recs("", "shh"), pb, [])
    assert whisper["rtf"]["listening loop on silence (quiet room)"]["median"] == pytest.approx(0.005)
    assert _sizes(_recs("x", "y")) == {"clean": {"stop": 1, "fsdd_digit": 1}, "6 dB": {"stop": 1, "fsdd_digit": 1}}
    meta = {"quick": False, "date": "today", "machine": "test", "engines": {"whisper": "available", "pocketsphinx": "available"},
            "default_engine": "whisper", "reused": {"pocketsphinx": "earlier"}, "wall_s": 1.0, "shared": "x", "sizes": {"stop": 1},
            "coach_lines": 1, "engine_sizes": _sizes(_recs("x", "y"))}
    lat = {"trials": 1, "detected": 1, "rows": [{"latency": 0.6, "text": "Stop.", "final": True}], "latency": {"median": 0.6, "p95": 0.6, "min": 0.6, "max": 0.6}}
    write_report(tmp_path, meta, whisper, lat, {"runs": [2.0], "median": 2.0},
                 others={"pocketsphinx": {"summary": ps, "stop_latency": {"error": "x"}, "startup": {}, "measured": "earlier"}})
    md = (tmp_path / "results.md").read_text()
    assert "| what | target | Whisper tiny.en (default) | | PocketSphinx (fallback) | |" in md
    assert "| stop recall, clean | >= 99% | 100.0% (1/1) | **met** | 0.0% (0/1) | **NOT met** |" in md
    assert "comparison only" not in md and "reused from the full run of earlier" in md
    rerender(tmp_path)  # from results.json alone
    assert (tmp_path / "results.md").read_text() == md


def _fake_clip(i):
    return {"variant": "default", "set": "stop", "truth": "stop", "snr": None, "transcripts": [["stop", False, 1, 0.5]], "cpu": 0.01, "audio_s": 1.8, "i": i}


def test_bench_writes_results_as_it_goes_and_shows_progress_on_stderr(tmp_path, monkeypatch, capsys):
    """A tiny fake run (no recognizer, no audio): results.json/results.md exist, marked in progress,
    after the latency phase and while recognition batches are still coming in; the end replaces them."""
    import benchmarks.latency
    import benchmarks.recog
    import benchmarks.run as R

    shared = tmp_path / "shared"
    (shared / "speech" / "commands").mkdir(parents=True)
    out = tmp_path / "out"
    monkeypatch.setattr(A, "shared_dir", lambda: shared)
    monkeypatch.setattr(R, "plan", lambda shared, quick: {"stop": [1, 2, 3]})
    monkeypatch.setattr(R, "engine_availability", lambda pb: {"pocketsphinx": "available"})
    monkeypatch.setattr(R, "PROGRESS_SECONDS", 0.0, raising=False)
    monkeypatch.setattr(R, "WORKERS", 1)
    lat = {"trials": 1, "detected": 1, "rows": [{"latency": 0.2}], "latency": {"median": 0.2, "p95": 0.2, "min": 0.2, "max": 0.2}}
    monkeypatch.setattr(benchmarks.latency, "measure_stop_latency", lambda *a, **kw: lat)
    monkeypatch.setattr(benchmarks.latency, "measure_startup", lambda *a, **kw: {"runs": [1.0], "median": 1.0})
    tasks = [{"kind": "clip", "items": [k]} for k in range(4)]
    monkeypatch.setattr(R, "recognition_tasks", lambda *a, **kw: (tasks, [], {}))
    monkeypatch.setattr(benchmarks.recog, "run_task", lambda task: [_fake_clip(task["items"][0])])  # forked workers see it

    seen = []
    real = getattr(R, "write_results", None)

    def spy(out_dir, meta, results, engines, in_progress=None):
        real(out_dir, meta, results, engines, in_progress)
        doc = json.loads((Path(out_dir) / "results.json").read_text())
        seen.append((in_progress, doc["meta"].get("in_progress"), "IN PROGRESS" in (Path(out_dir) / "results.md").read_text()))

    monkeypatch.setattr(R, "write_results", spy, raising=False)
    assert R.main(ROOT / "content", out, quick=True, engines=["pocketsphinx"], reuse=[]) == 0

    assert seen[0] == ("pocketsphinx: stop latency measured", "pocketsphinx: stop latency measured", True)
    assert any(p and "recognition batches" in p for p, _, _ in seen), seen  # during recognition, not only after it
    assert seen[-1] == (None, None, False)
    doc = json.loads((out / "results.json").read_text())
    assert doc["summary"]["accuracy"]["default"]["clean"]["stop_silenced"]["n"] == 4
    err = capsys.readouterr()
    assert "bench: results so far in" in err.err and "batches" in err.err
    assert "bench:" not in err.out  # progress is on stderr


def test_the_lanes_benchmark_runs_and_reports(tmp_path, content):
    """A few stops through the runtime with a slow journal; the report has both paths (figures are
    not asserted: the benchmark measures, a test only checks it works)."""
    from benchmarks.lanes import run_lanes
    from tests.conftest import CONTENT

    r = run_lanes(CONTENT, tmp_path, trials=5, fsync_ms=5, log=lambda line: None)
    assert r["runtime"]["trials"] == 5 and r["inline_journal"]["trials"] == 10
    assert "p99" in (tmp_path / "lanes.md").read_text()


def test_bench_all_runs_every_mode_then_the_targets(monkeypatch, tmp_path):
    """`voice-coach bench --all`: recognition and latency, then engines, barge-in and false
    triggers, then the lanes, and targets.md assembled once at the end."""
    from benchmarks import targets
    from voice_coach import bench
    from voice_coach.cli import build_parser

    args = build_parser().parse_args(["bench", "--all", "--out", str(tmp_path)])
    assert args.every and not (args.engines or args.barge_in or args.false_triggers or args.lanes)
    calls = []
    monkeypatch.setattr(bench, "_measure", lambda content, out, quick, *modes: calls.append(modes) or 0)
    monkeypatch.setattr(targets, "write_targets", lambda out: calls.append("targets"))
    assert bench.run_bench(Path("content"), tmp_path, quick=False, every=True) == 0
    assert calls == [(False, False, False, False), (False, True, True, True), (True, False, False, False), "targets"]


def _fake_batch(kt):
    import os

    return kt[0], [{"x": kt[1]["x"], "pid": os.getpid()}]


def test_a_journal_resumes_an_unfinished_run_and_a_finished_one_is_measured_again(tmp_path, monkeypatch):
    import json

    from benchmarks import run

    monkeypatch.setattr(run, "_indexed", _fake_batch)
    monkeypatch.delenv("VOICE_COACH_BENCH_ONLY_DONE", raising=False)
    journal = tmp_path / "j.jsonl"
    journal.write_text(json.dumps([0, [{"x": "old"}]]) + "\n")  # batch 0 of 2 done earlier
    tasks = [{"x": 0}, {"x": 1}]
    out = run.run_pool(tasks, lambda s: None, journal=journal)
    assert sorted(str(r["x"]) for r in out) == ["1", "old"]  # resumed: only batch 1 ran
    out = run.run_pool(tasks, lambda s: None, journal=journal)  # now finished: measured again
    assert sorted(str(r["x"]) for r in out) == ["0", "1"]
    assert len(journal.read_text().splitlines()) == 2


def test_stream_tells_the_recognizer_when_the_coach_speaks():
    """benchmarks/recog.stream: the coach-echo streams run with the recognizer told, chunk by
    chunk, whether a line is playing (as the Listener tells it live), and told 'not' at the end."""
    import numpy as np

    from benchmarks.recog import FRAME, stream

    class Rec:
        def __init__(self):
            self.told = []

        def coach_speaking(self, playing):
            self.told.append(playing)

        def accept(self, chunk):
            return []

        def flush(self):
            return []

        def reset(self):
            pass

    speaking = np.zeros(5 * FRAME, bool)
    speaking[FRAME : 3 * FRAME] = True
    rec = Rec()
    stream(rec, np.zeros(5 * FRAME, np.int16), speaking=speaking)
    assert rec.told == [False, True, True, False, False, False]
    rec = Rec()
    stream(rec, np.zeros(5 * FRAME, np.int16))
    assert rec.told == []  # clips: nothing is playing, the recognizer's own default stands
