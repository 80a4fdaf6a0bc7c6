"""The `voice-coach` command. Thin: parse arguments, hand over, turn UserError into one line."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from voice_coach.errors import EXIT_USAGE, UserError
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
    _audio_args(run)

    demo = sub.add_parser("demo", help="a whole session with no hardware: synthesized replies through the real recognizer")
    demo.add_argument("--out", type=Path, default=Path("out/demo"), help="folder for the coach's speech WAV and the transcript")
    demo.add_argument("--engine", choices=["vosk", "whisper", "pocketsphinx"], default=None)
    demo.add_argument("--model", type=Path, default=None)
    demo.add_argument("--events", default=None, metavar="FILE")

    hear = sub.add_parser("hear", help="recognize recorded WAV files and print one JSON object per file")
    hear.add_argument("files", nargs="+", type=Path)
    hear.add_argument("--engine", choices=["vosk", "whisper", "pocketsphinx"], default=None)
    hear.add_argument("--model", type=Path, default=None)

    check = sub.add_parser("check", help="check devices, microphone level, voice and recognizer")
    _audio_args(check)

    models = sub.add_parser("models", help="manage speech models")
    msub = models.add_subparsers(dest="models_command", required=True, metavar="ACTION")
    dl = msub.add_parser("download", help="download and verify the English Vosk model")
    dl.add_argument("--dir", type=Path, default=None, help="where to unpack (default: models/)")

    bench = sub.add_parser("bench", help="measure recognition accuracy, false triggers, latency and cost")
    bench.add_argument("--out", type=Path, default=Path("docs/benchmarks"))
    bench.add_argument("--quick", action="store_true", help="a small sample, for a fast look")
    bench.add_argument("--engines", action="store_true", help="candidate recognizers side by side on the same clips (benchmarks/engines.py)")
    bench.add_argument("--barge-in", action="store_true", help="barge-in over the coach's own voice, offline (benchmarks/barge_in.py)")

    hist = sub.add_parser("history", help="past sessions and progress per knot location")
    hist.add_argument("--plot", type=Path, default=None, metavar="FILE.png")
    exp = sub.add_parser("export", help="export the journal for a therapist")
    exp.add_argument("--format", choices=["csv", "json"], default="csv")
    exp.add_argument("--output", "-o", type=Path, default=None)
    return p


def _audio_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--engine", choices=["vosk", "whisper", "pocketsphinx"], default=None, help="recognizer (default: vosk if a model is installed)")
    p.add_argument("--model", type=Path, default=None, help="Vosk model folder")
    p.add_argument("--input", default=None, help="microphone name or index")
    p.add_argument("--output", default=None, help="speaker name or index")
    p.add_argument("--voice", default=None, help="pyttsx3 voice id or name")
    p.add_argument("--rate", type=int, default=None, help="speaking rate, words per minute")
    p.add_argument("--volume", type=float, default=None, help="speaking volume, 0.0 to 1.0")
    p.add_argument("--no-echo-cancel", action="store_true", help="skip echo cancellation (a headset, where the mic cannot hear the speaker)")
    p.add_argument("--no-barge-in", action="store_true", help="keep talking when someone starts to speak (the coach still stops on a stop word)")


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    content = args.content or default_content_dir()
    try:
        return dispatch(args, content)
    except UserError as e:
        print(f"voice-coach: {e.message}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("voice-coach: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`| head`): nothing left to tell anyone.
        sys.stdout = None
        return 0


def dispatch(args: argparse.Namespace, content: Path) -> int:
    # Imports stay inside each branch so that a command never pays for another's heavy libraries.
    if args.command == "run":
        if args.speed <= 0:
            raise UserError("--speed must be greater than 0", EXIT_USAGE)
        if args.console:
            from voice_coach.console import run_console

            return run_console(content, speed=args.speed, events=args.events)
        from voice_coach.live import run_live

        return run_live(content, args)
    if args.command == "demo":
        from voice_coach.demo import run_demo

        return run_demo(content, args)
    if args.command == "hear":
        from voice_coach.hear import run_hear

        return run_hear(args.files, engine=args.engine, model=args.model, content_dir=content)
    if args.command == "check":
        from voice_coach.check import run_check

        return run_check(content, args)
    if args.command == "models":
        from voice_coach.model_download import download_model

        return download_model(args.dir or default_models_dir())
    if args.command == "bench":
        from voice_coach.bench import run_bench

        return run_bench(content, out=args.out, quick=args.quick, engines=args.engines, barge_in=args.barge_in)
    if args.command == "history":
        from voice_coach.history import run_history

        return run_history(plot=args.plot)
    if args.command == "export":
        from voice_coach.history import run_export

        return run_export(fmt=args.format, output=args.output)
    raise UserError(f"unknown command {args.command}", EXIT_USAGE)
