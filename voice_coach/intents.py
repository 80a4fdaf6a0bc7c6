"""From heard text to meanings, using the grammar in content/phrases.toml.

Meanings, most urgent first:
  red_flag (value: the guide's kind)   halt the session
  stop (reason None, or "pressure")    pause; a pressure complaint also tells the giver to ease off
  pause                                pause
  release                              take the pressure off now (during a hold), never "softened"
  resume, repeat, skip, next, finish, help, time_left, found, ready, softened
  rating (value 0-10), yes, no, hedge (unsure: ask again, then the safe way), ambiguous (both a
  yes and a no: ask again), location (value: canonical place)

What is urgent, and what an unsure transcript may still do, is voice_coach/understand.py's call.

Red flags are found first and are hard to deny: a red-flag phrase counts as denied only when a
negator stands right before it in the same clause. When unsure, the coach halts.

`parse(text, context)`: the context says which step asked (and its question's words), since
"I have" means yes only as an answer to "Do they have a fever?", and a 10 is agony only as a rating.
"""

from __future__ import annotations

import functools

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from voice_coach.grammar import (
    BREAK,
    Phrase,
    PhraseError,
    Span,
    Text,
    compile_phrase,
    keep,
    squeeze,
    squeeze_all,
    tokens,
    words_only,
)
from voice_coach.validate import Checker, load_toml

RED_FLAG = "red_flag"
RATING = "rating"
LOCATION = "location"
NONE = "none"
HEDGE = "hedge"
DEGREE = "degree"  # an answer's "a bit", "slightly": a hedge alone, the size of a yes with one
AMBIGUOUS = "ambiguous"
RELEASE = "release"
PRESSURE = "pressure"  # Intent("stop", reason=PRESSURE): a complaint about the pressure

RED_FLAG_KINDS = ("sharp_pain", "radiating", "numbness", "tingling")
# Order matters: after red flags, the first intent the current step can use wins.
COMMAND_INTENTS = ("resume", "repeat", "skip", "next", "finish", "help", "time_left", "found", "ready", "softened")
ANSWER_INTENTS = ("yes", "no", HEDGE, AMBIGUOUS)
ALL_INTENTS = (RED_FLAG, "stop", "pause", RELEASE, *COMMAND_INTENTS, RATING, *ANSWER_INTENTS, LOCATION, NONE)
# Words the coach promises out loud to obey; content may add to these lists, never drop them.
REQUIRED_PHRASES = {"stop": ("stop",), "pause": ("pause", "wait"), "resume": ("resume",)}
SOUND_ALIKE_INTENTS = ("stop", "pause")

# The steps a context can name. Pressing: the giver's hands are on the knot. Giver: the giver
# is the one talking ("I can't feel a knot" is no numbness). Rated: a number here is a pain rating.
STEPS = frozenset({"yes_no", "read_back", "soften", "rating", "hold", "strokes", "ready", "palpation", "location", "next"})
PRESSING_STEPS = frozenset({"rating", "hold", "strokes", "read_back"})
GIVER_STEPS = frozenset({"palpation", "location", "ready"})
RATED_STEPS = frozenset({"rating", "hold", "read_back"})
ANSWER_STEPS = frozenset({"yes_no", "read_back", "soften", "next"})

# Echo of the coach's own lines: a run of this many words of one of its lines is its voice
# leaking through the microphone, not the person; red-flag words need a longer run.
ECHO_RUN = 5
ECHO_RUN_RED_FLAG = 8

_NEG_CONTRACTIONS = frozenset({"dont", "doesnt", "didnt", "havent", "hasnt", "isnt", "arent", "wasnt", "werent", "cant", "couldnt", "wont", "wouldnt", "aint", "hadnt"})
_NO_FOLLOW = frozenset({
    "not", "no", "still", "thanks", "thank", "sir", "maam", "never", "nothing", "none", "way", "definitely",
    "really", "just", "nope", "but", "problem", "sorry", "actually", "its", "theres", "thats", "i",
    "it", "they", "he", "she", "we", "there", "that", "nah", "absolutely", "certainly", "im", "hes",
    "shes", "theyre", "ive", "theyve", "dont", "didnt", "doesnt", "and", "so", "of",
})
_NOT_PLURAL = frozenset({
    "this", "thats", "its", "yes", "was", "is", "as", "us", "plus", "less", "perhaps", "always",
    "sometimes", "does", "has", "his", "hers", "thus", "unless", "seems", "says", "means", "stays",
    "gets", "goes", "keeps", "feels", "hurts", "theres", "whats", "lets", "hes", "shes", "ouch",
})


@dataclass(frozen=True)
class Intent:
    name: str
    value: object = None
    reason: str | None = None


@dataclass(frozen=True)
class Context:
    """What the coach is waiting for: a step from STEPS and, for questions, its words."""

    step: str | None = None
    question: str = ""

    def __post_init__(self) -> None:
        if self.step is not None and self.step not in STEPS:
            raise ValueError(f"unknown step {self.step!r}; expected one of {sorted(STEPS)}")


NO_CONTEXT = Context()


def normalize(text: str) -> list[str]:
    """Whole words, without clause breaks."""
    return words_only(tokens(text))


@dataclass
class RedFlagCheck:
    kind: str | None  # what halts, or None
    denied: list[str]  # kinds that were named but denied ("no tingling")


