"""Stop latency through the real audio path, peak memory of a listening session, start-up time.

Stop latency: a child process runs the live coach's Listener, Runtime (no session) and Voice with the real
SpeakerSink, MicSource (PortAudio on the rig's ALSA file devices), EchoCanceller and the
recognizer. The coach speaks a long line; over it, the rig's microphone plays a real recorded
"stop" (Speech Commands) on top of the speaker's echo. Latency is measured in the parent on one
monotonic clock, from the end of the spoken word (last 10 ms frame within 25 dB of the clip's
loudest) as written into the mic FIFO, to the arrival at the speaker FIFO's reader of the first
20 ms block after the last audible one. The child logs when the urgent transcript arrived and
the capture time of the chunk it came from, so the total splits into
  mic + recognizer (word end -> capture of the chunk that produced the urgent partial),
  listener lag (capture -> the dispatcher's cancel of the voice: queueing and compute; with Whisper
               this is the decode of the utterance, which starts once the endpointer's ~0.3 s
               window of silence has closed it or a 1 s partial is due),
  speaker path (the runtime's cancel -> silence at the reader: PortAudio buffer + 4 KB FIFO + pacing).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.audio import SR, read_wav, word_end
from benchmarks.rig import Child, Rig

COACH_LINE = (
    "Lean in slowly with your body weight, keep your back straight and your shoulders relaxed, "
    "and breathe out as you press into the muscle, then hold the pressure steady and even while I count."
)

CHILD = r'''
import json, resource, sys, threading, time
repo, content_dir, engine, aec_mode, line = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
sys.path.insert(0, repo)
t_start = time.monotonic()
def emit(**kw):
    print(json.dumps(kw), flush=True)
from voice_coach.routine import load_content
from voice_coach.recognizers import make_recognizer
from voice_coach.audio.echo_cancel import EchoCanceller
from voice_coach.audio.speaker import SpeakerSink
from voice_coach.audio.mic import MicSource
from voice_coach.audio.tts import EspeakCliSynthesizer
from voice_coach.listener import Listener
from voice_coach.runtime import Runtime, Speak
from voice_coach.understand import Understanding
from voice_coach.voice import Voice
content = load_content(content_dir)
rec = make_recognizer(None if engine == "auto" else engine, None, content.phrases)
# aec_mode: "linear" (the default canceller: AEC3 until the linear filter converges), "aec3" (AEC3 alone), "0" (none)
echo = EchoCanceller(linear=aec_mode == "linear") if aec_mode != "0" else None
sink = SpeakerSink("vc_spk", on_played=echo.process_reverse if echo else None)
src = MicSource("vc_mic")
synth = EspeakCliSynthesizer(rate=170)
pcm = synth.synthesize(line)
state = {"hear": None}
class V(Voice):
    def cancel(self):
        t = time.monotonic()
        super().cancel()
        emit(ev="cancel", t=t, heard=state["hear"])
voice = V(synth, sink, on_error=lambda e: emit(ev="voice_error", reason=repr(e)))
# The coach's runtime with no session: the listener posts to its lanes, its dispatcher drives the voice.
rt = Runtime(None, voice, Understanding(content.phrases))
class L(Listener):
    def hear(self, tr):
        state["hear"] = {"t": time.monotonic(), "text": tr.text, "final": tr.final, "captured": getattr(self.source, "last_capture_time", None)}
        if tr.text.strip():
            emit(ev="heard", t=state["hear"]["t"], text=tr.text, final=tr.final, converged=getattr(echo, "converged", None))
        super().hear(tr)
def post(e):  # faults matter too: a listener that faults hears nothing, and the bench must say so
    if hasattr(e, "source") and hasattr(e, "code"):
        emit(ev="fault", reason=f"{e.source} {e.code}: {e.detail}")
    rt.post(e)
def dispatch():
    while True:
        rt.step(0.02)
threading.Thread(target=dispatch, daemon=True).start()
lst = L(src, rec, post=post, echo=echo, speaking=lambda: voice.speaking)  # as live.py builds it
lst.start()
emit(ev="ready", startup=time.monotonic() - t_start, engine=rec.name)
c0 = time.process_time()
for cmd in sys.stdin:
    cmd = cmd.strip()
    if cmd == "say":
        rt.post(Speak(line, rt.generation))
    elif cmd == "cancel":
        voice.cancel()
    elif cmd == "quit":
        break
ru = resource.getrusage(resource.RUSAGE_SELF)
emit(ev="done", maxrss_mb=ru.ru_maxrss / 1024, cpu=time.process_time() - c0, mic_dropped=src.dropped, overflows=src.overflows,
     underflows=sink.underflows, ref_dropped=getattr(echo, "dropped_reference_frames", 0),
     linear=getattr(echo, "has_linear", False), converged=getattr(echo, "converged", False), resyncs=getattr(echo, "resyncs", 0))
import os; sys.stdout.flush(); os._exit(0)
'''

LOUD = 300  # |sample| above this counts as audible coach speech


def _last_loud_end(pcm: np.ndarray, marks: list[tuple[float, int]], quiet_after: float = 0.6) -> float | None:
    """Arrival time of the first block after the last audible sample that is followed by quiet_after s of quiet."""
    loud = np.nonzero(np.abs(pcm.astype(np.int32)) > LOUD)[0]
    if len(loud) == 0:
        return None
    last = loud[-1]
    if len(pcm) - last < quiet_after * SR:
        return None
    byte = 2 * (last + 1)
    return next((t for t, b in marks if b >= byte), None)


def measure_stop_latency(repo: Path, content_dir: Path, shared: Path, trials: int, engine: str = "whisper", aec: bool | str = True,
                         seed: int = 3, log=print, echo_gain_db: float = -6, echo_delay_ms: int = 60) -> dict:
    """aec: True (the default canceller), "aec3" (WebRTC AEC3 alone, the earlier default) or False."""
    aec_mode = "linear" if aec is True else ("0" if not aec else str(aec))
    clips = sorted((shared / "speech" / "commands" / "stop").glob("*.wav"))
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(clips))
    with tempfile.TemporaryDirectory(prefix="vc_bench_rig_") as tmp:
        rig = Rig(Path(tmp))
        rig.start(echo_gain_db=echo_gain_db, echo_delay_ms=echo_delay_ms)
        child = Child(rig, CHILD, [str(repo), str(content_dir), engine, aec_mode, COACH_LINE])
        rows = []
        faults: list[str] = []
        try:
            msg = child.get(timeout=90)
            if msg is None or msg.get("ev") != "ready":
                raise RuntimeError(f"child not ready: {msg}")
            startup = msg["startup"]
            for k in range(trials):
                path = clips[order[k % len(clips)]]
                clip = read_wav(path)
                we = word_end(clip)
                faults += _faults(_drain_events(child))
                child.send("say")
                # wait for the coach to be audibly speaking, then a random while more
                t_say = time.monotonic()
                while time.monotonic() - t_say < 5:
                    pcm, _ = rig.output_since(t_say)
                    if np.any(np.abs(pcm.astype(np.int32)) > LOUD):
                        break
                    time.sleep(0.02)
                time.sleep(0.8 + rng.uniform(0, 1.5))
                n_said = len(rig.said)
                rig.say(np.concatenate([clip, np.zeros(SR // 2, np.int16)]))
                while len(rig.said) == n_said:
                    time.sleep(0.005)
                t_end = rig.said[-1] + we / SR
                cancel = None
                heard = []
                deadline = t_end + 3.0
                while time.monotonic() < deadline:
                    m = child.get(timeout=0.05)
                    faults += _faults([m])
                    if m and m.get("ev") == "heard" and m["t"] > rig.said[-1] - 0.05:
                        heard.append(m)
                    if m and m.get("ev") == "cancel" and cancel is None and m["t"] > rig.said[-1] - 0.05:
                        cancel = m
                time.sleep(0.2)
                pcm, marks = rig.output_since(t_end - 0.5)
                silent_at = _last_loud_end(pcm, marks) if cancel is not None else None
                row = {"clip": path.name, "detected": cancel is not None}
                if cancel is not None and silent_at is not None:
                    h = cancel.get("heard") or {}
                    row.update(
                        latency=silent_at - t_end,
                        to_capture=(h.get("captured") or h.get("t", cancel["t"])) - t_end,
                        listener_lag=h.get("t", cancel["t"]) - (h.get("captured") or h.get("t", cancel["t"])),
                        speaker_path=silent_at - cancel["t"],
                        text=h.get("text"), final=h.get("final"),
                    )
                elif cancel is not None:
                    row["detected_but_still_loud"] = True
                if cancel is None:
                    # What the listener made of the missed stop, and whether the canceller had converged.
                    row["heard"] = [[h["text"], h["final"]] for h in heard]
                    row["converged"] = heard[-1].get("converged") if heard else None
                rows.append(row)
                if cancel is None:
                    child.send("cancel")
                time.sleep(0.5)
                if (k + 1) % 10 == 0:
                    log(f"  stop latency: {k + 1}/{trials} trials")
            child.send("quit")
            done = None
            t = time.monotonic()
            while time.monotonic() - t < 10:
                m = child.get(timeout=1)
                if m and m.get("ev") == "done":
                    done = m
                    break
        finally:
            child.kill()
            rig.close()
    lat = [r["latency"] for r in rows if "latency" in r]
    out = {
        "trials": len(rows),
        "echo_canceller": aec_mode, "echo_gain_db": echo_gain_db, "echo_delay_ms": echo_delay_ms,
        "detected": sum(r["detected"] for r in rows),
        "startup_child_s": startup,
        "session": done,
        "rows": rows,
        "rig_pipe_ms": 4096 / 2 / SR * 1000,
        "listener_faults": len(faults),
        "first_faults": sorted(set(faults))[:3],
    }
    if lat:
        for key in ("latency", "to_capture", "listener_lag", "speaker_path"):
            v = np.array([r[key] for r in rows if key in r])
            out[key] = {"median": float(np.median(v)), "p95": float(np.percentile(v, 95)), "min": float(v.min()), "max": float(v.max())}
    return out


def _drain_events(child: Child) -> list[dict]:
    out = []
    while (m := child.get(timeout=0.01)) is not None:
        out.append(m)
    return out


def _faults(messages) -> list[str]:
    return [m["reason"] for m in messages if m and m.get("ev") == "fault"]


def measure_startup(repo: Path, runs: int = 3, log=print, engine: str | None = None) -> dict:
    """`voice-coach run [--engine E]` on the rig's devices: process start to the first audible sample at the speaker."""
    times = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory(prefix="vc_bench_start_") as tmp:
            rig = Rig(Path(tmp))
            rig.start()
            t0 = time.monotonic()
            p = subprocess.Popen(
                [sys.executable, "-m", "voice_coach", "run", "--input", "vc_mic", "--output", "vc_spk"] + (["--engine", engine] if engine else []),
                cwd=str(repo), env=rig.env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
            )
            first = None
            try:
                while time.monotonic() - t0 < 60 and p.poll() is None:
                    pcm, marks = rig.output_since(t0)
                    loud = np.nonzero(np.abs(pcm.astype(np.int32)) > LOUD)[0]
                    if len(loud):
                        byte = 2 * (loud[0] + 1)
                        first = next(t for t, b in marks if b >= byte) - t0
                        break
                    time.sleep(0.02)
            finally:
                p.kill()
                p.wait(timeout=5)
                rig.close()
            times.append(first)
            log(f"  start-up to first spoken word: {first}")
    ok = [t for t in times if t is not None]
    return {"runs": times, "median": float(np.median(ok)) if ok else None}


