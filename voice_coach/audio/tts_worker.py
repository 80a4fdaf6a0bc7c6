"""Runs pyttsx3 in its own process so a hung engine can be killed (see tts.py).

Protocol: one JSON request per line on stdin, one JSON reply per line on the original stdout.
  {"op": "render", "text": ..., "path": ..., "voice": ..., "rate": ..., "volume": ...}
      -> {"ok": true} once the WAV is written
  {"op": "voices"} -> {"ok": true, "voices": [{"id", "name", "languages"}]}
Errors -> {"ok": false, "error": "..."}.
`--factory module:function` swaps pyttsx3.init for another engine maker (tests use a fake
engine that hangs).
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import time


def _reply_channel():
    # pyttsx3's espeak driver prints "Audio saved to ..." on stdout; keep our channel clean by
    # moving the real stdout aside and pointing fd 1 at stderr.
    out = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    return out


def _wait_for_file(path: str, limit: float = 3.0) -> bool:
    # espeak can return from runAndWait before the WAV is complete: wait until its size settles.
    deadline = time.monotonic() + limit
    last = -1
    while time.monotonic() < deadline:
        size = os.path.getsize(path) if os.path.exists(path) else -1
        if size > 44 and size == last:
            return True
        last = size
        time.sleep(0.03)
    return False


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--factory", default="pyttsx3:init")
    a = ap.parse_args(argv)
    out = _reply_channel()
    mod, fn = a.factory.split(":")
    make = getattr(importlib.import_module(mod), fn)
    engine = None
    for line in sys.stdin:
        try:
            req = json.loads(line)
            if engine is None:
                engine = make()
            if req["op"] == "voices":
                vs = engine.getProperty("voices")
                reply = {
                    "ok": True,
                    "voices": [
                        {"id": v.id, "name": v.name, "languages": [str(x) for x in (v.languages or [])]} for v in vs
                    ],
                }
            elif req["op"] == "render":
                if req.get("voice"):
                    engine.setProperty("voice", req["voice"])
                if req.get("rate"):
                    engine.setProperty("rate", int(req["rate"]))
                if req.get("volume") is not None:
                    engine.setProperty("volume", float(req["volume"]))
                engine.save_to_file(req["text"], req["path"])
                engine.runAndWait()
                reply = {"ok": True} if _wait_for_file(req["path"]) else {"ok": False, "error": "no audio written"}
            else:
                reply = {"ok": False, "error": f"unknown op {req.get('op')!r}"}
        except Exception as e:  # report to the parent; it decides to retry or give up
            reply = {"ok": False, "error": f"{type(e).__name__}: {e}"}
        out.write(json.dumps(reply) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