@dataclass
class PhraseBook:
    classes: dict[str, list[str]]
    red_flags: dict[str, list[Phrase]]
    red_not: list[Phrase]
    red_giver_not: list[Phrase]
    red_ambiguous: frozenset[str]  # phrase texts that are red flags only as a feeling
    red_motion: frozenset[str]  # phrase texts that are red flags only with something moving or felt
    fuzzy: dict[str, str]  # listed word -> kind, for recognizer misspellings one edit away
    fuzzy_min_length: int
    negators: frozenset[str]
    fillers: frozenset[str]
    max_gap: int
    double: frozenset[str]
    stop_commands: list[Phrase]
    stop_pressure: list[Phrase]
    exclamations: frozenset[str]
    stop_not: list[Phrase]
    knot_words: frozenset[str]
    repeated_no: int
    repeated_no_pressing: int
    pause: list[Phrase]
    pause_not: list[Phrase]
    release: list[Phrase]
    release_not: list[Phrase]
    intents: dict[str, list[Phrase]]
    yes: list[Phrase]
    no: list[Phrase]
    hedges: list[Phrase]
    degrees: list[Phrase]
    subjects: frozenset[str]
    verbs: frozenset[str]
    lead_ins: frozenset[str]
    question_stopwords: frozenset[str]
    sound_alikes: dict[str, frozenset[str]]
    numbers: dict[str, int]
    over_scale: frozenset[str]
    scale: list[Phrase]
    half: list[Phrase]
    above: list[Phrase]
    corrections: list[Phrase]
    not_after: list[Phrase]
    not_before: frozenset[str]
    frames: list[Phrase]
    answer_words: frozenset[str]
    sides: list[str]
    levels: list[str]
    areas: list[Phrase]
    source: str = ""
    known: frozenset[str] = frozenset()
    shorthand: dict[str, tuple[str, ...]] = field(default_factory=dict)  # typed "u", "pls", "idk"
    # Typos: the words a typo may be taken for (every word the book uses), and English itself, whose
    # words are never "corrected" ("there" stays "there", never "three"). None: no dictionary.
    vocabulary_words: frozenset[str] = frozenset()
    english: "_WordSet | None" = None
    _typos: dict[str, str] = field(default_factory=dict, repr=False)
    _echo: dict[int, set[tuple[str, ...]]] = field(default_factory=dict, repr=False)

    # -- the coach's own voice ------------------------------------------------------------------

    def learn_coach_lines(self, lines: Iterable[str]) -> None:
        """Runs of the coach's own lines, so its voice leaking into the microphone means nothing."""
        echo: dict[int, set[tuple[str, ...]]] = {ECHO_RUN: set(), ECHO_RUN_RED_FLAG: set()}
        for line in lines:
            w = normalize(line)
            for n in echo:
                for i in range(len(w) - n + 1):
                    echo[n].add(tuple(w[i : i + n]))
        self._echo = echo

    def _unecho(self, toks: list[str], n: int) -> list[str]:
        grams = self._echo.get(n)
        if not grams:
            return toks
        idx = [i for i, t in enumerate(toks) if t != BREAK]
        w = [toks[i] for i in idx]
        covered = [False] * len(w)
        for i in range(len(w) - n + 1):
            if tuple(w[i : i + n]) in grams:
                for j in range(i, i + n):
                    covered[j] = True
        if not any(covered):
            return toks
        out = list(toks)
        for k, c in enumerate(covered):
            if c:
                out[idx[k]] = BREAK
        return _tidy(out)

    # -- parsing -------------------------------------------------------------------------------

    def parse(self, text: str, context: Context | None = None) -> list[Intent]:
        """Every meaning in the text, most urgent first; [Intent('none')] if nothing matched."""
        ctx = context or NO_CONTEXT
        raw = self._tokens(text)
        found: list[Intent] = []
        rf = self._red_flag(Text(self._unecho(raw, ECHO_RUN_RED_FLAG)), ctx)
        t = Text(self._unecho(raw, ECHO_RUN))
        rating = self.rating_of(t)
        if rf.kind:
            found.append(Intent(RED_FLAG, rf.kind))
        elif rating is not None and rating >= 10 and ctx.step in RATED_STEPS:
            found.append(Intent(RED_FLAG, "sharp_pain", reason=RATING))  # the guide's agonizing pain
        release = keep(t.find(self.release), t.find(self.release_not))
        if release:
            found.append(Intent(RELEASE))
        stop = self._stop(t, ctx, release)
        if stop is not None:
            found.append(stop)
        alone = t.toks[0] if len(t.toks) == 1 else None
        if keep(t.find(self.pause), t.find(self.pause_not)) or alone in self.sound_alikes.get("pause", ()):
            found.append(Intent("pause"))
        for name in COMMAND_INTENTS:
            if t.find(self.intents[name]):
                found.append(Intent(name))
        if rating is not None:
            found.append(Intent(RATING, rating))
        answer = self._answer(t, ctx)
        if answer is not None:
            found.append(Intent(answer))
        location = self.location(t.toks)
        if location:
            found.append(Intent(LOCATION, location))
        return found or [Intent(NONE)]

    def red_flag_check(self, text: str, context: Context | None = None) -> RedFlagCheck:
        """The red flag in the text, and any that were named but denied (for reports)."""
        return self._red_flag(Text(self._unecho(self._tokens(text), ECHO_RUN_RED_FLAG)), context or NO_CONTEXT)

    def _tokens(self, text: str) -> list[str]:
        out: list[str] = []
        raw = [w for t in tokens(text) for w in self.shorthand.get(t, (t,))]
        for k, t in enumerate(raw):
            nxt = raw[k + 1] if k + 1 < len(raw) else BREAK
            if t != BREAK and nxt != BREAK and len(t) < len(nxt) and nxt.startswith(t) and t not in self.known:
                continue  # a false start the next word completes: "sev-seven", "st-stop", "t-tingling"
            if re.fullmatch(r"n+o{3,}", t):
                out += ["no", "no"]  # a long "nooo" is a protest, like "no no"
            else:
                out.append(self._spelled(squeeze(t, self.known)) if t != BREAK else t)
        return out

    def _spelled(self, t: str) -> str:
        """A typed word as the word meant, when it is no English word at all and exactly one word
        of the book fits: a letter typed twice ("waitt", "fivee"), two neighbouring letters
        swapped ("stpo", "nmub"), a letter left out ("sevn", "presure"), or, in a longer word, one
        letter too many ("tinglling"). A real word is never changed ("there" is never "three",
        nor "fine" "five"). A wrong letter is not guessed: a recognizer's garbled word is that
        kind ("dinging", "bist"), and only the red flags' own misspellings are taken
        (`fuzzy`)."""
        if t in self.known or not t.isalpha() or len(t) < 3:
            return t
        if t[-1] == t[-2] and t[:-1] in self.known:
            return t[:-1]  # the last letter held down: "waitt", "umm", "yess" (even where a name is spelt so)
        if self.english is None or t in self.english:
            return t
        if t in self._typos:
            return self._typos[t]
        fixed = t
        doubled = {t[:i] + t[i + 1 :] for i in range(len(t) - 1) if t[i] == t[i + 1]}
        hits = [w for w in doubled if w in self.known]
        if len(hits) == 1:
            fixed = hits[0]
        elif len(t) >= 4:
            for near in (_swapped, _left_out, _one_too_many):
                hits = [w for w in self.vocabulary_words if near(t, w)]
                if hits:
                    fixed = hits[0] if len(hits) == 1 else t
                    break
        if len(self._typos) < 10_000:  # a recognizer's odd words are few; never grow without bound
            self._typos[t] = fixed
        return fixed

    # -- red flags -----------------------------------------------------------------------------

    def _red_flag(self, t: Text, ctx: Context) -> RedFlagCheck:
        unless = t.find(self.red_not)
        if ctx.step in GIVER_STEPS:
            unless += t.find(self.red_giver_not)
        denied: list[str] = []
        best: tuple[int, str] | None = None
        spans = [(span, kind) for kind, phrases in self.red_flags.items() for span in keep(t.find(phrases), unless)]
        spans = sorted(((sp, k) for sp, k in spans if not any(sp.inside(o) for o, _ in spans)), key=lambda x: x[0].start)
        denied_end: int | None = None
        for span, kind in spans:
            if True:
                if span.phrase in self.red_ambiguous and not self._as_feeling(t, span):
                    continue
                if span.phrase in self.red_motion and not self._in_motion(t, span):
                    continue
                listed = denied_end is not None and all(w in ("or", "nor") or w in self.fillers for w in t.toks[denied_end : span.start])
                # A negation right before the span's last word, inside its own gap: "my leg hasn't
                # gone numb" ({limb} ... numb); not "my arm, no, it's gone dead", said unpunctuated.
                inside = span.end - span.start > 1 and self._negated(t.toks, span.end - 1)
                if self._negated(t.toks, span.start) or listed or inside:
                    denied.append(kind)  # "no tingling or numbness": the denial covers the list
                    denied_end = span.end
                elif best is None or span.start < best[0]:
                    best = (span.start, kind)
        for i, tok in enumerate(t.toks):
            if len(tok) >= self.fuzzy_min_length and tok not in self.known:
                for word, kind in self.fuzzy.items():
                    if _one_edit_apart(tok, word) and not any(u.start <= i < u.end for u in unless):
                        if self._negated(t.toks, i):
                            denied.append(kind)
                        elif best is None or i < best[0]:
                            best = (i, kind)
        return RedFlagCheck(best[1] if best else None, denied)

    def _as_feeling(self, t: Text, span: Span) -> bool:
        """An ambiguous word ("sharp", "knife", "electric") names a feeling: a feeling word in its
        clause, or said nearly alone without someone else as the subject."""
        a, b = t.clause_of(span.start)
        clause = t.toks[a:b]
        felt = set(self.classes.get("feeling", ())) | set(self.classes.get("limb", ())) | set(self.classes.get("body", ()))
        word = t.toks[span.start]
        if word.endswith("ing") and span.end == span.start + 1 and not any(w in felt - set(self.classes.get("pointing", ())) for w in clause):
            before = t.toks[span.start - 1] if span.start > a else None
            after = t.toks[span.end] if span.end < b else None
            if before in ("a", "an", "the", "that", "this", "another") or after in ("a", "an", "the"):
                return False  # a thing or an act: "a stabbing on the news", "shooting a film"
        if any(w in felt for w in clause):
            return True
        k = span.start - 1
        while k > a and t.toks[k] in ("really", "very", "so", "quite", "too", "getting", "gone", "bit", "a", "little", "pretty", "well"):
            k -= 1
        pronoun = ("it", "its", "thats", "itll", "thatll") if word in self.classes.get("objects", ()) else ("it", "that", "this", "its", "thats", "itll", "thatll")
        if k >= a and t.toks[k] in pronoun:
            return True  # "that stabs", "it's sharp", "she says it's really sharp"; not "this knife"
        if any(w in self.classes.get("person", ()) for w in t.toks[a : span.start]):
            return False
        said = set(t.toks[span.start : span.end])  # "sharp, sharp, sharp" is the word said alone
        core = [w for k, w in enumerate(t.toks) if w != BREAK and not span.start <= k < span.end and w not in said and w not in self.classes.get("little", ())]
        return not core

    def _in_motion(self, t: Text, span: Span) -> bool:
        """ "down my arm", "into the hand": a red flag when something moves or is felt there, or
        said nearly alone; not "the food passed through his hands". With the giver's hands at
        work in the clause ({handling}: "rub it into my hands"), only a real movement or feeling
        counts, not a {vague} "it"."""
        a, b = t.clause_of(span.start)
        clause = t.toks[a:b]
        c = self.classes
        handled = any(w in c.get("handling", ()) for w in clause)
        if any(w in c.get("move", ()) or (w in c.get("sense", ()) and not (handled and w in c.get("vague", ()))) for w in clause):
            return True
        return not handled and len(words_only(t.toks)) <= 4

    def _negated(self, toks: list[str], start: int) -> bool:
        i = start - 1
        gap = 0
        while i >= 0 and gap <= self.max_gap and toks[i] != BREAK:
            if toks[i] in self.negators:
                if toks[i] == "without":
                    a = i
                    while a > 0 and toks[a - 1] != BREAK:
                        a -= 1
                    if any(x in self.double for x in toks[a:i]):
                        return False  # "can't turn without feeling a stabbing pain"
                return True
            if toks[i] not in self.fillers:
                return False
            gap += 1
            i -= 1
        return False

    # -- stop, pause ---------------------------------------------------------------------------

    def _stop(self, t: Text, ctx: Context, release: list[Span]) -> Intent | None:
        unless = t.find(self.stop_not)
        pressure = keep(t.find(self.stop_pressure), unless)
        if ctx.step == "soften":
            # Asked whether the knot softened, "softer" describes the knot, not the pressure.
            pressure = [p for p in pressure if not set(p.phrase.split()) <= self.knot_words]
        if not pressure and any(self._exclamation(w) for w in t.toks):
            pressure = [Span(0, 0, "exclamation")]
        if pressure:
            return Intent("stop", reason=PRESSURE)
        commands = keep(t.find(self.stop_commands), unless + release)
        if release and any(s.phrase.startswith("stop") for s in release):
            return Intent("stop", reason=PRESSURE)  # "stop pressing": pressure off, and pause
        if commands:
            return Intent("stop")
        noes = _longest_no_run(t.toks)
        if noes >= self.repeated_no or (noes >= self.repeated_no_pressing and ctx.step in PRESSING_STEPS):
            return Intent("stop")
        words = words_only(t.toks)
        if len(words) == 1 and words[0] in self.sound_alikes.get("stop", ()):
            return Intent("stop")
        return None

    def _exclamation(self, w: str) -> bool:
        """ "ow", "owww", "ouuuch", "aaargh": a listed exclamation said long; never a known word
        that squeezes to one ("of" is not "oof")."""
        if w == BREAK:
            return False
        return w in self.exclamations or (squeeze_all(w) in self.exclamations and squeeze_all(w) != w and w not in self.known)

    # -- yes, no, hedges -----------------------------------------------------------------------

    def _answer(self, t: Text, ctx: Context) -> str | None:
        toks = t.toks
        qwords = self._question_words(ctx.question)
        spans: list[tuple[Span, str]] = []
        long = len(words_only(toks)) > 8
        for phrases, meaning in ((self.hedges, HEDGE), (self.degrees, DEGREE), (self.no, "no"), (self.yes, "yes")):
            for s in t.find(phrases):
                if long and not (self._opens_clause(toks, s.start) and BREAK not in toks[: s.start]):
                    continue  # inside a story, not an answer
                spans.append((s, meaning))
        # A negator right before a yes word makes it a no: "not correct", "never".
        for k, (s, meaning) in enumerate(spans):
            if meaning == "yes" and s.start > 0 and toks[s.start - 1] in ("not", "never", "hardly"):
                spans[k] = (Span(s.start - 1, s.end, s.phrase), "no")
        spans += self._statements(toks, qwords)
        spans += self._interjected_no(t, qwords, [s for s, _ in spans])
        # The longest reading wins: "I don't think so" over "think so", "no idea" over "no".
        kept = [(s, m) for s, m in spans if not any(s.inside(o) for o, _ in spans)]
        meanings = {m for _, m in kept}
        if HEDGE in meanings:
            return HEDGE
        if DEGREE in meanings:
            # "A bit" alone is a hedge; with a yes it says how much ("yes, a bit of a temperature").
            # With a no it stays a hedge: "no, just a bit" admits some, and a no is the side that
            # lets the massage go on.
            meanings.discard(DEGREE)
            return "yes" if meanings == {"yes"} else HEDGE
        if "yes" in meanings and "no" in meanings:
            return AMBIGUOUS
        if meanings:
            return meanings.pop()
        return None

    def _opens_clause(self, toks: list[str], i: int) -> bool:
        j = i - 1
        while j >= 0 and toks[j] != BREAK:
            if toks[j] not in self.lead_ins:
                return False
            j -= 1
        return True

    def _question_words(self, question: str) -> set[str]:
        return {_stem(w) for w in normalize(question) if w not in self.question_stopwords and not w.isdigit()}

    def _statements(self, toks: list[str], qwords: set[str]) -> list[tuple[Span, str]]:
        """ "I do", "they don't", "it did not", "there is some swelling": an answer only when it ends
        the clause or the rest of the clause holds the question's own words."""
        out = []
        for i, w in enumerate(toks):
            if w not in self.subjects:
                continue
            j = i + 1
            contracted = w in ("its", "theres", "thats", "hes", "shes", "theyre", "im", "ive", "theyve", "weve")
            negative = False
            unable = j < len(toks) and toks[j] in ("cant", "cannot", "couldnt", "can", "could")
            if j < len(toks) and toks[j] in _NEG_CONTRACTIONS:
                negative, j = True, j + 1
            elif j < len(toks) and toks[j] in self.verbs:
                j += 1
            elif not contracted:
                continue
            while j < len(toks) and toks[j] in ("not", "never", "no"):
                negative, j = True, j + 1
            if negative and unable and j < len(toks) and toks[j] != BREAK:
                continue  # "she can't sleep": what she cannot do is the trouble asked about, not a denial
            a = i
            while a > 0 and toks[a - 1] != BREAK:
                a -= 1
            before = toks[a:i]
            if any(x in ("dont", "didnt", "doubt") for x in before) and any(x in ("think", "believe", "reckon", "doubt") for x in before):
                negative = not negative  # "I don't think it did"
            end_of_clause = j >= len(toks) or toks[j] == BREAK
            rest = []
            k = j
            while k < len(toks) and toks[k] != BREAK:
                rest.append(toks[k])
                k += 1
            if contracted and end_of_clause and not negative:
                continue  # a lone "it's", "I'm": no answer
            short = len(words_only(toks)) <= 6
            if (end_of_clause and short) or (qwords and any(_stem(x) in qwords for x in rest)):
                out.append((Span(i, j, "statement"), "no" if negative else "yes"))
        return out

    def _interjected_no(self, t: Text, qwords: set[str], taken: list[Span]) -> list[tuple[Span, str]]:
        """ "no" as an answer: opening a clause ("no, they don't", "no fever") or closing a short one
        ("I'd say no"); not as a determiner in a sentence ("no beds were issued")."""
        toks = t.toks
        out = []
        for i, w in enumerate(toks):
            if w != "no" or any(s.start <= i < s.end for s in taken):
                continue
            a, b = t.clause_of(i)
            before, after = toks[a:i], toks[i + 1 : b]
            # Lead-ins, or the question said back first ("a fever, no", "swelling no").
            opens = all(x in self.lead_ins or x in ("a", "an", "any", "the") or _stem(x) in qwords for x in before)
            nxt = after[0] if after else None
            if nxt == "one":
                continue  # "no one called"
            if opens and (nxt is None or nxt in _NO_FOLLOW or nxt in self.subjects):
                out.append((Span(i, i + 1, "no"), "no"))
            elif opens and ((len(after) <= 2 and len(words_only(toks)) <= 4) or any(_stem(x) in qwords for x in after)):
                out.append((Span(i, i + 1, "no"), "no"))
            elif not after and len(before) <= 3 and len(words_only(toks)) <= 6:
                out.append((Span(i, i + 1, "no"), "no"))
        return out

    # -- numbers -------------------------------------------------------------------------------

    def rating(self, tokens_: list[str]) -> int | None:
        """The rating in a list of words (kept for callers that tokenized already)."""
        return self.rating_of(Text(list(tokens_)))

    def rating_of(self, t: Text) -> int | None:
        toks = t.toks
        removed = set()
        for s in t.find(self.scale):
            removed.update(range(s.start, s.end))
        halves = t.find(self.half)
        for s in halves:
            removed.update(range(s.start, s.end))
        above_end = {s.end for s in t.find(self.above)}
        frame_end = {s.end for s in t.find(self.frames)}
        not_after_end = {s.end for s in t.find(self.not_after)}
        corrections = [s for s in t.find(self.corrections) if not any(i in removed for i in range(s.start, s.end))]
        candidates: list[tuple[int, float, bool]] = []  # (index, value, framed)
        for i, w in enumerate(toks):
            if i in removed or w == BREAK:
                continue
            value = self._number(w)
            if value is None:
                continue
            nxt = toks[i + 1] if i + 1 < len(toks) else BREAK
            if nxt != BREAK and (nxt in self.not_before or _plural(nxt, self.answer_words)):
                continue
            framed = i in frame_end
            if not framed and i in not_after_end:
                continue
            if w in ("one", "1") and i > 0 and toks[i - 1] in ("no", "any", "some", "every", "each", "which", "that", "this", "the", "another", "other", "someone", "anyone"):
                continue  # "no one", "this one": a pronoun
            if i > 0 and (toks[i - 1] == "not" or (i > 1 and toks[i - 1] in ("a", "an", "quite", "even", "really") and toks[i - 2] == "not")):
                continue  # "not a seven"
            if i in above_end:
                value += 0.5
            if any(h.start == i + 1 for h in halves):
                value += 0.5
            candidates.append((i, value, framed))
        if not candidates:
            return None
        if corrections:
            last = max(s.end for s in corrections)
            after = [c for c in candidates if c[0] >= last]
            if after:
                candidates = after
        if not any(framed for _, _, framed in candidates):
            numbers = {c[0] for c in candidates}
            other = [w for k, w in enumerate(toks) if w != BREAK and k not in removed and k not in numbers and w not in self.answer_words and self._number(w) is None]
            if other:
                return None  # a number inside a story, not a rating
        best = max(v for _, v, _ in candidates)
        return min(10, math.ceil(best - 1e-9))

    def _number(self, w: str) -> float | None:
        if w in self.numbers:
            return float(self.numbers[w])
        if w in self.over_scale:
            return 10.0
        if re.fullmatch(r"\d+(\.\d+)?", w):
            v = float(w)
            if 0 <= v <= 10:
                return v
        return None

    # -- places --------------------------------------------------------------------------------

    def location(self, tokens_: list[str]) -> str | None:
        toks = words_only(tokens_)
        t = Text(toks)
        area = next((p.text for p in self.areas if p.find(t.joined, t.starts)), None)
        side = next((w for w in toks if w in self.sides), None)
        level = next((w for w in toks if w in self.levels), None)
        if area is None:
            # "Lower right" names a place on a back massage by itself, and keeps it when the
            # recognizer garbles the last word ("lower right smack"). A lone side does not.
            if side is None or level is None:
                return None
            area = "back"
        if side in ("center", "centre"):
            side = "middle"
        return " ".join(x for x in (side, level, area) if x)

    # -- vocabulary ----------------------------------------------------------------------------

    def vocabulary(self) -> list[str]:
        """The plain phrases worth recognizing, in whole words, for recognizer grammars.

        Only rows of plain words (no classes, choices or gaps): a grammar-restricted recognizer
        confuses more the more it may choose from, so the list stays the size of what people say.
        """
        phrases: set[str] = set()
        core = [p for ps in self.red_flags.values() for p in ps] + self.stop_commands + self.pause
        core += [p for ps in self.intents.values() for p in ps] + self.yes + self.no + self.scale + self.half + self.areas
        short = self.stop_pressure + self.release + self.hedges + self.degrees  # the everyday few-word ones
        for p in core + short:
            parts = [w for w in p.text.split() if w not in ("^", "$")]
            if parts and all(re.fullmatch(r"[a-z0-9]+", w) for w in parts) and (p not in short or len(parts) <= 2):
                phrases.add(" ".join(parts))
        phrases.update(self.numbers)
        phrases.update(self.sides)
        phrases.update(self.levels)
        phrases.update(self.fuzzy)
        return sorted(phrases)

    def stop_words(self) -> set[str]:
        """The one-word stop commands and exclamations ("stop", "halt", "ow")."""
        words = {p.text for p in self.stop_commands if re.fullmatch(r"[a-z]+", p.text)}
        return words | set(self.exclamations)

    def _all_phrases(self) -> list[Phrase]:
        out = [p for ps in self.red_flags.values() for p in ps]
        out += self.stop_commands + self.stop_pressure + self.pause + self.release
        out += [p for ps in self.intents.values() for p in ps]
        out += self.yes + self.no + self.hedges + self.degrees + self.scale + self.half + self.areas
        return out


