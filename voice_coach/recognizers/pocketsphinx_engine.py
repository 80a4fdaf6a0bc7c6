"""PocketSphinx adapter: the light fallback engine (its US English model ships in the wheel).

Design, chosen by measurement on the Speech Commands recordings (see the recognizers tests and
`docs/` for the numbers):

* Search: a JSGF grammar of the coach's vocabulary phrases (one to three phrases per utterance),
  decoded with PocketSphinx's wide default beams. A full language model misses most stop words
  on short, noisy clips, and keyphrase spotting needs a hand-tuned threshold per phrase.
* Rejection: a second decoder runs a free phone loop (allphone search) over the same audio. Each
  word the grammar found is kept only if its acoustic score per frame is close enough to the phone
  loop's score over the same frames (a likelihood ratio); otherwise it is dropped as out of
  vocabulary. Stop words get a lower bar than ratings and yes/no, because missing a stop is the
  worst failure.
* Endpointing: PocketSphinx's WebRTC-VAD Endpointer. While speech goes on, `accept` returns
  partial transcripts (gated by the same rejection) so a stop acts before the utterance ends.
* Words missing from the CMU dictionary: phrases written without apostrophes are mapped to the
  dictionary's spelling ("dont" -> "don't"); word stems from prefix patterns ("tingl") are
  expanded to dictionary words that start with them; anything else is skipped and logged.
"""

from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import numpy as np

from voice_coach.interfaces import SAMPLE_RATE, Transcript

log = logging.getLogger(__name__)

# Stop words: the phrase book's `stop` intent. They get a lower rejection bar.
DEFAULT_STOP_WORDS = frozenset({"stop", "enough", "ouch", "ow"})

# Rejection thresholds: mean log-likelihood ratio per 10 ms frame (grammar word vs. phone loop).
# Tuned on ../shared/speech/commands (see tests/test_recognizers_accuracy.py).
STOP_THRESHOLD = -3.0
WORD_THRESHOLD = -2.0
# Extra words (from the dictionary) that the grammar accepts and reports as "stop": close
# variants a person stopping the coach might say.
STOP_VARIANTS = ("stops", "stopped", "stopping")
# Stop verifier: a third decoder aligns the utterance to the stop phrases only. When that
# alignment is at least STOP_VERIFY_THRESHOLD against the phone loop and within STOP_VERIFY_MARGIN
# of the best grammar word, the final transcript is "stop" whatever else the grammar preferred.
# It roughly doubles stop recall on real recordings at the price of false stops (see report).
STOP_VERIFY_THRESHOLD = -3.0
STOP_VERIFY_MARGIN = 0.0

_FILLER = re.compile(r"^(<.*>|\[.*\]|\+.*\+|\(NULL\))$")
_ALT = re.compile(r"\(\d+\)$")
_MAX_EXPANSIONS = 6


@dataclass(frozen=True)
class Word:
    text: str
    start: int
    end: int
    ratio: float  # mean log-likelihood ratio per frame against the phone loop


