"""The `voice-coach` command. Thin: parse arguments, hand over, turn UserError into one line."""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
from pathlib import Path

from voice_coach.engines import ENGINES
from voice_coach.errors import EXIT_USAGE, UserError, silence_stdout
from voice_coach.paths import default_content_dir, default_models_dir


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="voice-coach", description="Offline, hands-free voice coach for back-knot massage.")
    p.add_argument("--content", type=Path, default=None, help="content folder (default: the project's content/)")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser("run", help="coach a session (live audio, or --console to type)")
    run.add_argument("--console", action="store_true", help="print the coach's lines and read replies from stdin")
    run.add_argument("--speed", type=float, default=1.0, help="run time N times faster (demos and tests)")
    run.add_argument("--events", default=None, metavar="FILE", help="write one JSON object per event or action ('-' for stdout)")
    run.add_argument("--deaf-timeout", type=float, default=60.0, metavar="SECONDS", help="end the session if the microphone stays dead this long (default 60)")
    run.add_argument("--button", default=None, metavar="SPEC", help="a physical stop: gpio:PIN, key (this terminal), tty:DEV or evdev:/dev/input/eventN; a long press resumes")
    _audio_args(run)

    demo = sub.add_parser("demo", help="a whole session with no hardware: synthesized replies through the real recognizer")
    demo.add_argument("--out", type=Path, default=Path("out/demo"), help="folder for the coach's speech WAV and the transcript")
    demo.add_argument("--engine", choices=ENGINES, default=None)
    demo.add_argument("--model", type=Path, default=None)
    demo.add_argument("--events", default=None, metavar="FILE")

    hear = sub.add_parser("hear", help="recognize recorded WAV files and print one JSON object per file")
    hear.add_argument("files", nargs="+", type=Path)
    hear.add_argument("--engine", choices=ENGINES, default=None)
    hear.add_argument("--model", type=Path, default=None)
    hear.add_argument("--answer-to", dest="step", choices=("rating", "yes_no"), default=None,
                      help="the files answer this question: understand them as the coach does when it has asked it "
                           "(decoded again with the question as context)")

    check = sub.add_parser("check", help="check devices, microphone level, voice and recognizer")
    _audio_args(check)

    setup = sub.add_parser("setup", help="choose and test the microphone and speaker, set the volume, save them")
    _audio_args(setup)
    setup.add_argument("--button", default=None, metavar="SPEC", help="save a stop button (gpio:PIN, evdev:DEV) for run and the service")

    service = sub.add_parser("service", help="start the coach at boot (systemd), waiting for 'start the massage' or the button")
    service.add_argument("action", choices=["install", "uninstall", "status", "run", "wait-devices"],
                         help="install/uninstall/status the unit; run and wait-devices are what the unit runs")
    service.add_argument("--system", action="store_true", help="a system unit with its own user, instead of your user's unit")
    service.add_argument("--timeout", type=float, default=120.0, help=argparse.SUPPRESS)
    service.add_argument("--button", default=None, metavar="SPEC", help="a physical start/stop: gpio:PIN or evdev:/dev/input/eventN")
    _audio_args(service)
    service.set_defaults(speed=1.0, events=None, deaf_timeout=60.0, console=False)

    models = sub.add_parser("models", help="manage speech models")
    msub = models.add_subparsers(dest="models_command", required=True, metavar="ACTION")
    dl = msub.add_parser("download", help="download and verify the English Vosk model")
    dl.add_argument("--dir", type=Path, default=None, help="where to unpack (default: models/)")

    bench = sub.add_parser("bench", help="measure recognition accuracy, false triggers, latency and cost")
    bench.add_argument("--out", type=Path, default=Path("docs/benchmarks"))
    bench.add_argument("--quick", action="store_true", help="a small sample, for a fast look")
    bench.add_argument("--lanes", action="store_true", help="only the runtime's stop path with a slow journal disk (seconds, no audio)")
    bench.add_argument("--engines", action="store_true", help="candidate recognizers side by side on the same clips (benchmarks/engines.py), then Whisper's encoder windows (benchmarks/windows.py)")
    bench.add_argument("--barge-in", action="store_true", help="barge-in over the coach's own voice, offline (benchmarks/barge_in.py)")
    bench.add_argument("--false-triggers", action="store_true",
                       help="false halts, stops and ducks over all of shared's talk, music and room audio (benchmarks/false_triggers.py)")
    bench.add_argument("--targets", action="store_true", help="only assemble targets.md from the figures already in --out (seconds)")
    bench.add_argument("--all", action="store_true", dest="every",
                       help="every mode in turn, so every row of targets.md is measured again (hours)")

    hist = sub.add_parser("history", help="past sessions and progress per knot location")
    hist.add_argument("--plot", type=Path, default=None, metavar="FILE.png")
    exp = sub.add_parser("export", help="export the journal for a therapist")
    exp.add_argument("--format", choices=["csv", "json"], default="csv")
    exp.add_argument("--output", "-o", type=Path, default=None)
    return p


