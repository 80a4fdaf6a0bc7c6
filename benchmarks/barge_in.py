"""Barge-in over the coach's own voice, offline, on real recordings: `python -m benchmarks.barge_in`.

Each trial: a stretch of the coach's real routine lines (espeak-ng, as the coach speaks them) goes
through the simulated echo path (benchmarks/audio.echo_path: delay, band limit, room tail, gain);
a real Speech Commands "stop" is said over it 12-13 s in (AEC3 converged: the case where today's
path loses most stops). The barge-in detector (voice_coach/audio/barge_in.py) runs on the raw
microphone with the playback as reference. At its onset the coach is ducked: playback stops
`speaker_ms` later, so the echo then dies out through the room tail. The word is then recognized
(Whisper tiny.en) from three signals:
- raw: the raw microphone, from 0.5 s before onset;
- aec: the same microphone through the coach's echo canceller, ducked coach;
- today: the coach's echo canceller with the coach NOT ducked (no barge-in), i.e. the path the
  coach has today: WebRTC AEC3 until libspeexdsp's linear filter has converged, then the linear
  output (voice_coach/audio/echo_cancel.py);
- aec3: WebRTC AEC3's own output in that same run, not ducked (the path before the linear filter).
The double-talk rule always sees AEC3's output (EchoCanceller.suppressed).

False ducks: the coach's routine through the echo path, alone and with real room audio (music,
room sounds, read talk) in the room, no one speaking to the coach.
Results go to barge_in.jsonl (one trial a line, as they arrive) and barge_in.md / .json.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from benchmarks import audio as A
from voice_coach.understand import STOPS

SR = A.SR
CHUNK = SR // 50
GAINS = (0, -6, -12)
DELAYS = (60, 250)
SPEAKER_MS = 40  # onset -> playback actually stops (a 20 ms output block plus the device)


def coach_track(content_dir: Path) -> np.ndarray:
    from benchmarks.run import coach_lines
    from voice_coach.audio.tts import EspeakCliSynthesizer

    synth = EspeakCliSynthesizer()
    gap = np.zeros(int(0.4 * SR), np.int16)
    return np.concatenate([p for line in coach_lines(content_dir) for p in (synth.synthesize(line), gap)])


def word_start(pcm: np.ndarray, floor_db: float = 25.0) -> int:
    x = np.asarray(pcm, dtype=np.float64)
    f = SR // 100
    n = len(x) // f
    p = np.mean(x[: n * f].reshape(n, f) ** 2, axis=1)
    loud = np.nonzero(p >= p.max() * 10 ** (-floor_db / 10))[0]
    return int(loud[0] * f)


RULES = {"residual+vad": None, "residual": 0.0}  # BargeIn(cleaned_on=...): the default, and without the second VAD


def detect(mic: np.ndarray, played: np.ndarray, cleaned: np.ndarray | None, stop_at: int | None = None, rule: str = "residual+vad"):
    """Run BargeIn chunk by chunk (with the AEC3 output as `cleaned`); its onsets (sample index)."""
    b = _barge(RULES[rule])
    onsets = []
    for i in range(0, len(mic), CHUNK):
        for ev in b.push(mic[i : i + CHUNK], played[i : i + CHUNK], None if cleaned is None else cleaned[i : i + CHUNK]):
            if ev.kind == "onset":
                onsets.append(ev.sample)
                if stop_at is not None and ev.sample >= stop_at:
                    return onsets
    return onsets


_vads: list = []


def _barge(cleaned_on):
    from voice_coach.audio.barge_in import BargeIn
    from voice_coach.audio.vad import SileroVad

    while len(_vads) < 2:
        _vads.append(SileroVad())
    for v in _vads:
        v.reset()
    return BargeIn(vad=_vads[0], cleaned_vad=_vads[1], cleaned_on=cleaned_on)


def aec(mic: np.ndarray, played: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The coach's echo canceller on a whole signal: (what the recognizer hears, AEC3's output)."""
    from voice_coach.audio.echo_cancel import EchoCanceller

    e = EchoCanceller()
    out, sup = [], []
    t0 = 1000.0
    for i in range(0, len(mic), CHUNK):
        t = t0 + (i + CHUNK) / SR
        e.process_reverse(played[i : i + CHUNK], played_at=t)
        out.append(e.process(mic[i : i + CHUNK], captured_at=t))
        sup.append(e.suppressed)
    e.close()
    return np.concatenate(out), np.concatenate(sup)