class PocketSphinxRecognizer:
    """Grammar-restricted PocketSphinx with phone-loop rejection and VAD endpointing."""

    name = "pocketsphinx"

    def __init__(
        self,
        phrases: Iterable[str] | None = None,
        *,
        stop_words: Iterable[str] = DEFAULT_STOP_WORDS,
        stop_threshold: float = STOP_THRESHOLD,
        word_threshold: float = WORD_THRESHOLD,
        max_phrases: int = 1,
        model_dir: Path | None = None,
        vad_mode: int | None = None,
        endpoint_window: float = 0.3,
        stop_verify: bool = True,
        stop_verify_threshold: float = STOP_VERIFY_THRESHOLD,
        stop_verify_margin: float = STOP_VERIFY_MARGIN,
    ):
        try:
            import pocketsphinx
        except ImportError as e:  # pragma: no cover - dependency is declared
            from voice_coach.errors import UserError

            raise UserError(f"PocketSphinx is not installed ({e}); run: pip install pocketsphinx") from None
        self._ps = pocketsphinx
        self.stop_words = frozenset(w.lower() for w in stop_words)
        self.stop_threshold = stop_threshold
        self.word_threshold = word_threshold
        self.max_phrases = max_phrases
        model = Path(model_dir) if model_dir else Path(pocketsphinx.get_model_path())
        hmm = model / "en-us" / "en-us"
        dic = model / "en-us" / "cmudict-en-us.dict"
        self._dict = _load_dict(dic)
        self._grammar = pocketsphinx.Decoder(hmm=str(hmm), dict=str(dic), lm=None, loglevel="FATAL")
        self._phones = pocketsphinx.Decoder(hmm=str(hmm), dict=str(dic), lm=None, loglevel="FATAL")
        self._phones.add_allphone_file("phones")
        self._phones.activate_search("phones")
        self.stop_verify = stop_verify and "stop" in self.stop_words
        self.stop_verify_threshold = stop_verify_threshold
        self.stop_verify_margin = stop_verify_margin
        self._stopper = None
        if self.stop_verify:
            self._stopper = pocketsphinx.Decoder(hmm=str(hmm), dict=str(dic), lm=None, loglevel="FATAL")
            alts = " | ".join(["stop", "stop it", "stop now", *[v for v in STOP_VARIANTS if v in self._dict]])
            self._stopper.add_jsgf_string("stop", f"#JSGF V1.0;\ngrammar stop;\npublic <s> = {alts} ;\n")
            self._stopper.activate_search("stop")
        self.last_stop_ratio: float | None = None
        self._vad_mode = pocketsphinx.Vad.LOOSE if vad_mode is None else vad_mode
        self._endpoint_window = endpoint_window
        self._reset_endpointer()
        self._frame = self._endpointer.frame_bytes
        self._pending = b""
        self._in_utt = False
        self._last_partial = ""
        self.skipped: list[str] = []
        self.last_words: list[Word] = []
        self._has_grammar = False
        if phrases is not None:
            self.set_vocabulary(phrases)

    # -- vocabulary ----------------------------------------------------------------------------

    def set_vocabulary(self, phrases: Iterable[str]) -> None:
        alternatives: list[str] = []
        self.skipped = []
        self._spoken: dict[str, str] = {}  # dictionary word -> word to report
        for phrase in sorted(set(phrases)):
            variants = self._phrase_variants(phrase)
            if not variants:
                self.skipped.append(phrase)
                continue
            alternatives += variants
        for v in STOP_VARIANTS:
            if v in self._dict and "stop" in self.stop_words:
                alternatives.append(v)
                self._spoken[v] = "stop"
        if self.skipped:
            log.info("pocketsphinx: skipped phrases with words not in its dictionary: %s", ", ".join(self.skipped))
        if not alternatives:
            from voice_coach.errors import UserError

            raise UserError("pocketsphinx: none of the coach's phrases are in its dictionary; check content/phrases.toml")
        alternatives = sorted(set(alternatives))
        body = " | ".join(alternatives)
        rest = " ".join("[<phrase>]" for _ in range(self.max_phrases - 1))
        jsgf = (
            "#JSGF V1.0;\ngrammar coach;\n"
            f"public <utt> = <phrase> {rest} ;\n"
            f"<phrase> = {body} ;\n"
        )
        if self._in_utt:
            self._end_utt()
        self._grammar.add_jsgf_string("coach", jsgf)
        self._grammar.activate_search("coach")
        self._has_grammar = True
        self.alternatives = alternatives

    def _phrase_variants(self, phrase: str) -> list[str]:
        """Dictionary spellings of a phrase; [] if some word cannot be found."""
        options: list[list[str]] = []
        for word in phrase.lower().split():
            found = self._word_variants(word)
            if not found:
                return []
            options.append(found)
        # Prefix expansion only happens for single-word phrases in practice; cap the product.
        out = [""]
        for opts in options:
            out = [f"{o} {w}".strip() for o in out for w in opts][:_MAX_EXPANSIONS * 2]
        return out

    def _word_variants(self, word: str) -> list[str]:
        if word in self._dict:
            variants = [word]
        else:
            variants = []
            for i in range(1, len(word)):
                cand = word[:i] + "'" + word[i:]
                if cand in self._dict:
                    variants.append(cand)
                    self._spoken[cand] = word
                    break
        if not variants or not _is_common_word(word):
            # A stem such as "tingl" or "stab": add the dictionary words that start with it.
            if len(word) >= 4:
                longer = sorted((w for w in self._dict if w.startswith(word) and w != word and w.isalpha()), key=len)
                variants += longer[:_MAX_EXPANSIONS]
        return variants

    # -- streaming -----------------------------------------------------------------------------

    def accept(self, pcm: np.ndarray) -> list[Transcript]:
        if not self._has_grammar:
            raise RuntimeError("set_vocabulary() must be called before accept()")
        data = self._pending + np.asarray(pcm, dtype=np.int16).tobytes()
        out: list[Transcript] = []
        n = len(data) - len(data) % self._frame
        self._pending = data[n:]
        fed = False
        for i in range(0, n, self._frame):
            speech = self._endpointer.process(data[i : i + self._frame])
            if speech is not None:
                if not self._in_utt:
                    self._start_utt()
                self._process(speech)
                fed = True
            if self._in_utt and not self._endpointer.in_speech:
                out += self._end_utt()
        if fed and self._in_utt:
            text = self._gated_text(self._words(partial=True))
            if text and text != self._last_partial:
                self._last_partial = text
                out.append(Transcript(text, final=False, confidence=self._confidence()))
        return out

    def flush(self) -> list[Transcript]:
        out: list[Transcript] = []
        if self._in_utt:
            tail = self._endpointer.end_stream(self._pending) if self._pending else None
            if tail:
                self._process(tail)
            out = self._end_utt()
        self._pending = b""
        self._reset_endpointer()
        return out

    def reset(self) -> None:
        if self._in_utt:
            self._grammar.end_utt()
            self._phones.end_utt()
            if self._stopper is not None:
                self._stopper.end_utt()
            self._in_utt = False
        self._pending = b""
        self._last_partial = ""
        self._reset_endpointer()

    # -- internals -----------------------------------------------------------------------------

    def _reset_endpointer(self) -> None:
        self._endpointer = self._ps.Endpointer(
            window=self._endpoint_window, vad_mode=self._vad_mode, sample_rate=SAMPLE_RATE
        )

    def _start_utt(self) -> None:
        self._grammar.start_utt()
        self._phones.start_utt()
        if self._stopper is not None:
            self._stopper.start_utt()
        self._in_utt = True
        self._last_partial = ""

    def _process(self, data: bytes) -> None:
        self._grammar.process_raw(data)
        self._phones.process_raw(data)
        if self._stopper is not None:
            self._stopper.process_raw(data)

    def _end_utt(self) -> list[Transcript]:
        self._grammar.end_utt()
        self._phones.end_utt()
        self._in_utt = False
        words = self._words(partial=False)
        self.last_words = words
        text = self._gated_text(words)
        if self._stopper is not None:
            self._stopper.end_utt()
            text = self._verify_stop(words, text)
        self._last_partial = ""
        if not words:
            return []
        return [Transcript(text, final=True, confidence=self._confidence())]

    def _verify_stop(self, words: list[Word], text: str) -> str:
        phones = [(s.start_frame, s.end_frame, _log(s.ascore)) for s in (self._phones.seg() or [])]
        ratios = []
        for s in self._stopper.seg() or []:
            n = s.end_frame - s.start_frame + 1
            if not _FILLER.match(s.word) and n > 0:
                ratios.append((_log(s.ascore) - _overlap_score(phones, s.start_frame, s.end_frame)) / n)
        self.last_stop_ratio = max(ratios) if ratios else None
        if self.last_stop_ratio is None or "stop" in text.split():
            return text
        best = max((w.ratio for w in words), default=-math.inf)
        if self.last_stop_ratio >= self.stop_verify_threshold and self.last_stop_ratio >= best - self.stop_verify_margin:
            return f"{text} stop".strip() if text else "stop"
        return text

    def _words(self, partial: bool) -> list[Word]:
        segs = list(self._grammar.seg() or [])
        phones = [(s.start_frame, s.end_frame, _log(s.ascore)) for s in (self._phones.seg() or [])]
        words = []
        for s in segs:
            if _FILLER.match(s.word):
                continue
            n = s.end_frame - s.start_frame + 1
            if n <= 0:
                continue
            ref = _overlap_score(phones, s.start_frame, s.end_frame)
            text = _ALT.sub("", s.word)
            text = self._spoken.get(text, text)
            words.append(Word(text, s.start_frame, s.end_frame, (_log(s.ascore) - ref) / n))
        self._current = words
        return words

    def _gated_text(self, words: list[Word]) -> str:
        kept = []
        for w in words:
            bar = self.stop_threshold if w.text in self.stop_words else self.word_threshold
            kept.append(w.text if w.ratio >= bar else "[unk]")
        text = " ".join(kept)
        return "" if not text.replace("[unk]", "").strip() else text

    def _confidence(self) -> float | None:
        words = getattr(self, "_current", [])
        if not words:
            return None
        return float(min(1.0, math.exp(min(w.ratio for w in words) / 4.0)))


def _log(p: float) -> float:
    return math.log(max(p, 1e-300))


def _overlap_score(phones: list[tuple[int, int, float]], start: int, end: int) -> float:
    total = 0.0
    for ps, pe, score in phones:
        ov = min(end, pe) - max(start, ps) + 1
        if ov > 0:
            total += score * ov / (pe - ps + 1)
    return total


def _load_dict(path: Path) -> set[str]:
    words = set()
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                words.add(_ALT.sub("", line.split(maxsplit=1)[0]))
    return words


def _is_common_word(word: str) -> bool:
    # Words that are complete on their own; stems like "sharp", "stab", "shoot" also get their
    # inflections ("sharply" is not useful, but "stabbing" and "shooting" are).
    return word not in {"stab", "shoot", "numb", "sudden", "electric", "sharp"}
