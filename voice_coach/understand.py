"""The understanding stage, between the recognizer and the session: what the words mean, whether
they are urgent, whether the engine was sure of them, and when a rating is read back.

One place per rule:
- `urgent(intents)`: what counts as urgent (a red flag, then stop or pause). Everything that must
  act at once asks this: the listener (to silence the voice before the session sees the words),
  the session, the console, and the benchmarks' scoring.
- `Understanding.sure(transcript)`: whether an answer that would steer the session (a rating, yes,
  no, resume, a place...) can be acted on. Recognizers only report evidence (text, confidence,
  word confidences, first-word alternatives, a second decode on demand); this decides. An unsure
  transcript still acts on anything urgent: a doubted stop stops.
- `reads_back(value, guidance, sure)`: a rating read back before the coach acts on it: one this low
  (a misheard "on" or "to"), or one the engine doubts that would make the coach say "deeper". A
  doubted rating that would not (in range, or too high: hold, or ease off) is acted on.
- `Understanding.in_context(transcript, step)`: which transcript of an answer is understood: while
  the coach waits for a rating or a yes/no, the same audio decoded with the question as context
  (engines that can: Whisper), unless the free transcript was urgent.

The words themselves come from the phrase book (voice_coach/intents.py, content/phrases.toml).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from voice_coach.events import Heard
from voice_coach.intents import AMBIGUOUS, HEDGE, NONE, PRESSURE, RATING, RED_FLAG, RELEASE, Context, Intent, PhraseBook
from voice_coach.interfaces import Transcript

# Intents that act at once, even from a partial or unsure transcript, even while the coach speaks.
STOPS = ("stop", "pause")
URGENT_INTENTS = frozenset({RED_FLAG, *STOPS})
# Intents whose wrong guess cannot hurt (they take pressure off or ask again): kept even from a
# transcript the recognizer doubts, and never double-checked.
SAFE_WHEN_UNSURE = URGENT_INTENTS | {RELEASE, HEDGE, AMBIGUOUS}
# A rating from a transcript the recognizer doubts keeps its value with this reason: the phase
# asks reads_back(value, sure=False) whether to read it back or act on it.
UNSURE = "unsure"

# Whisper: the first word must carry at least this share of the model's probability for its
# meaning (chosen on the Speech Commands clips; the figures are in docs/benchmarks/design_figures.md).
FIRST_WORD_FLOOR = 0.3
# Engines that give word confidences (Vosk): every word of a steering answer must reach this.
# A starting point, not measured here (no Vosk model on the build machine).
WORD_CONFIDENCE_FLOOR = 0.5
# The steps whose answers are decoded again with the question as context (in_context): measured
# on 120 rating and 163 yes/no recordings through the coach's path (docs/benchmarks/hearing.md section 7).
CONTEXT_STEPS = frozenset({"rating", "yes_no"})


def urgent(intents: Iterable[Intent]) -> Intent | None:
    """The urgent intent among these, if any: a red flag before a stop or pause."""
    intents = list(intents)
    flag = next((i for i in intents if i.name == RED_FLAG), None)
    return flag or next((i for i in intents if i.name in STOPS), None)


def intents(pb: PhraseBook, text: str, sure: bool = True, context: Context | None = None) -> list[Intent]:
    """What the text means at this step; for an unsure transcript only the meanings whose wrong
    guess cannot hurt (SAFE_WHEN_UNSURE) count, and a rating, marked UNSURE (see reads_back).

    A doubted "ten" at a rating is not the red flag a sure one is (the guide's agonizing pain): it
    takes the pressure off and pauses, as "too hard" does, and the rating is asked again. Whisper
    writes "10" for a "seven" or a "two" now and then, and a halt ends the whole session; with the
    pressure off, nothing can come of a misheard one."""
    found = pb.parse(text, context)
    if not sure:
        found = [_doubted(i) for i in found if i.name in SAFE_WHEN_UNSURE or i.name == RATING]
    return found or [Intent(NONE)]


def _doubted(i: Intent) -> Intent:
    if i.name == RATING:
        return Intent(RATING, i.value, UNSURE)
    if i.name == RED_FLAG and i.reason == RATING:
        return Intent("stop", reason=PRESSURE)
    return i


def steering(pb: PhraseBook, text: str, context: Context | None = None) -> tuple[Intent, ...] | None:
    """What the text would make the session do that a wrong guess could hurt (a rating, yes, no,
    resume, a place...); None if nothing. These are what must be sure before they act."""
    found = tuple(i for i in pb.parse(text, context) if i.name not in SAFE_WHEN_UNSURE and i.name != NONE)
    return found or None


def reads_back(value: int, guidance, sure: bool = True) -> bool:
    """Whether a rating is read back before the coach acts on it ("I heard three, is that right?").

    Pressing harder on a misheard rating is the unsafe side, so what is read back is what would
    make the coach say "deeper" and might be wrong: a rating at or below
    guidance.confirm_at_or_below (recognizers hear "on" as "one" and "to" as "two"), and any
    rating below guidance.low that the engine doubts (`sure` False). A doubted rating in range or
    above is acted on: holding or easing off is safe whichever number was said, and asking again
    would leave a thumb on the knot for nothing."""
    return value <= guidance.confirm_at_or_below or (not sure and value < guidance.low)


def answer_question(meaning: Sequence[Intent]) -> tuple[str, object] | None:
    """The closed-set question a steering meaning answers, and the answer ('rating', 6), or None
    when it is not a plain answer (resume, a place, two answers at once).

    Only the answers that steer pressure or the screening (a rating, yes, no) are held to the
    closed set: "found", "ready" and "softened" are said in too many ways ("I found it", "I think
    we're there") for scores of their first word to judge, and a wrong one costs little."""
    if len(meaning) != 1:
        return None
    i = meaning[0]
    if i.name == "rating" and isinstance(i.value, int) and 1 <= i.value <= 10:
        return "rating", i.value
    if i.name in ("yes", "no"):
        return "yes_no", i.name
    return None


class Understanding:
    """The stage bound to one phrase book (and, for read-back, the routine's guidance)."""

    def __init__(self, phrases: PhraseBook, guidance=None):
        self.phrases = phrases
        self.guidance = guidance

    def intents(self, text: str, sure: bool = True, context: Context | None = None) -> list[Intent]:
        return intents(self.phrases, text, sure, context)

    def urgent(self, text: str) -> Intent | None:
        return urgent(self.phrases.parse(text))

    def steering(self, text: str) -> tuple[Intent, ...] | None:
        return steering(self.phrases, text)

    def reads_back(self, value: int, sure: bool = True) -> bool:
        return reads_back(value, self.guidance, sure)

    @staticmethod
    def sure_rating(intent: Intent) -> bool:
        """Whether a rating intent came from a transcript the engine was sure of."""
        return intent.reason != UNSURE

    # -- sureness -------------------------------------------------------------------------------

    def sure(self, tr: Transcript) -> bool:
        """Can this transcript steer the session? Partials never steer (only urgent words act on
        them), and a transcript that would not steer needs no check."""
        if not tr.final or not tr.text.strip():
            return True
        meaning = self.steering(tr.text)
        if meaning is None:
            return True
        if tr.words and min(c for _, c in tr.words) < WORD_CONFIDENCE_FLOOR:
            return False
        question = answer_question(meaning)
        if tr.answers is not None and question is not None:
            # Closed-set evidence: the expected answers scored directly; the free transcript's
            # answer is sure when the scores back it (recognizers/closed_set.py, judge). This
            # replaces the first-word floor and the second decode for these answers.
            from voice_coach.recognizers.closed_set import judge

            free = question[1]
            j = judge(tr.answers(question[0]), free)
            return j.sure and j.answer == free
        if tr.first_word is not None:
            chosen, candidates = tr.first_word()
            if self._first_word_mass(chosen, candidates) < FIRST_WORD_FLOOR:
                return False
        if tr.again is not None:
            # A misheard word is usually heard the same way again; a borderline one often is not.
            return self.steering(tr.again()) == meaning
        return True

    def _first_word_mass(self, chosen: str, candidates: Sequence[tuple[str, float]]) -> float:
        """The probability of the first-word candidates that mean what the chosen first word
        means ("One", "one" and "1" together)."""
        meaning = self.steering(chosen)
        return float(sum(p for text, p in candidates if self.steering(text) == meaning))

    def in_context(self, tr: Transcript, step: str | None) -> Transcript:
        """The transcript to understand while the session is at `step` (Session.step()): for the
        answer to a question in CONTEXT_STEPS, the engine's decode with the question as context
        when it has one, judged by the same rules as any transcript. The free transcript stays when
        it is urgent (it has already acted: nothing urgent waits for a second decode), partial,
        or when the context decode hears nothing."""
        if step not in CONTEXT_STEPS or not tr.final or tr.in_context is None or self.urgent(tr.text) is not None:
            return tr
        ctx = tr.in_context(step)
        return ctx if ctx is not None and ctx.text.strip() else tr

    def heard(self, tr: Transcript, step: str | None = None) -> Heard:
        """The session event for a transcript, judged (at `step`: see in_context)."""
        tr = self.in_context(tr, step)
        return Heard(tr.text, tr.final, self.sure(tr))
