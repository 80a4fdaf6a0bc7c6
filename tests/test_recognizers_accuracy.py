"""Real recordings (Speech Commands): stop recall and false accepts on other words.

Runs the real default engine (Whisper tiny.en) through the same streaming path as `voice-coach
hear` over ALL stop clips and ALL negative-word clips, two worker processes with a warm recognizer
each, and holds it to the issue's bars: stop recall at least 98%, false accepts on the negative
words at most 1%.
"""

from __future__ import annotations

import multiprocessing as mp
from collections import Counter
from pathlib import Path

import pytest

COMMANDS = Path(__file__).resolve().parents[1].parent / "shared" / "speech" / "commands"
NEGATIVES = ("go up down left right on off bed bird cat dog happy house marvin sheila tree wow").split()
BAD = {"stop", "red_flag", "rating", "yes", "no"}
STOP_RECALL_BAR = 0.98
NEGATIVE_FA_BAR = 0.01
# Measured with Whisper tiny.en through this streaming path (5 s window, a lone word listened to
# again on 30 s, urgent partials counted as the coach counts them; 2026-12-07): stop recall 0.992
# (128/129, with the sound-alikes of phrases.toml); negative false accepts 0.006 (6/1009: "on"
# heard as a rating 4, "tree" as a rating 1, "up" as a stop 1). On the 30 s window alone it was
# 128/129 and 9/1009 (0.922 stop recall without the sound-alikes).

_worker = None


def _init():
    global _worker
    from voice_coach.intents import load_phrasebook
    from voice_coach.paths import default_content_dir
    from voice_coach.recognizers import make_recognizer

    pb = load_phrasebook(default_content_dir() / "phrases.toml")
    _worker = (pb, make_recognizer(None, None, pb))


def _hear(path: str) -> tuple[str, str]:
    from voice_coach.hear import transcribe_file

    from voice_coach.understand import Understanding

    pb, rec = _worker
    understand = Understanding(pb)
    heard = transcribe_file(rec, Path(path), understand)
    return path, understand.intents(heard.text, heard.sure)[0].name


def measure(words) -> dict[str, Counter]:
    files = [str(f) for w in words for f in sorted((COMMANDS / w).glob("*.wav"))]
    with mp.get_context("spawn").Pool(2, initializer=_init) as pool:
        results = pool.map(_hear, files, chunksize=16)
    by_word: dict[str, Counter] = {}
    for path, intent in results:
        by_word.setdefault(Path(path).parent.name, Counter())[intent] += 1
    return by_word


@pytest.fixture(scope="module")
def rates():
    by_word = measure(["stop", *NEGATIVES])
    stop = by_word["stop"]
    recall = stop["stop"] / sum(stop.values())
    neg_total = sum(sum(by_word[w].values()) for w in NEGATIVES)
    bad = Counter()
    for w in NEGATIVES:
        for intent, n in by_word[w].items():
            if intent in BAD:
                bad[f"{w}->{intent}"] += n
    fa = sum(bad.values()) / neg_total
    print(f"stop recall {recall:.3f} ({stop['stop']}/{sum(stop.values())}); "
          f"negative false accepts {fa:.3f} ({sum(bad.values())}/{neg_total}): {bad.most_common(12)}")
    return recall, fa, bad


pytestmark = [
    pytest.mark.slow,
    pytest.mark.timeout(1800),
    pytest.mark.skipif(not COMMANDS.is_dir(), reason="shared recordings not available"),
]


def test_stop_recall_meets_the_bar(rates):
    recall, _, _ = rates
    assert recall >= STOP_RECALL_BAR, f"stop recall {recall:.3f} < {STOP_RECALL_BAR}"


def test_negative_words_meet_the_bar(rates):
    _, fa, bad = rates
    assert fa <= NEGATIVE_FA_BAR, f"negative false-accept rate {fa:.3f} > {NEGATIVE_FA_BAR}: {bad.most_common(8)}"
