"""Summaries of the raw results, the Markdown table, results.json and the plots."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import numpy as np

from benchmarks import scoring as S

TRUTH_VALUE = {w: i for i, w in enumerate(["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"])}
CONFIRM_THRESHOLDS = [0.3, 0.5, 0.7]


STREAM_KIND = {"silence": "silence (quiet room)", "coach_aec": "the coach's own speech, echo with AEC",
               "coach_noaec": "the coach's own speech, echo without AEC", "sentences": "speech (read sentences, AEC on)",
               "music": "music (AEC on)"}
ENGINE_TITLE = {"whisper": "Whisper tiny.en", "pocketsphinx": "PocketSphinx", "vosk": "Vosk"}


def _cond(snr) -> str:
    return "clean" if snr is None else f"{snr} dB"


def _cond_key(c: str) -> tuple:
    return (0, 0) if c == "clean" else (1, -int(c.split()[0]))


def summarize(records: list[dict], pb, levers: list[str]) -> dict:
    clip_stats: dict = defaultdict(lambda: defaultdict(list))  # variant -> (set, cond) -> [flags]
    rating_rows: dict = defaultdict(lambda: defaultdict(list))  # variant -> cond -> [(ok, wrong, conf)]
    red: dict = defaultdict(list)
    red_phrase: dict = defaultdict(list)
    streams: dict = defaultdict(lambda: {"audio_s": 0.0, "halts": 0, "stops": 0, "ratings": 0, "yesno": 0, "examples": []})
    rtf: dict = defaultdict(list)
    confusions: dict = defaultdict(lambda: defaultdict(int))
    policy: dict = defaultdict(lambda: defaultdict(list))  # policy -> (set, cond) -> [(urgent kind, audio time)]
    policy_streams: dict = defaultdict(lambda: defaultdict(int))
    for r in records:
        v = r["variant"]
        if "lines" in r or r.get("source") in ("file", "coach", "silence"):
            ev = S.stream_events(pb, r["transcripts"])
            st = streams[r["set"]]
            st["audio_s"] += r["audio_s"]
            for k in ("halts", "stops", "ratings", "yesno"):
                st[k] += ev[k]
            st["examples"] += ev["examples"][:5]
            if r["audio_s"] > 5:
                rtf["AEC + recognizer, streams" if r.get("aec") else "recognizer alone, streams"].append(r["cpu"] / r["audio_s"])
                rtf[f"listening loop on {STREAM_KIND.get(r['set'], r['set'])}"].append(r["cpu"] / r["audio_s"])
            if r["set"] in ("sentences", "music", "coach_aec"):
                for pol in S.POLICIES:
                    e = S.stream_events(pb, r["transcripts"], pol)
                    policy_streams[pol]["halts+stops"] += e["halts"] + e["stops"]
                policy_streams["audio_s"]["all"] += r["audio_s"]
            continue
        cond = _cond(r["snr"])
        if v == "default" and r["set"] != "red_flag":
            for pol in S.POLICIES:
                op = S.outcome(pb, r["transcripts"], pol)
                policy[pol][(r["set"], cond)].append((op.urgent, op.urgent_at))
        o = S.outcome(pb, r["transcripts"])
        if v == "default":
            rtf["recognizer (clips)"].append(r["cpu"] / r["audio_s"])
        if r["set"] == "red_flag":
            red[(r["voice"], r["wpm"], cond)].append(o.urgent == S.RED_FLAG)
            red_phrase[r["text"]].append(o.urgent == S.RED_FLAG)
            continue
        flags = S.score_clip(o, r["set"], r["truth"], TRUTH_VALUE)
        clip_stats[v][(r["set"], cond)].append(flags)
        if r["set"] in ("cmd_digit", "fsdd_digit"):
            rating_rows[v][cond].append((flags["rating_ok"], flags["rating_wrong"], o.confidence))
            clip_stats[v][("digits", cond)].append(flags)
            if v == "default" and cond == "clean" and not flags["rating_ok"]:
                confusions[r["truth"]][o.urgent or (str(o.rating) if o.rating is not None else "none")] += 1
        if r["set"] == "negative" and v == "default" and flags["fa_any"]:
            confusions["neg:" + r["truth"]][o.urgent or (f"rating {o.rating}" if o.rating is not None else "yes/no")] += 1
        if r["set"] == "no":
            clip_stats[v][("no_as_yes", cond)].append({"x": o.yes and not o.urgent})
        # The session's path: each final understood as the answer to the question asked.
        group = {"cmd_digit": "digits_asked", "fsdd_digit": "digits_asked", "yes": "yesno_asked", "no": "yesno_asked",
                 "negative": "negative_asked"}.get(r["set"])
        if group is not None:
            clip_stats[v][(group, cond)].append(S.score_asked(pb, r["transcripts"], r["set"], r["truth"], TRUTH_VALUE))

    def frac(v, set_, cond, key):
        rows = clip_stats[v].get((set_, cond), [])
        return S.rate(sum(1 for f in rows if f.get(key)), len(rows))

    acc = {}
    for v, stats in clip_stats.items():
        conds = sorted({c for (_s, c) in stats}, key=_cond_key)
        table = {}
        for c in conds:
            row = {
                "stop_silenced": frac(v, "stop", c, "silenced"),
                "stop_as_stop": frac(v, "stop", c, "stop"),
                "rating": frac(v, "digits", c, "rating_ok"),
                "rating_wrong": frac(v, "digits", c, "rating_wrong"),
                "rating_fsdd": frac(v, "fsdd_digit", c, "rating_ok"),
                "rating_cmd": frac(v, "cmd_digit", c, "rating_ok"),
                "digits_false_urgent": frac(v, "digits", c, "silenced"),
                "yes": frac(v, "yes", c, "yesno_ok"),
                "no": frac(v, "no", c, "yesno_ok"),
                "yesno_false_urgent": S.rate(frac(v, "yes", c, "silenced")["k"] + frac(v, "no", c, "silenced")["k"],
                                             frac(v, "yes", c, "silenced")["n"] + frac(v, "no", c, "silenced")["n"]),
                "neg_fa_any": frac(v, "negative", c, "fa_any"),
                "neg_fa_urgent": frac(v, "negative", c, "fa_urgent"),
                "neg_fa_rating": frac(v, "negative", c, "fa_rating"),
                "neg_fa_yesno": frac(v, "negative", c, "fa_yesno"),
                "rating_asked": frac(v, "digits_asked", c, "rating_ok"),
                "rating_wrong_asked": frac(v, "digits_asked", c, "rating_wrong"),
                "rating_read_back_asked": frac(v, "digits_asked", c, "rating_read_back"),
                "rating_halt_asked": frac(v, "digits_asked", c, "halt"),
                "yesno_asked": frac(v, "yesno_asked", c, "yesno_ok"),
                "neg_fa_asked": frac(v, "negative_asked", c, "fa"),
            }
            p_yes = row["yes"]["p"] or 0.0
            p_no = row["no"]["p"] or 0.0
            p_no_as_yes = frac(v, "no_as_yes", c, "x")["p"] or 0.0
            row["rating_confirmed"] = {
                str(t): S.confirmed_accuracy(rating_rows[v][c], p_yes, p_no, p_no_as_yes, t) for t in CONFIRM_THRESHOLDS
            }
            table[c] = row
        acc[v] = table
    red_by = {}
    for (voice, wpm, cond), hits in red.items():
        red_by.setdefault(cond, {})[f"{voice} @{wpm}"] = S.rate(sum(hits), len(hits))
    red_total = {c: S.rate(sum(x["k"] for x in d.values()), sum(x["n"] for x in d.values())) for c, d in red_by.items()}
    for st in streams.values():
        h = st["audio_s"] / 3600
        st["per_hour"] = {k: (st[k] / h if h else None) for k in ("halts", "stops", "ratings", "yesno")}
    rtf_s = {k: {"n": len(v), "median": float(np.median(v)), "p95": float(np.percentile(v, 95)), "max": float(np.max(v))} for k, v in rtf.items() if v}
    pol_table = {}
    for pol in S.POLICIES:
        t = {}
        for c in sorted({c for (_s, c) in policy[pol]}, key=_cond_key):
            stop = policy[pol][("stop", c)]
            neg = policy[pol][("negative", c)]
            dig = policy[pol][("cmd_digit", c)] + policy[pol][("fsdd_digit", c)]
            t[c] = {"stop_silenced": S.rate(sum(1 for u, _ in stop if u), len(stop)),
                    "neg_fa_urgent": S.rate(sum(1 for u, _ in neg if u), len(neg)),
                    "digits_false_urgent": S.rate(sum(1 for u, _ in dig if u), len(dig))}
            base = {i: at for i, (u, at) in enumerate(policy["any"][("stop", c)])}
            delays = [at - base[i] for i, (u, at) in enumerate(stop) if u and base.get(i) is not None]
            t[c]["extra_delay_median_s"] = float(np.median(delays)) if delays else None
        h = policy_streams["audio_s"]["all"] / 3600
        t["streams_halts_stops_per_hour"] = policy_streams[pol]["halts+stops"] / h if h else None
        t["streams_halts_stops"] = policy_streams[pol]["halts+stops"]
        pol_table[pol] = t
    return {"accuracy": acc, "policies": pol_table, "red_flags": red_by,
            "red_flag_by_phrase": {k: S.rate(sum(v), len(v)) for k, v in red_phrase.items()}, "red_flag_total": red_total, "streams": dict(streams), "rtf": rtf_s,
            "confusions_clean": {k: dict(v) for k, v in confusions.items()}, "levers": levers}


# --- writing ----------------------------------------------------------------------------------


def pct(r: dict | None, digits: int = 1) -> str:
    if not r or r.get("p") is None:
        return "n/a"
    return f"{100 * r['p']:.{digits}f}% ({r['k']}/{r['n']})"


def mark(ok: bool | None) -> str:
    return "n/a" if ok is None else ("**met**" if ok else "**NOT met**")


def targets(summary: dict, latency: dict) -> list[tuple[str, str, str, bool | None]]:
    a = summary["accuracy"].get("default", {})

    def g(c, k):
        return (a.get(c, {}).get(k) or {}).get("p")

    rows = []

    def add(name, target, measured, ok):
        rows.append((name, target, measured, ok))

    for c, t in (("clean", 0.99), ("6 dB", 0.95)):
        p = g(c, "stop_silenced")
        add(f"stop recall, {c}", f">= {t:.0%}", pct(a.get(c, {}).get("stop_silenced")), None if p is None else p >= t)
    for c, t in (("clean", 0.97), ("6 dB", 0.90)):
        r = a.get(c, {})
        best = max((r.get("rating_confirmed", {}).get(str(th), {}).get("p") or 0, th) for th in CONFIRM_THRESHOLDS) if r else (0, None)
        p = g(c, "rating")
        rb = f"; with read-back below conf {best[1]}: {100 * best[0]:.1f}%" if _has_readbacks({c: r} if r else {}) else ""
        add(f"rating accuracy, {c}", f">= {t:.0%}", f"{pct(r.get('rating'))}{rb}", None if p is None else max(p, best[0]) >= t)
    p = g("clean", "neg_fa_any")
    add("false accepts on negative words, clean", "<= 2%", pct(a.get("clean", {}).get("neg_fa_any")), None if p is None else p <= 0.02)
    st = summary["streams"]
    hours = sum(s["audio_s"] for k, s in st.items() if k in ("sentences", "music", "coach_aec")) / 3600
    n = sum(s["halts"] + s["stops"] for k, s in st.items() if k in ("sentences", "music", "coach_aec"))
    add("false halts+stops on non-command audio (sentences, music, coach's speech with AEC)", "<= 1 per hour",
        f"{n} in {hours * 60:.1f} min = {n / hours:.0f}/h" if hours else "n/a", (n / hours <= 1) if hours else None)
    L = latency.get("latency")
    add("stop latency median / p95", "<= 300 / 500 ms",
        f"{1000 * L['median']:.0f} / {1000 * L['p95']:.0f} ms" if L else f"n/a ({latency.get('error', 'no detections')})",
        (L["median"] <= 0.3 and L["p95"] <= 0.5) if L else None)
    r = summary["rtf"].get("AEC + recognizer, streams")
    parts = [f"{name.split(' (')[0].split(',')[0].replace('the coach', 'coach')} {summary['rtf'][f'listening loop on {kind}']['median']:.3f}"
             for key, kind in STREAM_KIND.items() for name in [kind] if f"listening loop on {kind}" in summary["rtf"] and key != "coach_noaec"]
    add("listening loop CPU real-time factor (AEC + recognizer), median / p95 over all streams", "<= 0.1",
        (f"{r['median']:.3f} / {r['p95']:.3f} (n={r['n']})" + (f"; medians by audio: {', '.join(parts)}" if parts else "")) if r else "n/a",
        (r["p95"] <= 0.1) if r else None)
    s = latency.get("session") or {}
    add("peak RSS of a listening session", "<= 250 MB", f"{s['maxrss_mb']:.0f} MB" if s.get("maxrss_mb") else "n/a",
        (s["maxrss_mb"] <= 250) if s.get("maxrss_mb") else None)
    return rows


def write_report(out: Path, meta: dict, summary: dict, latency: dict, startup: dict, others: dict | None = None) -> None:
    """summary/latency/startup: the default engine (meta["default_engine"]), on which the targets are judged.
    others: {engine: {"summary", "stop_latency", "startup", "sizes", ...}} for the other engines, shown beside it."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    others = others or {}
    plots = make_plots(out, summary, latency, others, meta.get("default_engine", "whisper"))
    tg = targets(summary, latency)
    other_tg = {e: targets(o["summary"], o["stop_latency"]) for e, o in others.items()}
    doc = {"meta": meta, "targets": [dict(zip(("what", "target", "measured", "met"), t, strict=True)) for t in tg], "summary": summary,
           "stop_latency": latency, "startup": startup,
           "others": {e: {**o, "targets": [dict(zip(("what", "target", "measured", "met"), t, strict=True)) for t in other_tg[e]]} for e, o in others.items()}}
    (out / "results.json").write_text(json.dumps(doc, indent=1, default=str))
    (out / "results.md").write_text(markdown(meta, summary, latency, startup, tg, plots, others, other_tg))