def trial(whisper, pb, coach: np.ndarray, clip: np.ndarray, gain: float, delay: float, seed: int) -> dict:
    from benchmarks.scoring import outcome

    rng = np.random.default_rng(seed)
    # 12-13 s of coach first: AEC3 converges in the first seconds of a session and then runs on;
    # false ducks are counted over the last 6 s before the word only.
    lead = int((12.0 + rng.uniform(0, 1.0)) * SR)
    total = lead + len(clip) + int(2.0 * SR)
    start = int(rng.integers(0, len(coach) - total))
    played = coach[start : start + total].astype(np.int16)
    person = np.zeros(total)
    person[lead : lead + len(clip)] = clip
    w0, w1 = lead + word_start(clip), lead + A.word_end(clip)
    floor = A.floor_noise(total, seed, db=-60)

    def mic_of(p):
        return np.clip(A.echo_path(p, gain_db=gain, delay_ms=delay, seed=seed) + person + floor, -32768, 32767).astype(np.int16)

    mic = mic_of(played)
    today, suppressed = aec(mic, played)
    all_onsets = detect(mic, played, suppressed)
    early = [o for o in all_onsets if w0 - int(6.1 * SR) <= o < w0 - int(0.1 * SR)]
    # A false duck before the word would have silenced the coach already; count it, and go on
    # as the runtime would (the coach resumes): the word's own onset is what is scored.
    onsets = [o for o in all_onsets if w0 - int(0.1 * SR) <= o <= w1 + int(0.3 * SR)]
    r = {"gain": gain, "delay": delay, "seed": seed, "early_ducks": len(early), "word_s": (w1 - w0) / SR}
    alt = [o for o in detect(mic, played, suppressed, rule="residual") if w0 - int(6.1 * SR) <= o <= w1 + int(0.3 * SR)]
    r["residual_only_detected"] = any(o >= w0 - int(0.1 * SR) for o in alt)
    r["residual_only_early"] = sum(o < w0 - int(0.1 * SR) for o in alt)
    def heard(x, a, b):
        return outcome(pb, [[whisper.decode(x[max(0, a) : b])[0], True, None, 0.0, True]])
    end = w1 + int(0.6 * SR)
    o = heard(today, w0 - int(0.5 * SR), end)
    r["today_stop"] = o.urgent in STOPS
    r["today_text"] = o.final_text
    o3 = heard(suppressed, w0 - int(0.5 * SR), end)
    r["aec3_stop"] = o3.urgent in STOPS
    if not onsets:
        r.update(detected=False, raw_stop=False, aec_stop=False)
        return r
    on = onsets[0]
    cut = played.copy()
    cut[on + int(SPEAKER_MS * SR / 1000) :] = 0
    mic2 = mic_of(cut)
    r.update(detected=True, latency_ms=(on - w0) / SR * 1000)
    o_raw = heard(mic2, on - int(0.5 * SR), end)
    o_aec = heard(aec(mic2, cut)[0], on - int(0.5 * SR), end)
    r.update(raw_stop=o_raw.urgent in STOPS, raw_text=o_raw.final_text, aec_stop=o_aec.urgent in STOPS, aec_text=o_aec.final_text)
    return r


def false_ducks(coach: np.ndarray, background: np.ndarray | None, gain: float, delay: float, seed: int, bg_db: float = 0.0) -> dict:
    n = len(coach) if background is None else min(len(coach), len(background))
    n = n // CHUNK * CHUNK  # whole 20 ms chunks: the canceller gives back no partial one, and detect() pairs them
    played = coach[:n]
    mic = A.echo_path(played, gain_db=gain, delay_ms=delay, seed=seed) + A.floor_noise(n, seed, db=-60)
    if background is not None:
        mic = mic + background[:n].astype(np.float64) * 10 ** (bg_db / 20)
    mic = np.clip(mic, -32768, 32767).astype(np.int16)
    cleaned = aec(mic, played)[1]
    c0 = time.process_time()
    onsets = detect(mic, played, cleaned)
    cpu = time.process_time() - c0
    return {"ducks": len(onsets), "ducks_residual_only": len(detect(mic, played, cleaned, rule="residual")), "seconds": n / SR, "cpu": cpu}


