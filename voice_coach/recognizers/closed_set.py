"""Answers scored against the question: closed-set decoding over Whisper's token probabilities.

The coach knows what it asked (a rating from 1 to 10, yes or no, "found it", "softened",
"ready"). Instead of hoping that free text spells the answer, each expected answer is scored
directly: the probability Whisper gives to its words as the first words of the utterance, summed
over the ways Whisper writes them (" six", " Six", " 6", "6"...). What is left over is the
probability of anything else, so other speech ("go", "on", "left") is not forced into an answer:
it keeps its mass on its own words and the answer set gets too little to be accepted.

This module only reports evidence (`AnswerScores`); whether an answer is sure enough to act on is
decided by `decide` (and, in the session, by the understanding stage). Urgent meanings (stop,
pause, red flags) are never scored here: they come from the free transcript first and are never
delayed by this.

Cost: single-token answers (every number, yes, no in tiny.en's and base's vocabularies) are read
off the first decoding step the free decode already computed, so they cost nothing extra;
answers of several tokens ("found it") add one batched `align` call over those variants only.
"""

from __future__ import annotations

import re

import math
from dataclasses import dataclass, field
from typing import Callable, Hashable, Iterable, Mapping, NamedTuple, Sequence

import numpy as np

# An answer is accepted when it holds at least this share of the model's probability for the
# first words (more than everything else put together) ...
ACCEPT_SHARE = 0.5
# ... and at least this many times the runner-up answer's.
ACCEPT_MARGIN = 2.0
# Below this share an answer is not heard at all (asked again); between it and ACCEPT_SHARE it is
# heard but uncertain, unless the free transcript says the same.
HEARD_SHARE = 0.2


@dataclass(frozen=True)
class AnswerScores:
    """Probability of each expected answer as the utterance's first words; `other` is the rest."""

    question: str
    scores: Mapping[Hashable, float]
    other: float

    def best(self) -> tuple[Hashable | None, float, float]:
        """(best answer, its probability, the runner-up's probability)."""
        ranked = sorted(self.scores.items(), key=lambda kv: -kv[1])
        if not ranked:
            return None, 0.0, 0.0
        return ranked[0][0], ranked[0][1], ranked[1][1] if len(ranked) > 1 else 0.0


def decide(s: AnswerScores, share: float = ACCEPT_SHARE, margin: float = ACCEPT_MARGIN) -> Hashable | None:
    """The answer the scores support, or None (reject: the coach asks again)."""
    answer, p, runner_up = s.best()
    if answer is None or p < share or p < margin * runner_up:
        return None
    return answer


class Judgement(NamedTuple):
    answer: Hashable | None  # None: nothing heard that answers the question (ask again)
    sure: bool  # False: heard, but uncertain; the understanding stage reads it back if risky


def judge(s: AnswerScores, free_answer: Hashable | None = None) -> Judgement:
    """Closed-set evidence combined with what the free transcript means.

    Sure: the answer holds ACCEPT_SHARE of the probability, or the free transcript means the same
    answer and it holds at least HEARD_SHARE (two readings of the audio agree: this replaces a
    second decode). Uncertain: HEARD_SHARE or more, but neither of those. Always at least
    ACCEPT_MARGIN times the runner-up answer, else nothing is heard."""
    answer, p, runner_up = s.best()
    if answer is None or p < HEARD_SHARE or p < ACCEPT_MARGIN * runner_up:
        return Judgement(None, False)
    return Judgement(answer, p >= ACCEPT_SHARE or free_answer == answer)