def _accuracy_table(a: dict) -> str:
    L = ["| condition | stop recall (silenced) | heard as stop/pause | rating accuracy | wrong rating | FSDD | SC digits | false urgent on digits "
         "| yes | no | neg. false accepts | as urgent | as rating | as yes/no |",
         "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for c, r in sorted(a.items(), key=lambda kv: _cond_key(kv[0])):
        L.append(f"| {c} | {pct(r['stop_silenced'])} | {pct(r['stop_as_stop'])} | {pct(r['rating'])} | {pct(r['rating_wrong'])} | "
                 f"{pct(r['rating_fsdd'])} | {pct(r['rating_cmd'])} | {pct(r['digits_false_urgent'])} | {pct(r['yes'])} | {pct(r['no'])} | "
                 f"{pct(r['neg_fa_any'])} | {pct(r['neg_fa_urgent'])} | {pct(r['neg_fa_rating'])} | {pct(r['neg_fa_yesno'])} |")
    return "\n".join(L) + "\n"


def _has_readbacks(a: dict) -> bool:
    return any((r.get("rating_confirmed", {}).get(str(t), {}).get("readbacks") or 0) > 0 for r in a.values() for t in CONFIRM_THRESHOLDS)


def _readback_table(a: dict) -> str:
    L = ["| condition | no read-back | " + " | ".join(f"read-back below {t}" for t in CONFIRM_THRESHOLDS) + " |",
         "|---|---|" + "---|" * len(CONFIRM_THRESHOLDS)]
    for c, r in sorted(a.items(), key=lambda kv: _cond_key(kv[0])):
        cells = []
        for t in CONFIRM_THRESHOLDS:
            x = r["rating_confirmed"][str(t)]
            cells.append("n/a" if x["p"] is None else f"{100 * x['p']:.1f}% (wrong {100 * x['wrong']:.1f}%, read-backs {100 * x['readbacks']:.0f}%)")
        L.append(f"| {c} | {pct(r['rating'])} (wrong {pct(r['rating_wrong'])}) | " + " | ".join(cells) + " |")
    return "\n".join(L) + "\n"


def markdown(meta, summary, latency, startup, tg, plots, others=None, other_tg=None) -> str:
    others, other_tg = others or {}, other_tg or {}
    eng = meta.get("default_engine", "whisper")
    title = ENGINE_TITLE.get(eng, eng)
    L = []
    w = L.append
    w("# voice_coach benchmarks\n")
    w(f"Generated by `voice-coach bench{' --quick' if meta['quick'] else ''}`, finished {meta['date']} ({meta['machine']}); "
      f"took {meta['wall_s'] / 60:.1f} min. Raw numbers: `results.json`.\n")
    if meta.get("load"):
        w(f"Load average (1 min) at start and end: {meta['load'][0]:.1f} / {meta['load'][1]:.1f}.\n")
    if meta.get("note"):
        w(f"Note: {meta['note']}\n")
    w("Engines: " + "; ".join(f"**{k}**: {v}" for k, v in meta["engines"].items()) + ".\n")
    w(f"The targets are judged on the **default engine, {title}** (what `make_recognizer(None, None, phrasebook)` returns "
      "with no Vosk model installed: faster-whisper int8, utterances cut by PocketSphinx's WebRTC-VAD endpointer, a partial "
      "transcript every 1.0 s of ongoing speech and a final one at the end of the utterance), fed in 20 ms chunks exactly "
      "as the live listener feeds it. In the recognition runs each of the 2 worker processes builds it with one decoder "
      "thread (`WhisperRecognizer(threads=1)`); the latency child and `voice-coach run` use the coach's own setting (2 threads). "
      + "".join(f"{ENGINE_TITLE.get(e, e)}, the light fallback, is shown beside it and in its own section below"
                + (f" (its figures are reused from the full run of {o.get('measured')}, not measured again)" if e in meta.get("reused", {}) else "")
                + ". " for e, o in others.items()) + "\n")
    if eng in meta.get("reused", {}):
        w(f"{title}'s figures come from its run of {meta['reused'][eng]} (not measured again in this run).\n")
    sizes = meta.get("engine_sizes")
    if sizes:
        w(f"{title} sample sizes (clips per set and condition): " + "; ".join(
            f"{c}: " + ", ".join(f"{k} {v}" for k, v in d.items()) for c, d in sorted(sizes.items(), key=lambda kv: _cond_key(kv[0]))) + ".\n")
    w("## Targets (issue 4's bars; issue 12's, stricter, are in targets.md with every bench's figures)\n")
    cols = [ENGINE_TITLE.get(e, e) + " (fallback)" for e in others]
    w(f"| what | target | {title} (default) | |" + "".join(f" {c} | |" for c in cols))
    w("|---|---|---|---|" + "---|---|" * len(cols))
    for i, (name, target, measured, ok) in enumerate(tg):
        extra = "".join(f" {other_tg[e][i][2]} | {mark(other_tg[e][i][3])} |" if i < len(other_tg[e]) else " n/a | |" for e in others)
        w(f"| {name} | {target} | {measured} | {mark(ok)} |{extra}")
    w("")
    st_ms = latency.get("latency")
    if st_ms:
        w(f"Start-up: `voice-coach run` to the first audible word {startup.get('median') or float('nan'):.2f} s median with {title}"
          + "".join(f", {(o.get('startup') or {}).get('median') or float('nan'):.2f} s with {ENGINE_TITLE.get(e, e)}" for e, o in others.items()) + ".\n")
    w("## Recognition on real speech (accuracy vs SNR)\n")
    w(f"Clips: {', '.join(f'{k} {v}' for k, v in meta['sizes'].items())} (Speech Commands; `fsdd_digit` is the Free Spoken "
      "Digit Dataset, 4 speakers, 8 kHz resampled to 16 kHz). Each clip gets 0.3 s before and 0.5 s after, a -66 dBFS noise "
      "floor, and for the noisy rows one of the six `shared/noise` files at a random offset (fixed seeds), scaled so the "
      "speech's active power (20 ms frames within 40 dB of its loudest) over the noise's mean power is the SNR.\n")
    w("A clip counts as **stopped** if any transcript, partial or final, is a stop, pause or red flag (all three silence the "
      "coach at once). A **rating** counts only if the final transcript gives exactly the spoken digit and nothing urgent "
      "fired first (a false pause makes the session ignore the rating). **False accept** on a negative word: it silenced "
      "the coach, or its final transcript carried a rating or a yes/no.\n")
    a = summary["accuracy"].get("default", {})
    w(f"### {title} (default)\n")
    w(_accuracy_table(a))
    if any(r.get("rating_asked", {}).get("n") for r in a.values()):
        w("**When asked** (the session's path): each final understood as the answer to the question the coach asked, as "
          "`Understanding.heard` does it at the rating or yes/no step (decoded again with the question as context), after "
          "its free text was checked for anything urgent. Other words: taken as a rating when a rating was asked, or as yes "
          "or no when a yes/no was (a rating read back first is not taken: the person's no ends it). A rating is read back first (\"Was that 3?\") when `Understanding.reads_back` says so: "
          "1 or 2, or one below 5 that the engine doubts; a doubted rating of 5 or more is acted on. A read-back rating "
          "counts as right (its yes is heard at the yes/no rate beside it) and a wrong one read back is caught by the no, "
          "so it is not counted wrong. Halted: the digit heard as a sure 10 at the rating, the guide's agonizing pain, "
          "which ends the session (a doubted 10 only pauses with the pressure off).\n")
        w("| condition | rating right | rating wrong | of the ratings, read back first | halted (heard as a sure 10) | yes/no right | other words taken as the answer |\n|---|---|---|---|---|---|---|")
        for c, r in sorted(a.items(), key=lambda kv: _cond_key(kv[0])):
            if r.get("rating_asked", {}).get("n"):
                back = pct(r["rating_read_back_asked"]) if r.get("rating_read_back_asked", {}).get("n") else "—"
                halt = pct(r["rating_halt_asked"]) if r.get("rating_halt_asked", {}).get("n") else "—"
                w(f"| {c} | {pct(r['rating_asked'])} | {pct(r['rating_wrong_asked'])} | {back} | {halt} | {pct(r['yesno_asked'])} | {pct(r['neg_fa_asked'])} |")
        w("")
    if "accuracy" in plots:
        w(f"![accuracy vs SNR]({plots['accuracy']})\n")
    for e, o in others.items():
        w(f"### {ENGINE_TITLE.get(e, e)} (fallback)\n")
        w(_accuracy_table(o["summary"]["accuracy"].get("default", {})))
    w("### Confirming a rating back (lever, computed from measured rates)\n")
    w("A rating whose confidence is below the threshold is read back (\"I heard six, is that right?\"); the answer is "
      "recognized with the yes/no rates measured in the same condition. A rejected read-back means asking again (not an "
      "error, not counted as correct). Never used for stop or red flags.\n")
    for e, s_ in [(eng, summary)] + [(e, o["summary"]) for e, o in others.items()]:
        acc = s_["accuracy"].get("default", {})
        if not _has_readbacks(acc):
            w(f"{ENGINE_TITLE.get(e, e)}: its transcripts carry no confidence below the thresholds, so nothing would be read back; "
              "the rating accuracy above is the whole story.\n")
            continue
        w(f"{ENGINE_TITLE.get(e, e)}:\n")
        w(_readback_table(acc))
    conf = summary.get("confusions_clean", {})
    if conf:
        w(f"{title}, clean-condition errors (what each word became; `none` = no rating heard):\n")
        for k in sorted(conf):
            w(f"- {k}: " + ", ".join(f"{x} x{n}" for x, n in sorted(conf[k].items(), key=lambda kv: -kv[1])))
        w("")
    w("## Red-flag recall — SYNTHETIC speech (espeak-ng)\n")
    w("There are no real recordings of red-flag phrases; these figures rest on espeak-ng voices and speeds only, and "
      "overstate what real, strained voices will get. Phrases: " + ", ".join(f'"{p}"' for p in _phrases(summary)) + ".\n")
    n_v = sorted({k for d in summary["red_flags"].values() for k in d})
    w(f"{title}: voices/speeds {', '.join(n_v)}" + "".join(
        f"; {ENGINE_TITLE.get(e, e)}: {', '.join(sorted({k for d in o['summary']['red_flags'].values() for k in d}))}" for e, o in others.items()) + ".\n")
    w("| condition | " + " | ".join(f"{n} (SYNTHETIC)" for n in [title] + [ENGINE_TITLE.get(e, e) for e in others]) + " |")
    w("|---|" + "---|" * (1 + len(others)))
    for c, r in sorted(summary["red_flag_total"].items(), key=lambda kv: _cond_key(kv[0])):
        w(f"| {c} | {pct(r)} |" + "".join(f" {pct(o['summary']['red_flag_total'].get(c))} |" for o in others.values()))
    w("")
    w(f"{title}, by phrase (all voices, speeds and conditions): " + "; ".join(f'"{k}" {pct(v, 0)}' for k, v in summary.get("red_flag_by_phrase", {}).items()) + ".\n")
    if "red" in plots:
        w(f"![red-flag recall, synthetic]({plots['red']})\n")
    w("## False triggers on audio with no commands\n")
    w("Halts (red flag), stops/pauses, ratings and yes/no counted once per utterance. The coach's own speech: every line of "
      f"`content/routine.toml` ({meta['coach_lines']} lines, placeholders filled, espeak-ng) played back to back through a "
      "simulated echo path (70 ms, low-pass 3.5 kHz, 200 ms reverb tail, gain as shown) with a -60 dBFS noise floor; "
      "`coach_aec` cleans it with the EchoCanceller fed the played audio as reference, `coach_noaec` is the same with no "
      f"echo cancellation (for contrast). {title}: echo gain -6 dB, all lines with AEC, 24 lines without; `silence` is "
      "2 minutes of the -60 dBFS floor alone (a quiet room, for the CPU cost). PocketSphinx (earlier run): echo gains -6, "
      "0 and -12 dB with AEC, all lines at -6 dB without.\n")
    w(f"### {title} (default)\n")
    w(_streams_table(summary["streams"]))
    for e, o in others.items():
        w(f"### {ENGINE_TITLE.get(e, e)} (fallback)\n")
        w(_streams_table(o["summary"]["streams"]))
    w("## Stop latency through the real audio path\n")
    w("A child process runs the live coach's Listener, Runtime (no session) and Voice with the real SpeakerSink, MicSource (PortAudio), "
      "EchoCanceller and recognizer on ALSA `type file` devices whose FIFOs are paced at real time by the parent "
      "(benchmarks/rig.py). The coach speaks a long line; over it the mic plays a real Speech Commands \"stop\" on top of "
      "the echo of what the speaker FIFO actually delivered (60 ms, low-pass, -6 dB) and a -60 dBFS floor. Latency: from "
      "the end of the spoken word (as written into the mic FIFO) to the first 20 ms block after the last audible sample "
      "reaching the speaker FIFO's reader, one monotonic clock.\n")
    if eng == "whisper":
        w("With Whisper the total is made of: (1) **endpointing**: the utterance is closed once the WebRTC VAD has heard "
          "~0.3 s of non-speech after the word (the endpointer's window; a 1.0 s partial only comes first in a longer "
          "utterance), so the chunk that triggers the decode is captured that window after the word ends, plus the rig's "
          "128 ms mic FIFO and the VAD's frame-level hangover — row 2; (2) the "
          "**Whisper decode** of the utterance (plus queueing and AEC) — row 3; (3) the **speaker path**: PortAudio's buffer "
          "and the rig's 4 KB FIFO — row 4.\n")
    w(f"### {title} (default)\n")
    w(_latency_table(latency))
    if "latency" in plots:
        w(f"![stop latency]({plots['latency']})\n")
    for e, o in others.items():
        w(f"### {ENGINE_TITLE.get(e, e)} (fallback)\n")
        w(_latency_table(o["stop_latency"]))
    w("## Cost\n")
    if eng == "whisper":
        w("Whisper runs only on audio the endpointer has taken for speech, so the listening loop's CPU depends on what it "
          "hears: next to nothing in a quiet room or while the AEC removes the coach's echo, much more on continuous talk or "
          "music (a partial decode of the utterance so far every 1.0 s, up to 8 s). The recognition workers used one decoder "
          "thread each; process CPU time is counted, so the figures hold whatever the thread count.\n")
    w(f"### {title} (default)\n")
    w(_cost_table(summary, latency, startup))
    for e, o in others.items():
        w(f"### {ENGINE_TITLE.get(e, e)} (fallback)\n")
        w(_cost_table(o["summary"], o["stop_latency"], o.get("startup") or {}))
    for e, s_ in [(eng, summary)] + [(e, o["summary"]) for e, o in others.items()]:
        if s_.get("policies"):
            w(_policies(s_["policies"], ENGINE_TITLE.get(e, e)))
    for e, o in others.items():
        if o["summary"].get("levers"):
            w(_levers(o["summary"], ENGINE_TITLE.get(e, e)))
    return "\n".join(L) + "\n"


def _streams_table(streams: dict) -> str:
    L = ["| audio | minutes | halts | stops/pauses | ratings | yes/no | halts/h | stops/h | examples |", "|---|---|---|---|---|---|---|---|---|"]
    for k, s in streams.items():
        ph = s["per_hour"]
        ex = "; ".join(s["examples"][:4]).replace("|", "/")
        L.append(f"| {k} | {s['audio_s'] / 60:.1f} | {s['halts']} | {s['stops']} | {s['ratings']} | {s['yesno']} | {ph['halts']:.0f} | {ph['stops']:.0f} | {ex} |")
    return "\n".join(L) + "\n"


def _latency_table(latency: dict) -> str:
    if "error" in latency:
        return f"Not measured: {latency['error']}\n"
    faults = f" The listener faulted {latency['listener_faults']} times: {'; '.join(latency['first_faults'])}." if latency.get("listener_faults") else ""
    L = [f"Trials: {latency['trials']}; stop detected (coach silenced) in {latency['detected']}.{faults}\n",
         "| part | median | p95 | min | max |", "|---|---|---|---|---|"]
    names = {"latency": "**total: end of word -> speaker silent**",
             "to_capture": "end of word -> capture of the chunk whose transcript was urgent (mic FIFO + how much audio the recognizer needed: the endpointing window)",
             "listener_lag": "capture -> the runtime cancels the voice (queue + AEC + recognizer compute: the decode)",
             "speaker_path": "the runtime's cancel -> silence at the speaker FIFO reader (PortAudio buffer + 4 KB FIFO = 128 ms + 20 ms pacing)"}
    for k, label in names.items():
        if k in latency:
            x = latency[k]
            L.append(f"| {label} | {1000 * x['median']:.0f} ms | {1000 * x['p95']:.0f} ms | {1000 * x['min']:.0f} ms | {1000 * x['max']:.0f} ms |")
    L.append("")
    rows = latency.get("rows", [])
    trig = [r.get("text") for r in rows if r.get("text")]
    if trig:
        from collections import Counter

        fin = sum(1 for r in rows if r.get("text") and r.get("final"))
        L.append(f"Transcripts that triggered the silencing ({fin} final, {len(trig) - fin} partial): "
                 + ", ".join(f"{t!r} x{n}" for t, n in Counter(trig).most_common(8)) + ".\n")
    return "\n".join(L) + "\n"


def _cost_table(summary: dict, latency: dict, startup: dict) -> str:
    L = ["| measure | value |", "|---|---|"]
    for k, r in summary["rtf"].items():
        L.append(f"| CPU real-time factor, {k} (process CPU / audio time, per run) | median {r['median']:.3f}, p95 {r['p95']:.3f}, max {r['max']:.3f} over {r['n']} runs |")
    s = latency.get("session") or {}
    if s.get("maxrss_mb"):
        L.append(f"| peak RSS, listening session (latency child: recognizer, AEC, PortAudio mic+speaker, synthesizer) | {s['maxrss_mb']:.0f} MB |")
        L.append(f"| listening session CPU during the latency trials | {s['cpu']:.1f} s; mic chunks dropped {s['mic_dropped']}, overflows {s['overflows']}, underflows {s['underflows']} |")
    if latency.get("startup_child_s"):
        L.append(f"| latency child: start to listening (imports, recognizer, AEC, devices) | {latency['startup_child_s']:.2f} s |")
    if startup.get("median") is not None:
        L.append(f"| `voice-coach run` start-up to the first audible word at the speaker | median {startup['median']:.2f} s (runs: {', '.join(f'{t:.2f}' for t in startup['runs'] if t)}) |")
    elif startup.get("error"):
        L.append(f"| start-up | not measured: {startup['error']} |")
    return "\n".join(L) + "\n"


def _policies(pols: dict, title: str) -> str:
    L = [f"## Lever ({title}): when a partial transcript may silence the coach (computed on the same transcripts)\n",
         ("`any`: the coach today, any partial or final urgent transcript acts at once. `stable2`: a partial acts only if "
         "the next transcript of the same utterance has the same urgent intent. `final`: only final transcripts act "
         "(the endpointer's 0.3 s of silence first). Extra delay: audio time of the acting transcript minus `any`'s, "
         "on stop clips detected by both.\n"),
         "| policy | condition | stop recall | neg. words silencing the coach | digits silencing the coach | extra delay (median) |",
         "|---|---|---|---|---|---|"]
    for pol, t in pols.items():
        for c, r in sorted(((c, r) for c, r in t.items() if isinstance(r, dict)), key=lambda kv: _cond_key(kv[0])):
            d = r.get("extra_delay_median_s")
            L.append(f"| {pol} | {c} | {pct(r['stop_silenced'])} | {pct(r['neg_fa_urgent'])} | {pct(r['digits_false_urgent'])} | {'n/a' if d is None else f'{1000 * d:.0f} ms'} |")
    L.append("")
    L.append("False halts+stops on the no-command streams (sentences, music, coach with AEC): " + "; ".join(
        f"{pol} {t['streams_halts_stops']} ({t['streams_halts_stops_per_hour']:.0f}/h)" for pol, t in pols.items() if t.get("streams_halts_stops_per_hour") is not None) + ".\n")
    return "\n".join(L) + "\n"


def _levers(summary: dict, title: str) -> str:
    L = [f"## Levers tried on {title} (subset of clips)\n",
         ("A sample of the clips above, 40 per set (12 in a quick run), clean and 6 dB. `ns`: the EchoCanceller's WebRTC noise "
         "suppression in front of the recognizer; `thr:S,W`: the PocketSphinx adapter's rejection thresholds (stop words, other "
         "words) in the units its ratios actually come out in; `mindur:N`: grammar words shorter than N frames rejected; "
         "`drop:a,b`: phrases left out of the grammar; `nobestpath`: the grammar decoder with `bestpath=False`, so finals come "
         "from the same search as partials. All are prototypes applied from benchmarks/recog.py, not changes to the coach.\n"),
         "| variant | condition | stop recall | rating acc. | yes | no | neg. false accepts |", "|---|---|---|---|---|---|---|"]
    for v, table in summary["accuracy"].items():
        if v == "default":
            continue
        for c, r in table.items():
            L.append(f"| {v} | {c} | {pct(r['stop_silenced'])} | {pct(r['rating'])} | {pct(r['yes'])} | {pct(r['no'])} | {pct(r['neg_fa_any'])} |")
    return "\n".join(L) + "\n"


def _phrases(summary) -> list[str]:
    from benchmarks.run import RED_FLAG_PHRASES

    return RED_FLAG_PHRASES


def make_plots(out: Path, summary: dict, latency: dict, others: dict | None = None, engine: str = "whisper") -> dict:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return {}
    others = others or {}
    title = ENGINE_TITLE.get(engine, engine)
    plots = {}
    a = summary["accuracy"].get("default", {})
    if a:
        fig, ax = plt.subplots(figsize=(6.4, 4), dpi=80)
        keys = (("stop_silenced", "stop recall"), ("rating", "rating accuracy"), ("yes", "yes"), ("no", "no"), ("neg_fa_any", "false accepts, negatives"))
        colors = {}
        for name, acc, style in [(title, a, "-")] + [(ENGINE_TITLE.get(e, e), o["summary"]["accuracy"].get("default", {}), ":") for e, o in others.items()]:
            conds = sorted(acc, key=_cond_key)
            xs = [30 if c == "clean" else int(c.split()[0]) for c in conds]
            for key, label in keys:
                if name != title and key not in ("stop_silenced", "neg_fa_any"):
                    continue  # the fallback: only stop recall and false accepts, to keep the plot readable
                ys = [100 * (acc[c][key]["p"] or 0) for c in conds]
                line = ax.plot(xs, ys, style, marker="o" if style == "-" else "x", color=colors.get(key), label=f"{label} ({name})")[0]
                colors.setdefault(key, line.get_color())
        conds = sorted(a, key=_cond_key)
        ax.set_xticks([30 if c == "clean" else int(c.split()[0]) for c in conds], conds)
        ax.invert_xaxis()
        ax.set_xlabel("SNR")
        ax.set_ylabel("%")
        ax.set_ylim(0, 100)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
        ax.set_title(f"{title} (solid) vs PocketSphinx (dotted), real speech" if others else f"{title} on real speech")
        fig.tight_layout()
        fig.savefig(out / "accuracy_vs_snr.png")
        plt.close(fig)
        plots["accuracy"] = "accuracy_vs_snr.png"
    red = summary["red_flags"]
    if red:
        fig, ax = plt.subplots(figsize=(6.4, 4), dpi=80)
        conds = sorted(red, key=_cond_key)
        keys = sorted({k for d in red.values() for k in d})
        width = 0.8 / len(conds)
        for i, c in enumerate(conds):
            ax.bar(np.arange(len(keys)) + i * width, [100 * (red[c].get(k, {}).get("p") or 0) for k in keys], width, label=c)
        ax.set_xticks(np.arange(len(keys)) + 0.4 - width / 2, keys, rotation=60, fontsize=7)
        ax.set_ylabel("red-flag recall %")
        ax.set_ylim(0, 100)
        ax.legend(fontsize=8)
        ax.set_title(f"{title}: red-flag recall — SYNTHETIC speech (espeak-ng)")
        fig.tight_layout()
        fig.savefig(out / "red_flags_synthetic.png")
        plt.close(fig)
        plots["red"] = "red_flags_synthetic.png"
    rows = [r for r in latency.get("rows", []) if "latency" in r]
    if rows:
        fig, ax = plt.subplots(figsize=(6.4, 3.2), dpi=80)
        data = [[1000 * r["latency"] for r in rows]]
        labels = [title]
        for e, o in others.items():
            orow = [1000 * r["latency"] for r in (o.get("stop_latency") or {}).get("rows", []) if "latency" in r]
            if orow:
                data.append(orow)
                labels.append(ENGINE_TITLE.get(e, e))
        ax.hist(data, bins=20, label=labels)
        ax.axvline(300, color="k", ls="--", lw=1)
        ax.set_xlabel("end of \"stop\" -> speaker silent, ms")
        ax.set_ylabel("trials")
        ax.legend(fontsize=8)
        ax.set_title("Stop latency through ALSA file devices")
        fig.tight_layout()
        fig.savefig(out / "stop_latency.png")
        plt.close(fig)
        plots["latency"] = "stop_latency.png"
    return plots


def rerender(out: Path, note: str | None = None) -> None:
    """Write results.md and the plots again from results.json (e.g. after changing this file)."""
    out = Path(out)
    doc = json.loads((out / "results.json").read_text())
    meta = doc["meta"]
    if note:
        meta["note"] = note
    others = {e: {k: v for k, v in o.items() if k != "targets"} for e, o in doc.get("others", {}).items()}
    write_report(out, meta, doc["summary"], doc["stop_latency"], doc["startup"], others=others)


if __name__ == "__main__":  # python -m benchmarks.report docs/benchmarks ["a note"]
    import sys

    rerender(Path(sys.argv[1]), sys.argv[2] if len(sys.argv) > 2 else None)