def _tidy(toks: list[str]) -> list[str]:
    out: list[str] = []
    for t in toks:
        if t == BREAK and (not out or out[-1] == BREAK):
            continue
        out.append(t)
    while out and out[-1] == BREAK:
        out.pop()
    return out


def _stem(w: str) -> str:
    for suffix in ("ation", "ing", "ed", "es", "s"):
        if w.endswith(suffix) and len(w) - len(suffix) >= 4:
            return w[: -len(suffix)]
    return w


def _plural(w: str, answer_words: frozenset[str]) -> bool:
    return len(w) >= 4 and w.endswith("s") and not w.endswith("ss") and w not in answer_words and w not in _NOT_PLURAL


def _longest_no_run(toks: list[str]) -> int:
    best = run = 0
    for t in toks:
        if t == BREAK:
            continue
        if t in ("no", "nope", "nah") or re.fullmatch(r"(?:no){2,}", t):
            run += max(1, len(t) // 2) if t.startswith("nono") else 1
            best = max(best, run)
        else:
            run = 0
    return best


def _swapped(a: str, b: str) -> bool:
    """True if b is a with two neighbouring letters swapped ("stpo" and "stop")."""
    if len(a) != len(b) or a == b:
        return False
    diff = [i for i in range(len(a)) if a[i] != b[i]]
    return len(diff) == 2 and diff[1] == diff[0] + 1 and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]]