def run(out: Path, shared: Path, content_dir: Path, n_stops: int, minutes: float = 5.0) -> None:
    """n_stops recordings at every echo gain and delay; false ducks over `minutes` of coach speech
    per echo setting and per kind of room audio."""
    from benchmarks.engines import WhisperClip
    from voice_coach.routine import load_content

    pb = load_content(content_dir).phrases
    whisper = WhisperClip("tiny", 1000, pb)
    coach = coach_track(content_dir)
    stops = sorted((shared / "speech" / "commands" / "stop").glob("*.wav"))[:n_stops]
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w") as f:
        # false ducks first: coach alone at each echo setting, then with room audio in the room
        n = int(minutes * 60 * SR)
        for gain in GAINS:
            for delay in DELAYS:
                f.write(json.dumps({"kind": "ducks", "background": "none", "gain": gain, "delay": delay, **false_ducks(np.tile(coach, 2)[:n], None, gain, delay, 7)}) + "\n")
                f.flush()
        for name, files in (("music", sorted((shared / "noise" / "music").glob("*.wav"))), ("room", sorted((shared / "noise" / "room").glob("*.wav"))),
                            ("talk", sorted((shared / "speech" / "talk").glob("*.wav")))):
            bg = np.concatenate([A.read_wav(p)[: int(n / len(files)) + SR] for p in files])[:n]  # a slice of every file
            reps = int(np.ceil(len(bg) / len(coach)))
            long_coach = np.tile(coach, reps)[: len(bg)]
            f.write(json.dumps({"kind": "ducks", "background": name, "gain": -6, "delay": 60, **false_ducks(long_coach, bg, -6, 60, 8)}) + "\n")
            f.flush()
        for i, path in enumerate(stops):
            clip = A.read_wav(path).astype(np.float64)
            for gain in GAINS:
                for delay in DELAYS:
                    r = trial(whisper, pb, coach, clip, gain, delay, seed=1000 + i)
                    f.write(json.dumps({"kind": "stop", "path": str(path), **r}) + "\n")
                    f.flush()


