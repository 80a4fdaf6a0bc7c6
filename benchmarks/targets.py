"""Issue 12's targets against what the benches measured: targets.md / targets.json.

`voice-coach bench --targets` (and the end of every `voice-coach bench` mode). Every figure is read
from a file a bench writes in --out; a row whose source is missing, or lacks the figure, says
"not measured by the bench yet" and names the command that measures it. Each figure gives its
sample, met / NOT met, its source file and the date it was measured (the file's own date, else
the date of the commit that last wrote it). The default engine (Whisper tiny.en as
recog.build_recognizer('default') builds it) first, then the candidates of engines.json.
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

from benchmarks.report import mark, pct

# engines.json's common-set names -> column titles (the candidates; the default is measured by the full bench)
CANDIDATES = {"whisper-tiny": "tiny 30 s", "whisper-tiny-10s": "tiny 10 s", "whisper-tiny-5s": "tiny 5 s",
              "moonshine-tiny": "Moonshine tiny", "pocketsphinx": "PocketSphinx"}
WINDOW = {"whisper-tiny": 30.0, "whisper-tiny-10s": 10.0, "whisper-tiny-5s": 5.0}
BENCH = "voice-coach bench"
RIG = "python -m benchmarks.latency 50 whisper linear"
CONDS = (("clean", "clean"), ("6 dB", "6dB"))  # results.json's condition name, engines.json's


class Missing(Exception):
    """A source file or the figure in it is not there."""


def _git_date(path: Path) -> str | None:
    """When the commit that last wrote the file's raw results (its .jsonl beside it, if any) was made."""
    raw = path.with_suffix(".jsonl")
    try:
        r = subprocess.run(["git", "log", "-1", "--format=%cd", "--date=format:%Y-%m-%d %H:%M", "--", (raw if raw.is_file() else path).name],
                           cwd=path.parent, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return f"committed {r.stdout.strip()}" if r.returncode == 0 and r.stdout.strip() else None


class Sources:
    def __init__(self, out: Path):
        self.out = out
        self._cache: dict = {}

    def get(self, name: str):
        """(data, date) of out/name (a .json, or a .jsonl as a list); Missing if absent or unreadable."""
        if name not in self._cache:
            p = self.out / name
            try:
                text = p.read_text()
                data = [json.loads(x) for x in text.splitlines() if x.strip()] if name.endswith(".jsonl") else json.loads(text)
            except (OSError, ValueError) as e:
                self._cache[name] = Missing(f"no {name}" if isinstance(e, FileNotFoundError) else f"{name}: {type(e).__name__}: {e}")
            else:
                meta = data.get("meta", data) if isinstance(data, dict) else {}
                quick = " (QUICK run)" if meta.get("quick") else ""
                self._cache[name] = (data, (meta.get("date") or _git_date(p) or "date unknown") + quick)
        got = self._cache[name]
        if isinstance(got, Missing):
            raise got
        return got


def cell(measured: str, ok: bool | None, source: str, date: str) -> dict:
    return {"measured": measured, "met": ok, "source": source, "date": date}


def not_measured(command: str, why: str) -> dict:
    return cell(f"not measured by the bench yet (`{command}`; {why})", None, "", "")


def _all(oks) -> bool | None:
    oks = list(oks)
    return None if any(o is None for o in oks) else all(oks)


def _pair(rates: list[dict], ok) -> tuple[str, bool | None]:
    """'clean / 6 dB' figures and whether both meet their bar (ok(index, p))."""
    return " / ".join(pct(r) for r in rates), _all(None if r.get("p") is None else ok(i, r["p"]) for i, r in enumerate(rates))


def _sum(a: dict, b: dict) -> dict:
    k, n = a["k"] + b["k"], a["n"] + b["n"]
    return {"k": k, "n": n, "p": k / n if n else None}


# --- the rows: each gives its default-engine cells and its candidate cells ---------------------


def _accuracy(src: Sources, bars: tuple[float, float], default_rate, engine_rate, below: bool = False):
    def ok(i, p):
        return p <= bars[i] if below else p >= bars[i]

    data, date = src.get("results.json")
    acc = data["summary"]["accuracy"]["default"]
    measured, met = _pair([default_rate(acc[c]) for c, _ in CONDS], ok)
    default = [cell(measured, met, "results.json", date)]
    cands = {}
    try:
        eng, edate = src.get("engines.json")
        for name, title in CANDIDATES.items():
            e = eng["common"].get(name)
            if e and all(engine_rate(e.get(c, {})) for _, c in CONDS):
                cands[title] = cell(*_pair([engine_rate(e[c]) for _, c in CONDS], ok), "engines.json (common set)", edate)
    except Missing:
        pass
    return default, cands


def _readback(r: dict) -> dict | None:
    rb = r.get("cs_rating_readback")
    return None if rb is None else {"p": rb["p"], "k": round(rb["p"] * rb["n"]), "n": rb["n"]}


def _best_confirmed(row: dict) -> dict:
    best = max(v["p"] for v in row["rating_confirmed"].values())
    n = row["rating"]["n"]
    return {"p": best, "k": round(best * n), "n": n}


def row_stop(src):
    return _accuracy(src, (0.99, 0.97), lambda r: r["stop_silenced"], lambda r: r.get("stop"))


def _when_asked(src: Sources, key: str, bars: tuple[float, float]) -> dict:
    """The default engine's answers on the session's path (each final understood as the answer
    to the question asked, decoded with it as context): results.json's full sets when it has
    them, else windows.json's sample."""
    data, date = src.get("results.json")
    acc = data["summary"]["accuracy"]["default"]
    if all(acc.get(c, {}).get(key, {}).get("n") for c, _ in CONDS):
        rates, source = [acc[c][key] for c, _ in CONDS], "results.json"
    else:
        data, date = src.get("windows.json")
        default = next(v for k, v in data["summary"].items() if "(default)" in k)
        rates, source = [default[c][key] for c in ("clean", "6 dB")], "windows.json"
    measured, met = _pair(rates, lambda i, p: p >= bars[i])
    return cell(f"{measured} when asked (the session's path)", met, source, date)


def _with_asked(src: Sources, bars: tuple[float, float], key: str, default_rate, engine_rate):
    default, cands = _accuracy(src, bars, default_rate, engine_rate)
    try:
        default[0] = {**default[0], "measured": default[0]["measured"] + " free path, no question"}
        default.append(_when_asked(src, key, bars))
    except (Missing, KeyError):
        pass
    return default, cands


def row_rating(src):
    return _with_asked(src, (0.97, 0.90), "rating_asked", _best_confirmed, _readback)


def row_yesno(src):
    return _with_asked(src, (0.98, 0.95), "yesno_asked", lambda r: _sum(r["yes"], r["no"]), lambda r: r.get("yesno"))


def row_false_accepts(src):
    return _accuracy(src, (0.01, 0.01), lambda r: r["neg_fa_any"], lambda r: r.get("fa"), below=True)


def _rig(src: Sources) -> tuple[dict, str, str]:
    """The newest ALSA rig run of stops said over the coach: stop_latency.json (`python -m
    benchmarks.latency`) or the full bench's latency phase in results.json."""
    runs = []
    for name in ("stop_latency.json", "results.json"):
        try:
            data, date = src.get(name)
        except Missing:
            continue
        data = data.get("stop_latency", {}) if name == "results.json" else data
        if "trials" in data:
            runs.append((date, data, name if name == "stop_latency.json" else "results.json (stop_latency)"))
    if not runs:
        raise Missing("no stop_latency.json, and results.json has no stop latency")
    date, data, name = max(runs, key=lambda r: r[0])
    return data, name, date


def row_over_coach(src):
    cells = []
    try:
        rig, name, date = _rig(src)
        r = {"k": rig["detected"], "n": rig["trials"], "p": rig["detected"] / rig["trials"]}
        cells.append(cell(f"ALSA rig: {pct(r)}", r["p"] >= 0.99, name, date))
    except Missing as e:
        cells.append(not_measured(f"{BENCH}` or `{RIG}", str(e)))
    try:
        b, date = src.get("barge_in.json")
        r = b["all"]["today_stop"]
        cells.append(cell(f"offline, 3 echo gains x 2 delays: {pct(r)}", r["p"] >= 0.99, "barge_in.json", date))
    except Missing as e:
        cells.append(not_measured(f"{BENCH} --barge-in", str(e)))
    return cells, {}


def row_onset(src):
    b, date = src.get("barge_in.json")
    o = b["all"].get("onset_ms")
    if not o or o["median"] is None:
        raise Missing("barge_in.json has no onset latency over all trials")
    silent = o["median"] + b["all"]["speaker_ms"]
    return [cell(f"{silent:.0f} ms median (onset {o['median']:.0f} ms + {b['all']['speaker_ms']} ms speaker, modelled; "
                 f"onset found in {o['n']}/{o['trials']} trials)", silent <= 150, "barge_in.json", date)], {}


def row_stop_latency(src):
    rig, name, date = _rig(src)
    L = rig.get("latency")
    if not L:
        raise Missing(f"{name}: no stop detected")
    return [cell(f"{1000 * L['p95']:.0f} ms p95, {1000 * L['median']:.0f} ms median (n={rig['detected']}; word end -> speaker silent, "
                 "over the coach, ALSA rig)", L["p95"] <= 0.4, name, date)], {}


def row_false(src):
    f, date = src.get("false_triggers.json")
    sets = f["sets"]
    whole = not f["quick"] and all(s["files"] == s["files_total"] and s["ducks"]["files"] == s["files_total"] for s in sets.values())
    halts = sum(s["halts"]["count"] for s in sets.values())
    ducks = {k: s["ducks"]["per_hour"] for k, s in sets.items()}
    parts = [f"{k}: {ducks[k]:.1f} ducks/h in {s['ducks']['minutes']:.1f} min, {s['halts']['count']} halts in {s['minutes']:.1f} min"
             for k, s in sets.items() if ducks[k] is not None]
    ok = all(d is not None and d <= 6 for d in ducks.values()) and halts == 0
    note = "" if whole else " (NOT the whole sets: a quick or partial run)"
    return [cell("; ".join(parts) + note, ok if whole else None, "false_triggers.json", date)], {}


def row_rtf(src):
    cells = []
    try:
        f, date = src.get("false_triggers.json")
        t = f["sets"]["talk"]
        o = t.get("one_core")
        if o:
            cells.append(cell(f"{o['rtf']:.3f} over {o['minutes']:.1f} min of read talk ({o['files']} files), one process alone on one core",
                              o["rtf"] <= 0.1 if o["files"] == t["files_total"] and not f["quick"] else None, "false_triggers.json", date))
        else:
            cells.append(cell(f"{t['listening_rtf']:.3f} over {t['minutes']:.1f} min of read talk ({t['files']} files)",
                              t["listening_rtf"] <= 0.1 if t["files"] == t["files_total"] and not f["quick"] else None, "false_triggers.json", date))
    except Missing:
        data, date = src.get("results.json")
        r = data["summary"]["rtf"]["listening loop on speech (read sentences, AEC on)"]
        mins = data["summary"]["streams"]["sentences"]["audio_s"] / 60
        cells.append(cell(f"{r['median']:.3f} over {mins:.1f} min of read sentences", r["median"] <= 0.1, "results.json", date))
    cands = {}
    try:
        rows, date = src.get("engines_rtf.jsonl")
        for name, w in WINDOW.items():
            r = next((x for x in rows if x.get("kind") == "whisper" and x.get("window_s") == w and x.get("partial_window_s") is None
                      and x.get("word_window_s") is None), None)
            if r:
                cands[CANDIDATES[name]] = cell(f"{r['loop_rtf']:.3f} over {r['audio_s'] / 60:.0f} min of read speech", r["loop_rtf"] <= 0.1,
                                               "engines_rtf.jsonl", date)
    except Missing:
        pass
    return cells, cands


def row_rss(src):
    rig, name, date = _rig(src)
    mb = (rig.get("session") or {}).get("maxrss_mb")
    if not mb:
        raise Missing(f"{name}: no session memory")
    default = [cell(f"{mb:.0f} MB (a listening session, ALSA rig, n=1)", mb <= 200, name, date)]
    cands = {}
    try:
        eng, edate = src.get("engines.json")
        for n, title in CANDIDATES.items():
            e = eng["full"].get(n) or {}
            if e.get("rss_mb"):
                cands[title] = cell(f"{e['rss_mb']:.0f} MB (bench process, an upper bound)", e["rss_mb"] <= 200, "engines.json", edate)
    except Missing:
        pass
    return default, cands


ROWS = [  # what, target, how its figures are found, the command that measures them
    ("stop recall, clean / 6 dB", ">= 99% / >= 97%", row_stop, f"{BENCH}"),
    ("rating accuracy, clean / 6 dB (after at most one read-back)", ">= 97% / >= 90%", row_rating, f"{BENCH}"),
    ("yes/no, clean / 6 dB", ">= 98% / >= 95%", row_yesno, f"{BENCH}"),
    ("false accepts on other words, clean / 6 dB", "<= 1%", row_false_accepts, f"{BENCH}"),
    ("stops heard over the coach's own voice", ">= 99%", row_over_coach, f"{BENCH}"),
    ("voice onset -> coach silent", "median <= 150 ms", row_onset, f"{BENCH} --barge-in"),
    ("stop word end -> session paused", "p95 <= 400 ms", row_stop_latency, f"{RIG}` or `{BENCH}"),
    ("false ducks / false halts (talk, music, room)", "<= 6 per hour / 0", row_false, f"{BENCH} --false-triggers"),
    ("listening RTF on one core, continuous speech", "<= 0.1", row_rtf, f"{BENCH} --false-triggers"),
    ("peak RSS", "<= 200 MB", row_rss, f"{BENCH}"),
]


def assemble(out: Path) -> list[dict]:
    src = Sources(out)
    rows = []
    for what, target, fn, command in ROWS:
        try:
            default, cands = fn(src)
        except (Missing, KeyError, TypeError, IndexError, ZeroDivisionError) as e:
            default, cands = [not_measured(command, f"{type(e).__name__}: {e}" if not isinstance(e, Missing) else str(e))], {}
        rows.append({"what": what, "target": target, "met": _all(c["met"] for c in default), "default": default, "candidates": cands})
    return rows


def markdown(rows: list[dict]) -> str:
    titles = [t for t in CANDIDATES.values() if any(t in r["candidates"] for r in rows)]
    lines = ["# Issue 12's targets: measured", "",
             f"Assembled {time.strftime('%Y-%m-%d %H:%M')} by `voice-coach bench --targets` (benchmarks/targets.py) from the files the benches",
             "write in this folder; every figure names its file and the date it was measured. The default engine is Whisper tiny.en",
             "as the coach runs it (a 5 s encoder window; a lone word listened to again on the full 30 s window). The candidates are engines.json's common set of 639 clip-conditions (a smaller",
             "sample than the default's full sets) and engines_rtf.jsonl; they are not the coach's path unless the cell says so.", "",
             _row(["target", "bar", "default engine: measured", "met", "source (measured)", *titles]), _row(["---"] * (5 + len(titles)))]
    for r in rows:
        d = r["default"]
        measured = "<br>".join(c["measured"] for c in d)
        src = "<br>".join(f"{c['source']} ({c['date']})" for c in d if c["source"]) or "—"
        cands = [f"{c['measured']} {mark(c['met'])}" if (c := r["candidates"].get(t)) else "—" for t in titles]
        lines.append(_row([r["what"], r["target"], measured, mark(r["met"]), src, *cands]))
    sources = sorted({f"{c['source']} ({c['date']})" for r in rows for c in r["candidates"].values()})
    lines += ["", "Candidate figures: " + ("; ".join(sources) if sources else "none") + ". Their ratings are the closed-set check with one",
              "read-back of the uncertain answers (engines.json `cs_rating_readback`); the default's, the free transcript with one read-back below",
              "the best confidence threshold (results.json `rating_confirmed`).",
              "'n/a' under met: not measured, or not on the whole sample the target names."]
    return "\n".join(lines) + "\n"


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def write_targets(out: Path) -> list[dict]:
    rows = assemble(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "targets.json").write_text(json.dumps({"assembled": time.strftime("%Y-%m-%d %H:%M"), "rows": rows}, indent=1) + "\n")
    (out / "targets.md").write_text(markdown(rows))
    return rows


if __name__ == "__main__":
    import sys

    out = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/benchmarks")
    write_targets(out)
    print(f"wrote {out / 'targets.md'}", file=sys.stderr)