def answer_sets(phrasebook) -> dict[str, dict[Hashable, list[str]]]:
    """The expected answers of each kind of question, from the phrase book's own words.

    rating: 1..10 as words and digits; yes_no: the yes and no phrases; found, ready, softened:
    one meaning each (their phrases without '*' patterns), scored against everything else.
    """
    rating: dict[Hashable, list[str]] = {}
    for word, value in phrasebook.numbers.items():
        if 1 <= value <= 10:
            rating.setdefault(value, [str(value)]).append(word)
    def plain(ps) -> list[str]:
        """Phrases of plain words (anchors dropped; classes, choices and gaps left out)."""
        out = []
        for p in ps:
            text = " ".join(w for w in p.text.split() if w not in ("^", "$"))
            if re.fullmatch(r"[a-z0-9]+( [a-z0-9]+)*", text) and text not in out:
                out.append(text)
        return out

    # A bare "no" is read by a rule in the phrase book (what follows it decides), not a phrase.
    sets: dict[str, dict[Hashable, list[str]]] = {
        "rating": rating,
        "yes_no": {"yes": plain(phrasebook.yes), "no": ["no", *plain(phrasebook.no)]},
    }
    for name in ("found", "ready", "softened"):
        sets[name] = {name: plain(phrasebook.intents.get(name, ()))}
    return sets


def spellings(phrase: str) -> list[str]:
    """How Whisper may write a phrase as the start of a transcript: with and without the leading
    space, lower case and capitalised."""
    out = []
    for p in (phrase, phrase[:1].upper() + phrase[1:]):
        for s in (" " + p, p):
            if s not in out:
                out.append(s)
    return out


@dataclass
class CompiledAnswers:
    question: str
    single: dict[int, Hashable] = field(default_factory=dict)  # first token -> meaning
    multi: list[tuple[Hashable, list[int]]] = field(default_factory=list)


class ClosedSetScorer:
    """Scores answer sets with a faster-whisper tokenizer and a Whisper decoder.

    encode(text) -> token ids; align(encoded, token_seqs) -> per-token probabilities, used only for
    answers of more than one token.
    """

    def __init__(self, encode: Callable[[str], list[int]], sets: Mapping[str, Mapping[Hashable, Iterable[str]]]):
        self._encode = encode
        self.compiled: dict[str, CompiledAnswers] = {}
        for question, meanings in sets.items():
            c = CompiledAnswers(question)
            seen: set[tuple[int, ...]] = set()
            for meaning, phrases in meanings.items():
                for phrase in phrases:
                    for s in spellings(phrase):
                        toks = tuple(encode(s))
                        if not toks or toks in seen:
                            continue
                        seen.add(toks)
                        if len(toks) == 1:
                            c.single.setdefault(toks[0], meaning)
                        else:
                            c.multi.append((meaning, list(toks)))
            # A multi-token spelling whose first token is itself a whole single-token answer of
            # the same meaning is already counted there ("found it" under " found").
            c.multi = [(m, t) for m, t in c.multi if c.single.get(t[0]) != m]
            self.compiled[question] = c

    def score(
        self,
        question: str,
        first_logits: np.ndarray,
        align: Callable[[list[list[int]]], Sequence[Sequence[float]]] | None = None,
    ) -> AnswerScores:
        """first_logits: the decoder's scores over the vocabulary at the first text position.
        align(token_seqs) gives each sequence's per-token probabilities (first token included)."""
        c = self.compiled[question]
        logits = np.asarray(first_logits, dtype=np.float64)
        probs = np.exp(logits - logits.max())
        probs /= probs.sum()
        scores: dict[Hashable, float] = {}
        for tok, meaning in c.single.items():
            scores[meaning] = scores.get(meaning, 0.0) + float(probs[tok])
        if c.multi and align is not None:
            # Only worth aligning where the first token is at all likely.
            # (skipped ones add at most their first token's probability, under 0.01 each)
            todo = [(m, t) for m, t in c.multi if probs[t[0]] >= 0.01]
            if todo:
                for (m, t), p in zip(todo, align([t for _, t in todo]), strict=False):
                    rest = math.prod(float(x) for x in list(p)[1 : len(t)])
                    scores[m] = scores.get(m, 0.0) + float(probs[t[0]]) * rest
        for meanings in (c.single.values(), (m for m, _ in c.multi)):
            for m in meanings:
                scores.setdefault(m, 0.0)
        other = max(0.0, 1.0 - sum(scores.values()))
        return AnswerScores(question, scores, other)
