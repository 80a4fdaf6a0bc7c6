"""`voice-coach history` and `voice-coach export`: the journal read back for a person or a therapist.

The pain rating of a location in a session is the first rating given at a knot there that session
(the partner's first answer to "how strong is it, from one to ten"), as in voice_coach/advice.py.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from voice_coach import advice
from voice_coach.errors import EXIT_FAILURE, EXIT_OK, EXIT_USAGE, UserError, silence_stdout
from voice_coach.journal import JournalError, SessionData, journal_path, read_journal

EXPORT_FIELDS = [
    "session", "date", "outcome", "halt", "location", "knot", "round", "rating", "all_ratings",
    "hold_seconds", "hold_end", "softened",
]


def load(path: Path | None = None) -> tuple[Path, list[SessionData]]:
    path = Path(path or journal_path())
    try:
        return path, read_journal(path)
    except JournalError as e:
        raise UserError(e.message, EXIT_FAILURE) from None


# -- per location -----------------------------------------------------------------------------------


@dataclass
class LocationSummary:
    location: str
    sessions: int
    rounds: int
    first: tuple[int, str] | None  # (rating, date)
    last: tuple[int, str] | None
    softened_sessions: int
    series: list[tuple[str, int]]  # (started, rating) per session that rated it


def by_location(sessions: list[SessionData]) -> list[LocationSummary]:
    order: dict[str, None] = {}
    for s in sessions:
        for loc in s.locations():
            order.setdefault(loc)
        for r in s.rounds:
            if r.location:
                order.setdefault(r.location)
    out = []
    for loc in order:
        worked = [s for s in sessions if loc in s.locations() or any(r.location == loc for r in s.rounds)]
        series = [(s.started, s.first_rating(loc)) for s in worked if s.first_rating(loc) is not None]
        out.append(LocationSummary(
            location=loc,
            sessions=len(worked),
            rounds=sum(1 for s in worked for r in s.rounds if r.location == loc),
            first=(series[0][1], series[0][0][:10]) if series else None,
            last=(series[-1][1], series[-1][0][:10]) if series else None,
            softened_sessions=sum(1 for s in worked if s.softened_at(loc)),
            series=series,
        ))
    return out


def _halts(s: SessionData) -> str:
    return ", ".join(f"{reason.replace('_', ' ')}: {kind.replace('_', ' ')}" if kind else reason for reason, kind in s.halts) or "-"


# -- history ------------------------------------------------------------------------------------------


def format_history(path: Path, sessions: list[SessionData], window: int | None = None) -> str:
    if not sessions:
        return f"No sessions in the journal yet ({path}).\n"
    out = io.StringIO()
    w = out.write
    w(f"Journal: {path} ({len(sessions)} session{'s' if len(sessions) != 1 else ''})\n\n")
    w("Sessions\n")
    w(f"  {'#':>4}  {'date':<16}  {'outcome':<11}  {'knots':>5}  {'softened':>8}  halts\n")
    for s in sessions:
        softened = sum(1 for k in s.knots if any(r.softened for r in s.rounds if r.knot == k))
        w(f"  {s.id:>4}  {s.date:<16}  {s.status:<11}  {len(s.knots):>5}  {softened:>8}  {_halts(s)}\n")
    locs = by_location(sessions)
    w("\nKnot locations\n")
    if not locs:
        w("  (no knot locations recorded yet)\n")
    else:
        width = max(8, *(len(x.location) for x in locs))
        w(f"  {'location':<{width}}  {'sessions':>8}  {'rounds':>6}  {'first rating':<17}  {'last rating':<17}  softened in\n")
        for x in locs:
            first = f"{x.first[0]} ({x.first[1]})" if x.first else "-"
            last = f"{x.last[0]} ({x.last[1]})" if x.last else "-"
            w(f"  {x.location:<{width}}  {x.sessions:>8}  {x.rounds:>6}  {first:<17}  {last:<17}  {x.softened_sessions} of {x.sessions} sessions\n")
    n = window or advice.window_from_env()
    notes = advice.start_notes(sessions, n)
    if notes:
        w("\nAdvice\n")
        for note in notes:
            w(f"  - {_advice_text(note)}\n")
    return out.getvalue()


def _advice_text(note: advice.Note) -> str:
    see = "a doctor or licensed therapist should look at it"
    if note.kind == advice.NOT_IMPROVING:
        return f"{note.params['location']}: no improvement over the last {note.params['sessions']} sessions; {see}"
    if note.kind == advice.DAILY_LIFE_LAST_TIME:
        return f"the last session reported pain that disturbs sleep or daily life; {see}"
    if note.kind == advice.RED_FLAG_LAST_TIME:
        return f"the last session was halted for a red flag ({note.params['kind'].replace('_', ' ')}); have it checked by a doctor"
    return note.kind


def run_history(plot: Path | None = None, path: Path | None = None, out=None) -> int:
    if plot is not None:
        plot_format(Path(plot))  # a plot that cannot be made fails before anything is printed
    path, sessions = load(path)
    out = out or sys.stdout
    write_out(out, format_history(path, sessions))
    if plot is not None:
        draw(sessions, Path(plot))
        write_out(out, f"\nPlot written to {plot}\n")
    return EXIT_OK


def write_out(out, text: str) -> None:
    """Write to the output, or one line saying why not (a full disk, /dev/full). A closed pipe
    (`| head`) is left to the CLI, which ends quietly."""
    try:
        out.write(text)
        out.flush()
    except BrokenPipeError:
        raise
    except OSError as e:
        if out is sys.stdout:
            silence_stdout()
        raise UserError(f"cannot write the output: {e.strerror or e}", EXIT_FAILURE) from None


def plot_format(target: Path) -> str:
    """The plot's format from its extension, one matplotlib can write; else one line naming them."""
    try:
        from matplotlib.backend_bases import FigureCanvasBase
    except ImportError:
        raise UserError("install matplotlib: pip install matplotlib", EXIT_FAILURE) from None
    supported = sorted(FigureCanvasBase.get_supported_filetypes())
    fmt = target.suffix.lower().lstrip(".")
    if fmt not in supported:
        shown = f"'.{fmt}' is not an image format" if fmt else "the name has no image extension"
        raise UserError(f"--plot {target}: {shown}; end the name with one of: .{', .'.join(supported)}", EXIT_USAGE)
    return fmt