if __name__ == "__main__":  # python -m benchmarks.latency N [ENGINE [linear|aec3|0 [GAIN_DB [DELAY_MS]]]]: also docs/benchmarks/stop_latency.json
    repo = Path(__file__).resolve().parents[1]
    from benchmarks.audio import shared_dir

    a = sys.argv[1:] + [None] * 4
    engine = a[1] or "whisper"
    mode = {"linear": True, "aec3": "aec3", "0": False}[a[2] or "linear"]
    res = measure_stop_latency(repo, repo / "content", shared_dir(), int(a[0]), engine=engine, aec=mode,
                               echo_gain_db=float(a[3] or -6), echo_delay_ms=int(a[4] or 60))
    summary = {k: v for k, v in res.items() if k != "rows"}
    summary.update(date=time.strftime("%Y-%m-%d %H:%M"), command=f"python -m benchmarks.latency {' '.join(sys.argv[1:])}".strip(),
                   engine=engine, aec=a[2] or "linear", echo_gain_db=float(a[3] or -6), echo_delay_ms=int(a[4] or 60))
    (repo / "docs" / "benchmarks" / "stop_latency.json").write_text(json.dumps(summary, indent=1) + "\n")  # read by benchmarks/targets.py
    print(json.dumps(summary, indent=1))
