"""Closed-set answer scoring (voice_coach/recognizers/closed_set.py) on hand-made distributions,
and on real recordings through Whisper tiny.en."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from voice_coach.recognizers.closed_set import AnswerScores, ClosedSetScorer, answer_sets, decide, spellings
from voice_coach.routine import load_content

ROOT = Path(__file__).resolve().parent.parent
VOCAB = [" six", " Six", " 6", "6", "six", "Six", " seven", " Seven", " 7", "7", " go", " Go", " found", " it", " Found", " yes", " no"]


def fake_encode(text: str) -> list[int]:
    """A toy tokenizer: whole known pieces are one token; 'found it' is two."""
    if text in VOCAB:
        return [VOCAB.index(text)]
    if text.strip().lower() == "found it":
        return [VOCAB.index(" found" if text.startswith(" f") else " Found" if text.startswith(" F") else " found"), VOCAB.index(" it")]
    return [len(VOCAB) + 1 + hash(text) % 5]


def logits(probs: dict[str, float], size: int = len(VOCAB) + 8) -> np.ndarray:
    p = np.full(size, 1e-9)
    for piece, v in probs.items():
        p[VOCAB.index(piece)] = v
    return np.log(p)


SETS = {"rating": {6: ["six", "6"], 7: ["seven", "7"]}, "found": {"found": ["found it"]}}


def test_spellings_cover_space_and_capital():
    assert spellings("six") == [" six", "six", " Six", "Six"]
    assert spellings("6") == [" 6", "6"]


def test_an_answer_spread_over_its_spellings_is_summed_and_accepted():
    s = ClosedSetScorer(fake_encode, SETS).score("rating", logits({" six": 0.3, " Six": 0.2, " 6": 0.15, " seven": 0.05, " go": 0.3}))
    assert s.scores[6] == pytest.approx(0.65, abs=1e-6)
    assert decide(s) == 6


def test_other_speech_keeps_its_mass_and_is_rejected():
    # "go" heard: the answer set gets little; nothing is forced into a rating.
    s = ClosedSetScorer(fake_encode, SETS).score("rating", logits({" go": 0.8, " six": 0.1, " seven": 0.1}))
    assert s.other == pytest.approx(0.8, abs=1e-6)
    assert decide(s) is None


def test_two_close_answers_are_rejected():
    s = ClosedSetScorer(fake_encode, SETS).score("rating", logits({" six": 0.5, " seven": 0.45}))
    assert decide(s) is None  # 0.5 is not twice 0.45


def test_multi_token_answers_use_the_aligned_continuation():
    calls = []

    def align(seqs):
        calls.append(seqs)
        return [[0.9, 0.5] for _ in seqs]  # P(first) as aligned, P(" it" | " found") = 0.5

    sc = ClosedSetScorer(fake_encode, SETS)
    # " found" alone is not an answer here (only "found it" is), so it is scored as two tokens.
    s = sc.score("found", logits({" found": 0.8, " go": 0.2}), align)
    assert calls, "a multi-token answer must be aligned"
    assert s.scores["found"] == pytest.approx(0.8 * 0.5, abs=1e-6)


def test_answer_sets_come_from_the_phrase_book():
    pb = load_content(ROOT / "content").phrases
    sets = answer_sets(pb)
    assert set(sets["rating"]) == set(range(1, 11))
    assert "six" in sets["rating"][6] and "6" in sets["rating"][6]
    assert "yes" in sets["yes_no"]["yes"] and "no" in sets["yes_no"]["no"]
    assert "found it" in sets["found"]["found"]


def test_decide_rejects_an_empty_set():
    assert decide(AnswerScores("rating", {}, 1.0)) is None


@pytest.mark.slow
@pytest.mark.skipif(not (Path(__file__).resolve().parents[1].parent / "shared" / "speech" / "commands").is_dir(), reason="shared recordings not available")
def test_real_recordings_are_scored_against_the_question():
    """Real Speech Commands words through Whisper tiny.en: a spoken six is accepted as 6 when
    asked for a rating, a spoken 'go' is not accepted as a rating, nor as yes/no."""
    from benchmarks.audio import shared_dir
    from benchmarks.engines import WhisperClip
    from benchmarks.recog import clip_audio

    shared = shared_dir()
    pb = load_content(ROOT / "content").phrases
    w = WhisperClip("tiny", 1000, pb)

    def scores(word: str, question: str, n: int = 6):
        out = []
        for f in sorted((shared / "speech" / "commands" / word).glob("*.wav"))[:n]:
            _, first, align = w.decode(clip_audio({"path": str(f), "seed": 1, "snr": None}))
            out.append(decide(w.scorer.score(question, first, align)))
        return out

    assert scores("six", "rating").count(6) >= 4
    assert scores("yes", "yes_no").count("yes") >= 5
    assert all(d is None for d in scores("go", "rating") + scores("go", "yes_no", 4))


def test_judge_sure_uncertain_and_unheard():
    from voice_coach.recognizers.closed_set import judge

    def s(p, runner=0.0):
        return AnswerScores("rating", {6: p, 7: runner}, 1 - p - runner)
    assert judge(s(0.6)) == (6, True)  # most of the probability: sure
    assert judge(s(0.3), free_answer=6) == (6, True)  # the free transcript agrees: sure
    assert judge(s(0.3), free_answer=7) == (6, False)  # heard, uncertain: read back if risky
    assert judge(s(0.3)) == (6, False)
    assert judge(s(0.1), free_answer=6) == (None, False)  # too little to have been heard
    assert judge(s(0.4, 0.3), free_answer=6) == (None, False)  # two answers too close


def test_understanding_uses_closed_set_evidence_when_the_engine_gives_it():
    """A free 'six' is sure when the scored answers back it, unsure when they do not; a 'resume'
    (not a closed-set answer) falls back to the other evidence."""
    from voice_coach.interfaces import Transcript
    from voice_coach.understand import Understanding

    pb = load_content(ROOT / "content").phrases
    u = Understanding(pb)
    def backed(q):
        return AnswerScores(q, {6: 0.35, 7: 0.05}, 0.6)
    def doubtful(q):
        return AnswerScores(q, {6: 0.1, 7: 0.05}, 0.85)
    def other(q):
        return AnswerScores(q, {6: 0.05, 7: 0.6}, 0.35)
    assert u.sure(Transcript("Six.", final=True, answers=backed))
    assert not u.sure(Transcript("Six.", final=True, answers=doubtful))
    assert not u.sure(Transcript("Six.", final=True, answers=other))
    def yes(q):
        return AnswerScores(q, {"yes": 0.7, "no": 0.01}, 0.29)
    assert u.sure(Transcript("Yes.", final=True, answers=yes))
    assert not u.sure(Transcript("No.", final=True, answers=yes))
    assert u.sure(Transcript("Resume.", final=True, answers=lambda q: pytest.fail("not an answer")))
    # urgent words never wait for any of this
    assert u.urgent("Stop.") is not None