def draw(sessions: list[SessionData], target: Path) -> None:
    try:
        import matplotlib
    except ImportError:
        raise UserError("install matplotlib: pip install matplotlib", EXIT_FAILURE) from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4.5))
    try:
        plotted = False
        for x in by_location(sessions):
            if not x.series:
                continue
            dates = [_when(started) for started, _ in x.series]
            ax.plot(dates, [r for _, r in x.series], marker="o", label=x.location)
            plotted = True
        ax.set_ylim(0.5, 10.5)
        ax.set_ylabel("pain rating (first of the session, 1-10)")
        ax.set_xlabel("session")
        ax.set_title("Pain over sessions, per knot location" if plotted else "No ratings recorded yet")
        if plotted:
            ax.legend(loc="best", fontsize="small")
            fig.autofmt_xdate()
        ax.grid(True, alpha=0.3)
        fmt = plot_format(target)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            fig.savefig(target, dpi=100, format=fmt)
        except (OSError, ValueError) as e:
            raise UserError(f"cannot write the plot {target}: {getattr(e, 'strerror', None) or e}", EXIT_FAILURE) from None
    finally:
        plt.close(fig)


def _when(started: str) -> datetime:
    try:
        return datetime.fromisoformat(started)
    except ValueError:
        return datetime.min


# -- export ---------------------------------------------------------------------------------------------


def export_rows(sessions: list[SessionData]) -> list[dict]:
    """One row per round at a knot (its ratings, hold and softening); a session with no rounds
    still gets one row, so halts and declines are not lost."""
    rows = []
    for s in sessions:
        base = {"session": s.id, "date": s.date, "outcome": s.status, "halt": "" if not s.halts else _halts(s)}
        if not s.rounds:
            rows.append({**base, **{k: "" for k in EXPORT_FIELDS if k not in base}})
            continue
        for r in s.rounds:
            rows.append({
                **base,
                "location": r.location or "",
                "knot": r.knot,
                "round": r.round,
                "rating": r.ratings[0] if r.ratings else "",
                "all_ratings": " ".join(str(v) for v in r.ratings),
                "hold_seconds": "" if r.hold_seconds is None else round(r.hold_seconds, 1),
                "hold_end": r.hold_end or "",
                "softened": "" if r.softened is None else ("yes" if r.softened else "no"),
            })
    return rows


def export_json(path: Path, sessions: list[SessionData]) -> dict:
    return {
        "journal": str(path),
        "exported": datetime.now().astimezone().isoformat(timespec="seconds"),
        "rating": "first rating at a knot in a round, 1-10 (how strong the pressure feels)",
        "sessions": [
            {
                "session": s.id,
                "started": s.started,
                "ended": s.ended,
                "outcome": s.status,
                "screening": s.screening,
                "halts": [{"reason": reason, "kind": kind} for reason, kind in s.halts],
                "pauses": s.pauses,
                "rounds": [
                    {
                        "location": r.location, "knot": r.knot, "round": r.round,
                        "rating": r.ratings[0] if r.ratings else None, "all_ratings": r.ratings,
                        "hold_seconds": r.hold_seconds, "hold_end": r.hold_end, "softened": r.softened,
                    }
                    for r in s.rounds
                ],
            }
            for s in sessions
        ],
        "locations": [
            {
                "location": x.location, "sessions": x.sessions, "rounds": x.rounds,
                "first_rating": x.first[0] if x.first else None, "last_rating": x.last[0] if x.last else None,
                "softened_sessions": x.softened_sessions,
            }
            for x in by_location(sessions)
        ],
    }


def run_export(fmt: str = "csv", output: Path | None = None, path: Path | None = None, out=None) -> int:
    path, sessions = load(path)
    if fmt == "json":
        text = json.dumps(export_json(path, sessions), indent=2, ensure_ascii=False) + "\n"
    elif fmt == "csv":
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=EXPORT_FIELDS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(export_rows(sessions))
        text = buf.getvalue()
    else:
        raise UserError(f"unknown export format {fmt!r}; use csv or json", EXIT_FAILURE)
    if output is None:
        write_out(out or sys.stdout, text)
        return EXIT_OK
    try:
        Path(output).parent.mkdir(parents=True, exist_ok=True)
        Path(output).write_text(text, encoding="utf-8")
    except OSError as e:
        raise UserError(f"cannot write {output}: {e.strerror or e}", EXIT_FAILURE) from None
    print(f"Exported {len(sessions)} session{'s' if len(sessions) != 1 else ''} to {output}", file=sys.stderr)
    return EXIT_OK
