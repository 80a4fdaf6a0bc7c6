"""Running audio through the project's recognizer (and echo canceller), in worker processes.

A worker builds its recognizer once (`variant` names how) and then takes tasks:
- "clip": one recording or synthetic phrase, padded, optionally mixed with noise at an SNR,
  streamed in 20 ms chunks through `accept` (as the live listener does), then `flush`;
- "stream": a long signal (read sentences, music, the coach's own speech through an echo path),
  optionally cleaned by the EchoCanceller with the coach's audio as reference.
The engine is the task's "engine" (default "whisper", the coach's default; "pocketsphinx" the fallback).
Each returns every transcript (partial and final) with its audio time, and the CPU time spent.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from benchmarks.audio import (
    FRAME,
    SR,
    espeak,
    floor_noise,
    noise_segment,
    pad,
    read_wav,
)

LEAD_S = 0.3  # silence (noise) before the word: the endpointer needs some to start an utterance
TAIL_S = 0.5  # after it: longer than the endpointer's 0.3 s window, so the utterance ends on its own

_state: dict = {}
_understand: dict = {}


# --- recognizer variants (levers) -----------------------------------------------------------


def build_recognizer(variant: str, phrasebook, engine: str = "whisper"):
    """The recognizer of `engine` that a variant names. 'default' is exactly what the coach uses.

    engine "whisper" (the coach's default) is built as make_recognizer builds it but with one decoder thread,
    because the bench runs two worker processes on two cores; "pocketsphinx" is the light fallback.
    The levers below are PocketSphinx prototypes; Whisper takes only 'default', 'ns' and 'win:S'.

    Other variants are prototypes of proposed recognizer changes, applied from outside and
    combined with '+': `thr:S,W` rejection thresholds (stop words, other words); `mindur:N` a
    grammar word shorter than N frames (10 ms) is rejected like a low-ratio word; `drop:a,b` the
    phrases a and b are left out of the grammar (the phrase book still parses them);
    `nobestpath` the grammar decoder without lattice bestpath rescoring, so finals come from
    the same search as partials. `ns` (noise suppression) is a front end, see _front_end.
    """
    from voice_coach.recognizers import make_recognizer

    vocabulary = phrasebook.vocabulary()
    if engine == "whisper":
        parts = dict(part.partition(":")[::2] for part in variant.split("+"))
        if set(parts) - {"default", "ns", "win"}:
            raise ValueError(f"variant {variant!r} is a PocketSphinx lever; whisper takes only 'default', 'ns' and 'win:S'")
        from voice_coach.recognizers.closed_set import answer_sets
        from voice_coach.recognizers.whisper_engine import WhisperRecognizer

        # As make_recognizer builds it (closed-set answers included), on one thread. `win:S`: one
        # encoder window of S seconds for everything, no second listen (benchmarks/windows.py).
        windows = {"window_s": float(parts["win"]), "word_window_s": None} if "win" in parts else {}
        rec = WhisperRecognizer(threads=1, answers=answer_sets(phrasebook), **windows)
        rec.set_vocabulary(vocabulary)
        return rec
    rec = make_recognizer(engine, None, phrasebook)
    for part in variant.split("+"):
        kind, _, arg = part.partition(":")
        if kind in ("default", "ns", "confirm"):
            continue
        if kind == "thr":
            rec.stop_threshold, rec.word_threshold = (float(v) for v in arg.split(","))
        elif kind == "drop":
            drop = set(arg.split(","))
            vocabulary = [p for p in vocabulary if p not in drop]
            rec.set_vocabulary(vocabulary)
        elif kind == "mindur":
            _min_duration(rec, int(arg))
        elif kind == "nobestpath":
            import pocketsphinx

            model = Path(pocketsphinx.get_model_path()) / "en-us"
            rec._grammar = pocketsphinx.Decoder(
                hmm=str(model / "en-us"), dict=str(model / "cmudict-en-us.dict"), lm=None, loglevel="FATAL", bestpath=False
            )
            rec.set_vocabulary(vocabulary)
        else:
            raise ValueError(f"unknown variant {variant!r}")
    return rec


def _min_duration(rec, frames: int) -> None:
    import dataclasses
    import math

    gated = rec._gated_text

    def gate(words):
        return gated([w if w.end - w.start + 1 >= frames else dataclasses.replace(w, ratio=-math.inf) for w in words])

    rec._gated_text = gate


def _worker_state(variant: str, content_dir: str, engine: str = "whisper"):
    key = (engine, variant, content_dir)
    if key not in _state:
        from voice_coach.routine import load_content

        content = load_content(Path(content_dir))
        from voice_coach.understand import Understanding

        _state[key] = build_recognizer(variant, content.phrases, engine)
        _understand[key] = Understanding(content.phrases)
    return _state[key]


_noise_cache: dict[str, np.ndarray] = {}
_synth_cache: dict[tuple, np.ndarray] = {}


def _noise(path: str) -> np.ndarray:
    if path not in _noise_cache:
        _noise_cache[path] = read_wav(path).astype(np.float64)
    return _noise_cache[path]


def load_item(item: dict) -> np.ndarray:
    if "path" in item:
        return read_wav(item["path"])
    key = (item["text"], item["voice"], item["wpm"])
    if key not in _synth_cache:
        _synth_cache[key] = espeak(item["text"], item["voice"], item["wpm"])
    return _synth_cache[key]


ASKED_STEPS = ("rating", "yes_no")


def stream(rec, pcm: np.ndarray, echo=None, ref: np.ndarray | None = None, understand=None, asked: bool = False,
           speaking: np.ndarray | None = None) -> tuple[list, float]:
    """Feed pcm in 20 ms chunks (through `echo` first, with `ref` as what the speaker played).
    `speaking`: per sample, whether the coach is saying a line; the recognizer is told before each
    chunk (`coach_speaking`), as the Listener tells it live.

    Returns ([text, final, confidence, audio time, sure], CPU seconds of AEC + recognizer). With
    `asked`, each final also carries, as a sixth element, what the coach understands when it is
    the answer to a question: {step: [text, sure]} for the rating and yes/no steps
    (Understanding.heard: decoded again with the question as context, where the engine can),
    computed outside the timed CPU.
    """
    out = []
    cpu = 0.0
    t0 = 1000.0
    tell = getattr(rec, "coach_speaking", None) if speaking is not None else None
    for i in range(0, len(pcm), FRAME):
        chunk = pcm[i : i + FRAME]
        c0 = time.process_time()
        if tell is not None:
            tell(bool(speaking[i : i + FRAME].any()))
        if echo is not None:
            if ref is not None:
                echo.process_reverse(ref[i : i + FRAME], played_at=t0 + (i + len(chunk)) / SR)
            chunk = echo.process(chunk, captured_at=t0 + (i + len(chunk)) / SR)
        trs = [(tr, _sure(understand, tr)) for tr in (rec.accept(chunk) if len(chunk) else [])]
        cpu += time.process_time() - c0
        for tr, sure in trs:
            out.append([tr.text, tr.final, tr.confidence, (i + len(chunk)) / SR, sure, *_asked(understand, tr, asked)])
    c0 = time.process_time()
    trs = [(tr, _sure(understand, tr)) for tr in rec.flush()]
    cpu += time.process_time() - c0
    for tr, sure in trs:
        out.append([tr.text, tr.final, tr.confidence, len(pcm) / SR, sure, *_asked(understand, tr, asked)])
    if tell is not None:
        tell(False)
    rec.reset()
    return out, cpu


def _asked(understand, tr, asked: bool) -> list:
    if not asked or understand is None or not tr.final or not tr.text.strip():
        return []
    return [{step: [h.text, h.sure] for step in ASKED_STEPS for h in [understand.heard(tr, step)]}]


def _sure(understand, tr) -> bool:
    """Judged as the coach judges it (voice_coach/understand.py); inside the timed CPU as in the coach."""
    return understand.sure(tr) if understand is not None else True


def run_task(task: dict) -> list[dict]:
    """Worker entry point: a batch of items of one kind and variant."""
    engine = task.get("engine", "whisper")
    rec = _worker_state(task["variant"], task["content_dir"], engine)
    understand = _understand[(engine, task["variant"], task["content_dir"])]
    results = []
    for item in task["items"]:
        if task["kind"] == "clip":
            pcm = clip_audio(item)
            echo = _front_end(task["variant"])
            trs, cpu = stream(rec, pcm, echo=echo, understand=understand, asked=True)
        else:
            pcm, ref, speaking = _stream_audio(item)
            echo = _front_end(task["variant"], aec=item.get("aec", False) or item["source"] in ("file", "silence"))
            trs, cpu = stream(rec, pcm, echo=echo, ref=ref if item.get("aec") else None, understand=understand, speaking=speaking)
            item = {**item, "aec": echo is not None}
        results.append({**{k: v for k, v in item.items() if k not in ("pcm",)}, "variant": task["variant"], "engine": engine,
                        "transcripts": trs, "cpu": cpu, "audio_s": len(pcm) / SR})
    return results


def clip_audio(item: dict) -> np.ndarray:
    """The microphone signal of a clip item: padded, a noise floor, and noise at the item's SNR."""
    speech = pad(load_item(item), LEAD_S, TAIL_S)
    seed = item["seed"]
    x = speech.astype(np.float64) + floor_noise(len(speech), seed)
    if item.get("snr") is None:
        return np.clip(x, -32768, 32767).astype(np.int16)
    rng = np.random.default_rng(seed)
    n = noise_segment(_noise(item["noise"]), len(speech), rng)
    return _mix_active(speech, x, n, item["snr"])


def _mix_active(speech: np.ndarray, x: np.ndarray, noise: np.ndarray, snr: float) -> np.ndarray:
    """x (speech + floor) plus noise at `snr` relative to the speech's active power."""
    from benchmarks.audio import scale_noise

    return np.clip(x + scale_noise(speech, noise, snr), -32768, 32767).astype(np.int16)


def _front_end(variant: str, aec: bool = False):
    """The EchoCanceller in front of the recognizer: when the coach speaks (aec) or as a lever
    (variant 'ns': its WebRTC noise suppression on, for noisy-room input)."""
    if not aec and not variant.startswith("ns"):
        return None
    from voice_coach.audio.echo_cancel import EchoCanceller

    return EchoCanceller(noise_suppression=variant.startswith("ns"))


_stream_store: dict[str, tuple] = {}


def _stream_audio(item: dict) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """The mic signal of a stream item, the speaker reference and, per sample, whether the coach
    is saying a line (coach speech only)."""
    from benchmarks.audio import echo_path

    if item["source"] == "silence":  # a quiet room: only the -60 dBFS floor
        n = int(item["seconds"] * SR)
        return np.clip(floor_noise(n, item["seed"], db=-60), -32768, 32767).astype(np.int16), None, None
    if item["source"] == "file":
        x = read_wav(item["path"]).astype(np.float64)
        if item.get("seconds"):  # only the file's first seconds (a quick run)
            x = x[: int(item["seconds"] * SR)]
        if item.get("gain_db"):
            x = x * 10 ** (item["gain_db"] / 20)
        x = x + floor_noise(len(x), item["seed"])
        return np.clip(x, -32768, 32767).astype(np.int16), None, None
    # coach: the lines played one after another, heard through the echo path, plus room noise
    gap = np.zeros(int(0.4 * SR), np.int16)
    lines = [_coach_line(line) for line in item["lines"]]
    played = np.concatenate([p for x in lines for p in (x, gap)])
    speaking = np.concatenate([p for x in lines for p in (np.ones(len(x), bool), np.zeros(len(gap), bool))])
    mic = echo_path(played, gain_db=item.get("echo_gain_db", -6), seed=item["seed"])
    mic = mic + floor_noise(len(mic), item["seed"], db=-60)
    speaking = np.pad(speaking, (0, max(0, len(mic) - len(speaking))))[: len(mic)]  # the echo's tail is not the coach speaking
    return np.clip(mic, -32768, 32767).astype(np.int16), played, speaking


def _coach_line(text: str) -> np.ndarray:
    from voice_coach.audio.tts import EspeakCliSynthesizer

    if "synth" not in _stream_store:
        _stream_store["synth"] = EspeakCliSynthesizer()
    return _stream_store["synth"].synthesize(text)