def _audio_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--engine", choices=ENGINES, default=None, help="recognizer (default: vosk if a model is installed)")
    p.add_argument("--model", type=Path, default=None, help="Vosk model folder")
    p.add_argument("--input", default=None, help="microphone name or index")
    p.add_argument("--output", default=None, help="speaker name or index")
    p.add_argument("--voice", default=None, help="piper (default where installed), a Piper .onnx, espeak, or an espeak-ng voice id")
    p.add_argument("--rate", type=int, default=None, help="speaking rate, words per minute")
    p.add_argument("--volume", type=float, default=None, help="speaking volume, 0.0 to 1.0")
    p.add_argument("--no-echo-cancel", action="store_true", help="skip echo cancellation (a headset, where the mic cannot hear the speaker)")
    p.add_argument("--barge-in", action="store_true",
                   help="fall quiet when someone starts to speak (experimental, off by default: measured, its onset fires for only 42%% of stops said over the coach; see docs/benchmarks/barge_in.md)")


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    content = args.content or default_content_dir()
    try:
        code = dispatch(args, content)
        _flush_stdout()  # a full disk shows here, as one line, not at exit as a traceback
        return code
    except UserError as e:
        print(f"voice-coach: {e.message}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("voice-coach: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`| head`): nothing left to tell anyone.
        silence_stdout()
        return 0
    except OSError as e:
        # The last resort for a file or device problem nobody foresaw: one line, never a traceback.
        where = f" ({e.filename})" if getattr(e, "filename", None) else ""
        print(f"voice-coach: input/output failed: {e.strerror or e}{where}", file=sys.stderr)
        return 1


def _flush_stdout() -> None:
    try:
        if sys.stdout is not None:
            sys.stdout.flush()
    except BrokenPipeError:
        raise
    except OSError as e:
        silence_stdout()
        raise UserError(f"cannot write the output: {e.strerror or e}") from None


def writable_folder(folder: Path, flag: str) -> None:
    """Make `folder` (and its parents) and prove a file can be written there, or one line."""
    try:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".voice-coach-probe-"):
            pass
    except OSError as e:
        raise UserError(f"{flag} {folder}: cannot write there ({e.strerror or e}); choose another folder", EXIT_USAGE) from None


def check_numbers(args: argparse.Namespace) -> None:
    """Numbers that time or shape a session: finite and in range, or one line (nan and inf would
    pass a plain `<= 0` test, and a clock running nan times faster never reaches the next tick)."""
    def positive(name: str, value: float | None) -> None:
        if value is not None and not (math.isfinite(value) and value > 0):
            raise UserError(f"{name} must be a number greater than 0, got {value}", EXIT_USAGE)

    positive("--speed", getattr(args, "speed", None))
    positive("--deaf-timeout", getattr(args, "deaf_timeout", None))
    positive("--rate", getattr(args, "rate", None))
    volume = getattr(args, "volume", None)
    if volume is not None and not (math.isfinite(volume) and 0.0 <= volume <= 1.0):
        raise UserError(f"--volume must be between 0.0 and 1.0, got {volume}", EXIT_USAGE)


def dispatch(args: argparse.Namespace, content: Path) -> int:
    # Imports stay inside each branch so that a command never pays for another's heavy libraries.
    if args.command in ("run", "check") and not getattr(args, "console", False):
        from voice_coach.config import apply_saved  # the saved setup; options given here win

        apply_saved(args)
    check_numbers(args)
    if args.command == "setup":
        from voice_coach.setup_wizard import run_setup

        return run_setup(content, args)
    if args.command == "service":
        from voice_coach.service import run_service

        return run_service(args)
    if args.command == "run":
        if args.console:
            from voice_coach.console import run_console

            return run_console(content, speed=args.speed, events=args.events)
        from voice_coach.live import run_live

        return run_live(content, args)
    if args.command == "demo":
        writable_folder(args.out, "--out")  # before minutes of recognition, not after
        from voice_coach.demo import run_demo

        return run_demo(content, args)
    if args.command == "hear":
        from voice_coach.hear import run_hear

        return run_hear(args.files, engine=args.engine, model=args.model, content_dir=content, step=args.step)
    if args.command == "check":
        from voice_coach.check import run_check

        return run_check(content, args)
    if args.command == "models":
        from voice_coach.model_download import download_model

        return download_model(args.dir or default_models_dir())
    if args.command == "bench":
        writable_folder(args.out, "--out")
        from voice_coach.bench import run_bench

        return run_bench(content, out=args.out, quick=args.quick, lanes=args.lanes, engines=args.engines, barge_in=args.barge_in,
                         false_triggers=args.false_triggers, targets=args.targets, every=args.every)
    if args.command == "history":
        from voice_coach.history import run_history

        return run_history(plot=args.plot)
    if args.command == "export":
        from voice_coach.history import run_export

        return run_export(fmt=args.format, output=args.output)
    raise UserError(f"unknown command {args.command}", EXIT_USAGE)
