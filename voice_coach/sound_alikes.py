"""Sound-alikes by pronunciation: the words that sound within one phoneme of "stop".

A recognizer that mishears a lone "stop" in noise writes a word that sounds like it ("stick",
"stub", "stock"). Listing the words it wrote on our own recordings flatters those recordings;
this lists them by a principle instead: every word of the CMU pronouncing dictionary (the one
PocketSphinx ships) whose pronunciation is at most one phoneme away from the target's, where
swapping a sound for a similar one (vowel for vowel, plosive for plosive, fricative for
fricative, nasal for nasal, liquid for liquid) counts half. Words that already mean something to
the phrase book ("skip", "spot", "top") are left out: a word with a meaning of its own is never
taken for another.

The result is data: `python -m voice_coach.sound_alikes stop` prints the words, which go into
content/phrases.toml's [sound_alikes] stop list (tests/test_sound_alikes.py checks that they are
all there). Nothing here runs while the coach runs.
"""

from __future__ import annotations

import re
import sys
from collections import defaultdict
from pathlib import Path
from typing import Iterable

# Phoneme classes of the CMU dictionary's 39 phonemes (stress marks stripped).
CLASSES = {
    **dict.fromkeys("AA AE AH AO AW AY EH ER EY IH IY OW OY UH UW".split(), "vowel"),
    **dict.fromkeys("P B T D K G".split(), "plosive"),
    **dict.fromkeys("F V TH DH S Z SH ZH HH CH JH".split(), "fricative"),
    **dict.fromkeys("M N NG".split(), "nasal"),
    **dict.fromkeys("L R W Y".split(), "liquid"),
}
SIMILAR = 0.5  # the cost of swapping a phoneme for one of its class
MAX_DISTANCE = 1.0


def load_dictionary(path: Path | None = None) -> dict[str, list[tuple[str, ...]]]:
    """word -> its pronunciations (phonemes without stress), from a CMU-format dictionary
    (default: the one the pocketsphinx package ships)."""
    if path is None:
        import pocketsphinx

        path = Path(pocketsphinx.get_model_path()) / "en-us" / "cmudict-en-us.dict"
    out: dict[str, list[tuple[str, ...]]] = defaultdict(list)
    for line in Path(path).read_text(encoding="utf-8", errors="replace").splitlines():
        word, *phones = line.split()
        if phones:
            out[re.sub(r"\(\d+\)$", "", word)].append(tuple(re.sub(r"\d", "", p) for p in phones))
    return dict(out)


def distance(a: tuple[str, ...], b: tuple[str, ...]) -> float:
    """Edit distance between two phoneme sequences: insertion and deletion cost 1, a swap 1, or
    SIMILAR within a class."""
    prev = [float(j) for j in range(len(b) + 1)]
    for i, x in enumerate(a, 1):
        row = [float(i)]
        for j, y in enumerate(b, 1):
            swap = 0.0 if x == y else SIMILAR if CLASSES.get(x, x) == CLASSES.get(y, y) else 1.0
            row.append(min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + swap))
        prev = row
    return prev[-1]


def neighbours(target: str, dictionary: dict[str, list[tuple[str, ...]]], exclude: Iterable[str] = (),
               max_distance: float = MAX_DISTANCE) -> list[str]:
    """The words within max_distance of any pronunciation of `target` (itself and `exclude` left
    out), sorted."""
    targets = dictionary.get(target)
    if not targets:
        raise KeyError(f"{target!r} is not in the pronouncing dictionary")
    skip = set(exclude) | {target}
    out = []
    for word, prons in dictionary.items():
        if word in skip or not re.fullmatch(r"[a-z]+", word):
            continue
        if any(abs(len(p) - len(t)) <= max_distance and distance(p, t) <= max_distance for p in prons for t in targets):
            out.append(word)
    return sorted(out)


def main(argv: list[str] | None = None) -> int:
    from voice_coach.routine import load_content

    args = sys.argv[1:] if argv is None else argv
    target = args[0] if args else "stop"
    content = Path(args[1]) if len(args) > 1 else Path(__file__).resolve().parent.parent / "content"
    book = load_content(content).phrases
    words = neighbours(target, load_dictionary(), exclude=book.known)
    print(", ".join(f'"{w}"' for w in words))
    return 0


if __name__ == "__main__":
    sys.exit(main())