def _left_out(a: str, b: str) -> bool:
    """True if a is b with one letter left out ("sevn" and "seven")."""
    return len(b) == len(a) + 1 and _one_edit_apart(a, b)


def _one_too_many(a: str, b: str) -> bool:
    """True if a is b with one letter too many, in a word of six letters or more ("tinglling")."""
    return len(a) >= 6 and _left_out(b, a)


class _WordSet:
    """A large word list held as the sorted hashes of its words: 1 MB for 126,000 words where a
    set of strings takes over 10. Hashes are this process's own, built once per process."""

    def __init__(self, words: Iterable[str]) -> None:
        import numpy as np

        self._h = np.unique(np.fromiter((hash(w) for w in words), dtype=np.int64))

    def __contains__(self, word: object) -> bool:
        import numpy as np

        h = np.int64(hash(word))
        i = int(np.searchsorted(self._h, h))
        return i < len(self._h) and self._h[i] == h

    def __len__(self) -> int:
        return len(self._h)


@functools.lru_cache(maxsize=1)
def _english_words() -> _WordSet | None:
    """The words of the CMU pronouncing dictionary PocketSphinx ships (126,000, apostrophes
    dropped as the tokenizer drops them; read once per process, about 0.1 s), or None."""
    try:
        import pocketsphinx
    except ImportError:  # pragma: no cover - pocketsphinx is a dependency
        return None
    path = Path(pocketsphinx.get_model_path()) / "en-us" / "cmudict-en-us.dict"
    if not path.is_file():  # pragma: no cover
        return None
    with open(path, encoding="utf-8", errors="replace") as f:
        return _WordSet(line.split(" ", 1)[0].split("(", 1)[0].replace("'", "") for line in f if line.strip())