def report(out_dir: Path, date: str | None = None) -> dict:
    """date: when the trials were run (None: the date the earlier barge_in.json gives, if any)."""
    from benchmarks.scoring import rate

    rows = [json.loads(line) for line in (out_dir / "barge_in.jsonl").read_text().splitlines() if line.strip()]
    old = out_dir / "barge_in.json"
    date = date or (json.loads(old.read_text()).get("date") if old.is_file() else None)
    stops = [r for r in rows if r["kind"] == "stop"]
    ducks = [r for r in rows if r["kind"] == "ducks"]
    res: dict = {"date": date, "stops": {}, "ducks": []}
    lines = ["# Barge-in over the coach's own voice (offline, real stops)", "",
             "Written by `python -m benchmarks.barge_in` (benchmarks/barge_in.py; method in its docstring). Real Speech Commands",
             "stops said 12-13 s into the coach's real routine lines heard through the simulated echo path; Silero VAD v6 plus the",
             "double-talk rule (AEC3's output above its own floor, and voice there too) ducks the coach; the word is then recognized by Whisper tiny.en (10 s window).",
             "'today' = the coach's echo canceller with the coach not ducked (the current path: AEC3 until libspeexdsp's linear",
             "filter converges, then the linear output); 'AEC3 alone' = AEC3's output in the same run (the path before).", "",
             "| echo gain | delay | trials | onset detected (without the second VAD) | onset latency median / p95 (from word start) | stop heard: raw mic after duck | stop heard: canceller after duck | stop heard: today (no duck) | stop heard: AEC3 alone (no duck) | false ducks before the word |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for gain in GAINS:
        for delay in DELAYS:
            g = [r for r in stops if r["gain"] == gain and r["delay"] == delay]
            if not g:
                continue
            lat = [r["latency_ms"] for r in g if r.get("detected")]
            s = {"detected": rate(sum(r["detected"] for r in g), len(g)), "residual_only": rate(sum(r["residual_only_detected"] for r in g), len(g)), "raw": rate(sum(r["raw_stop"] for r in g), len(g)),
                 "aec": rate(sum(r["aec_stop"] for r in g), len(g)), "today": rate(sum(r["today_stop"] for r in g), len(g)),
                 "aec3": rate(sum(r.get("aec3_stop", False) for r in g), len(g)),
                 "early": sum(r["early_ducks"] for r in g), "lat_median": float(np.median(lat)) if lat else None,
                 "lat_p95": float(np.percentile(lat, 95)) if lat else None}
            res["stops"][f"{gain}dB/{delay}ms"] = s
            def p(x):
                return f"{100 * x['p']:.1f}% ({x['k']}/{x['n']})"
            lm = "—" if not lat else f"{s['lat_median']:.0f} / {s['lat_p95']:.0f} ms"
            lines.append(f"| {gain} dB | {delay} ms | {len(g)} | {p(s['detected'])} ({p(s['residual_only'])}) | {lm} | {p(s['raw'])} | {p(s['aec'])} | {p(s['today'])} | {p(s['aec3'])} | {s['early']} |")
    if stops:
        def allr(k):
            return rate(sum(r[k] for r in stops), len(stops))
        res["all"] = {k: allr(k) for k in ("detected", "raw_stop", "aec_stop", "today_stop")}
        res["all"]["aec3_stop"] = rate(sum(r.get("aec3_stop", False) for r in stops), len(stops))
        lat = [r["latency_ms"] for r in stops if r.get("detected")]
        res["all"]["onset_ms"] = {"n": len(lat), "trials": len(stops), "median": float(np.median(lat)) if lat else None,
                                  "p95": float(np.percentile(lat, 95)) if lat else None}
        res["all"]["speaker_ms"] = SPEAKER_MS  # onset -> playback stopped (modelled)
        a = res["all"]
        lines.append(f"| all | | {len(stops)} | {100 * a['detected']['p']:.1f}% | | {100 * a['raw_stop']['p']:.1f}% | {100 * a['aec_stop']['p']:.1f}% | {100 * a['today_stop']['p']:.1f}% | {100 * a['aec3_stop']['p']:.1f}% | |")
    lines += ["", "Onset latency is measured from the word's first loud 10 ms frame to the end of the 32 ms window that decided",
              f"onset; the coach falls silent {SPEAKER_MS} ms later (speaker block and device, modelled) plus the real device's own latency.", "",
              "## False ducks (coach speaking, no one talking to it)", "", "| room audio | echo gain | delay | minutes | ducks | per hour | without the second VAD: ducks, per hour | VAD+gate CPU s per audio s |", "|---|---|---|---|---|---|---|---|"]
    for r in ducks:
        per_h = r["ducks"] / (r["seconds"] / 3600)
        res["ducks"].append({**r, "per_hour": per_h})
        alt = r.get("ducks_residual_only")
        alt_s = "—" if alt is None else f"{alt}, {alt / (r['seconds'] / 3600):.1f}"
        lines.append(f"| {r['background']} | {r['gain']} dB | {r['delay']} ms | {r['seconds'] / 60:.1f} | {r['ducks']} | {per_h:.1f} | {alt_s} | {r['cpu'] / r['seconds']:.4f} |")
    lines += ["", "'talk' is a real person reading aloud in the room: a duck there is a voice the coach did hear, which then",
              "resumes its line (a false interruption), not an echo leak."]
    (out_dir / "barge_in.md").write_text("\n".join(lines) + "\n")
    (out_dir / "barge_in.json").write_text(json.dumps(res, indent=1) + "\n")
    return res


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.barge_in")
    p.add_argument("--out", type=Path, default=Path("docs/benchmarks"))
    p.add_argument("--stops", type=int, default=100)
    p.add_argument("--minutes", type=float, default=5.0)
    p.add_argument("--report-only", action="store_true")
    p.add_argument("--content", type=Path, default=Path(__file__).resolve().parent.parent / "content")
    a = p.parse_args(argv)
    if not a.report_only:
        run(a.out / "barge_in.jsonl", A.shared_dir(), a.content, a.stops, a.minutes)
    report(a.out, None if a.report_only else time.strftime("%Y-%m-%d %H:%M"))
    print(f"bench barge-in: wrote {a.out / 'barge_in.md'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