def _one_edit_apart(a: str, b: str) -> bool:
    """True if a and b differ by exactly one substitution, insertion or deletion."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) > len(b):
        a, b = b, a
    i = 0
    while i < len(a) and a[i] == b[i]:
        i += 1
    return a[i + (len(a) == len(b)) :] == b[i + 1 :]


# -- loading ---------------------------------------------------------------------------------------


def load_phrasebook(path: Path) -> PhraseBook:
    data = load_toml(path)
    c = Checker(path)
    top = {"words", "shorthand", "red_flags", "negation", "stop", "pause", "release", "intents", "answers", "sound_alikes", "ratings", "locations"}
    c.table(data, "", top)

    words = c.table(data["words"], "words", set(data["words"]) if isinstance(data["words"], dict) else set())
    classes: dict[str, list[str]] = {}
    for name in words:
        if not re.fullmatch(r"[a-z_]+", name):
            raise c.fail(f"words.{name}", "a class name is lower-case letters and _")
        classes[name] = _plain_words(c, words, "words", name)

    def phrases(table: dict, key: str, name: str, allow_empty: bool = False) -> list[Phrase]:
        out = []
        for i, text in enumerate(c.text_list(table, key, name, allow_empty=allow_empty)):
            try:
                out.append(compile_phrase(text, classes))
            except PhraseError as e:
                raise c.fail(f"{key}.{name}[{i}]", f"phrase {text!r} {e}") from None
        return out

    red = c.table(data["red_flags"], "red_flags", {*RED_FLAG_KINDS, "not", "giver_not", "ambiguous", "motion", "fuzzy_min_length"})
    fuzzy_min_length = int(c.number(red, "red_flags", "fuzzy_min_length", 4, 20))
    red_flags: dict[str, list[Phrase]] = {}
    fuzzy: dict[str, str] = {}
    for kind in RED_FLAG_KINDS:
        key = f"red_flags.{kind}"
        k = c.table(red[kind], key, {"phrases", "fuzzy"}, required={"phrases"})
        red_flags[kind] = phrases(k, key, "phrases")
        listed = {w for p in red_flags[kind] for w in p.words}
        for i, w in enumerate(_plain_words(c, k, key, "fuzzy") if "fuzzy" in k else []):
            if w not in listed:
                raise c.fail(f"{key}.fuzzy[{i}]", f"{w!r} is not a word of {key}.phrases")
            if len(w) < fuzzy_min_length:
                raise c.fail(f"{key}.fuzzy[{i}]", f"{w!r} is shorter than red_flags.fuzzy_min_length")
            fuzzy[w] = kind
    red_not = phrases(c.table(red["not"], "red_flags.not", {"phrases"}), "red_flags.not", "phrases")
    texts = {p.text for ps in red_flags.values() for p in ps}
    for name in ("ambiguous", "motion"):
        for i, text in enumerate(c.text_list(red, "red_flags", name, allow_empty=True)):
            if text.lower() not in texts:
                raise c.fail(f"red_flags.{name}[{i}]", f"{text!r} is not a phrase of a red-flag kind")
    red_giver_not = phrases(c.table(red["giver_not"], "red_flags.giver_not", {"phrases"}), "red_flags.giver_not", "phrases")

    neg = c.table(data["negation"], "negation", {"negators", "fillers", "max_gap", "double"})
    stop = c.table(data["stop"], "stop", {"commands", "pressure", "exclamations", "not", "knot_words", "repeated_no", "repeated_no_while_pressing"})
    pause = c.table(data["pause"], "pause", {"phrases", "not"})
    release = c.table(data["release"], "release", {"phrases", "not"})
    ints = c.table(data["intents"], "intents", set(COMMAND_INTENTS))
    intents = {k: phrases(ints, "intents", k) for k in COMMAND_INTENTS}
    stop_commands = phrases(stop, "stop", "commands")
    pause_phrases = phrases(pause, "pause", "phrases")
    for name, required in REQUIRED_PHRASES.items():
        have = {p.text for p in {"stop": stop_commands, "pause": pause_phrases}.get(name, intents.get(name, []))}
        for w in required:
            if w not in have:
                section = f"intents.{name}" if name in intents else ("stop.commands" if name == "stop" else f"{name}.phrases")
                raise c.fail(section, f"must include {w!r}: the coach tells people they can say it")

    ans = c.table(data["answers"], "answers", {"yes", "no", "hedges", "degrees", "subjects", "verbs", "lead_ins", "question_stopwords"})
    alikes = c.table(data["sound_alikes"], "sound_alikes", set(SOUND_ALIKE_INTENTS))
    sound_alikes = {name: frozenset(_plain_words(c, alikes, "sound_alikes", name, allow_empty=True)) for name in alikes}

    rat = c.table(data["ratings"], "ratings", {"numbers", "over_scale", "scale", "half", "above", "corrections", "not_after", "not_before", "frames", "answer_words"})
    nums = c.table(rat["numbers"], "ratings.numbers", set(rat["numbers"]) if isinstance(rat["numbers"], dict) else set())
    numbers = {}
    for word in nums:
        numbers[word.lower()] = int(c.number(nums, "ratings.numbers", word, 0, 10))
    if sorted(set(numbers.values())) != list(range(11)):
        raise c.fail("ratings.numbers", "must name every rating from 0 to 10")

    loc = c.table(data["locations"], "locations", {"sides", "levels", "areas"})
    book = PhraseBook(
        classes=classes,
        red_flags=red_flags,
        red_not=red_not,
        red_giver_not=red_giver_not,
        red_motion=frozenset(" ".join(w.lower().replace("'", "").split()) for w in c.text_list(red, "red_flags", "motion", allow_empty=True)),
        red_ambiguous=frozenset(" ".join(w.lower().replace("'", "").split()) for w in c.text_list(red, "red_flags", "ambiguous", allow_empty=True)),
        fuzzy=fuzzy,
        fuzzy_min_length=fuzzy_min_length,
        negators=frozenset(_plain_words(c, neg, "negation", "negators")),
        fillers=frozenset(_plain_words(c, neg, "negation", "fillers", allow_empty=True)),
        max_gap=int(c.number(neg, "negation", "max_gap", 0, 5)),
        double=frozenset(_plain_words(c, neg, "negation", "double", allow_empty=True)),
        stop_commands=stop_commands,
        stop_pressure=phrases(stop, "stop", "pressure"),
        exclamations=frozenset(squeeze_all(w) for w in _plain_words(c, stop, "stop", "exclamations")),
        stop_not=phrases(stop, "stop", "not", allow_empty=True),
        knot_words=frozenset(_plain_words(c, stop, "stop", "knot_words", allow_empty=True)),
        repeated_no=int(c.number(stop, "stop", "repeated_no", 2, 10)),
        repeated_no_pressing=int(c.number(stop, "stop", "repeated_no_while_pressing", 2, 10)),
        pause=pause_phrases,
        pause_not=phrases(pause, "pause", "not", allow_empty=True),
        release=phrases(release, "release", "phrases"),
        release_not=phrases(release, "release", "not", allow_empty=True),
        intents=intents,
        yes=phrases(ans, "answers", "yes"),
        no=phrases(ans, "answers", "no"),
        hedges=phrases(ans, "answers", "hedges"),
        degrees=phrases(ans, "answers", "degrees"),
        subjects=frozenset(_plain_words(c, ans, "answers", "subjects")),
        verbs=frozenset(_plain_words(c, ans, "answers", "verbs")),
        lead_ins=frozenset(_plain_words(c, ans, "answers", "lead_ins", allow_empty=True)),
        question_stopwords=frozenset(_plain_words(c, ans, "answers", "question_stopwords", allow_empty=True)),
        sound_alikes=sound_alikes,
        numbers=numbers,
        over_scale=frozenset(_plain_words(c, rat, "ratings", "over_scale", allow_empty=True)),
        scale=phrases(rat, "ratings", "scale"),
        half=phrases(rat, "ratings", "half"),
        above=phrases(rat, "ratings", "above", allow_empty=True),
        corrections=phrases(rat, "ratings", "corrections", allow_empty=True),
        not_after=phrases(rat, "ratings", "not_after", allow_empty=True),
        not_before=frozenset(_plain_words(c, rat, "ratings", "not_before", allow_empty=True)),
        frames=phrases(rat, "ratings", "frames", allow_empty=True),
        answer_words=frozenset(_plain_words(c, rat, "ratings", "answer_words")),
        sides=_plain_words(c, loc, "locations", "sides"),
        levels=_plain_words(c, loc, "locations", "levels"),
        areas=phrases(loc, "locations", "areas"),
        source=str(path),
    )
    known: set[str] = set()
    for p in book._all_phrases() + book.red_not + book.red_giver_not + book.stop_not + book.pause_not + book.release_not:
        known.update(p.words)
    for ws in classes.values():
        known.update(ws)
    known.update(numbers)
    known.update(book.exclamations)
    book.known = frozenset(known)
    short = c.table(data["shorthand"], "shorthand", set(data["shorthand"]) if isinstance(data["shorthand"], dict) else set())
    for k, v in short.items():
        if not re.fullmatch(r"[a-z]+", k) or not isinstance(v, str) or not re.fullmatch(r"[a-z]+( [a-z]+)*", v.strip()):
            raise c.fail(f"shorthand.{k}", "must map a plain lower-case word to plain words")
    book.shorthand = {k: tuple(v.split()) for k, v in short.items()}
    every = set(known) | book.answer_words | book.lead_ins | book.subjects | book.verbs | book.not_before
    for p in book.frames + book.corrections + book.not_after + book.above:
        every.update(p.words)
    book.vocabulary_words = frozenset(w for w in every if w.isalpha() and len(w) >= 4)
    book.english = _english_words()
    return book


def _plain_words(c: Checker, table: dict, key: str, name: str, allow_empty: bool = False) -> list[str]:
    out = []
    for i, w in enumerate(c.text_list(table, key, name, allow_empty=allow_empty)):
        w = w.lower().replace("'", "")
        if not re.fullmatch(r"[a-z0-9]+", w):
            raise c.fail(f"{key}.{name}[{i}]", f"{w!r} must be one plain word")
        out.append(w)
    return out
