"""The headless demo: a whole session with no sound card.

The recipient's replies are synthesized speech that goes through the real recognizer; the
coach's voice is synthesized too and written to a WAV file. Time is virtual and comes from the
audio itself (20 ms a chunk), so the demo runs as fast as the machine can recognize, and the
transcript's times are the times a real session would have.
"""

from __future__ import annotations

import sys
from argparse import Namespace
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from voice_coach.clock import FakeClock
from voice_coach.driver import SessionDriver
from voice_coach.events import CancelSpeech, HoldEnd, HoldStart, InputEnded, Say, SpeechDone, Start, Tick
from voice_coach.interfaces import SAMPLE_RATE

CHUNK = SAMPLE_RATE // 50  # 20 ms
REPLY_GAP_SECONDS = 0.6  # a person takes a moment before answering
MAX_SECONDS = 1800.0
RECIPIENT_VOICE = "en-us+m3"


@dataclass(frozen=True)
class Reply:
    text: str
    in_hold_at: float | None = None  # said this many seconds into a hold, instead of after a question


# Replies in order. One knot softens; the second ends in a red flag during its hold.
SCRIPT = [
    Reply("ready"), Reply("no"), Reply("no"), Reply("no"), Reply("no"), Reply("no"), Reply("ready"),
    Reply("I found it"), Reply("left shoulder blade"), Reply("eight"), Reply("six"),
    Reply("softened", in_hold_at=35.0), Reply("yes"),
    Reply("next knot"), Reply("I found it"), Reply("lower right back"), Reply("six"),
    Reply("it's tingling", in_hold_at=20.0),
]


class _Track:
    """Audio laid out on the virtual timeline, 20 ms at a time."""

    def __init__(self) -> None:
        self.chunks: list[np.ndarray] = []

    def add(self, chunk: np.ndarray) -> None:
        self.chunks.append(chunk)

    def audio(self) -> np.ndarray:
        return np.concatenate(self.chunks) if self.chunks else np.zeros(0, np.int16)


class _Mouth:
    """Plays queued audio into a track, 20 ms at a time; cancel() cuts it off."""

    def __init__(self) -> None:
        self.queue: list[np.ndarray] = []
        self.pos = 0

    @property
    def busy(self) -> bool:
        return bool(self.queue)

    def say(self, pcm: np.ndarray) -> None:
        self.queue.append(np.asarray(pcm, dtype=np.int16))

    def cancel(self) -> None:
        self.queue.clear()
        self.pos = 0

    def next_chunk(self) -> np.ndarray:
        out = np.zeros(CHUNK, dtype=np.int16)
        filled = 0
        while self.queue and filled < CHUNK:
            cur = self.queue[0]
            n = min(CHUNK - filled, len(cur) - self.pos)
            out[filled : filled + n] = cur[self.pos : self.pos + n]
            filled += n
            self.pos += n
            if self.pos >= len(cur):
                self.queue.pop(0)
                self.pos = 0
        return out


def run_demo(content_dir: Path, args: Namespace, out=sys.stdout) -> int:
    from voice_coach.audio.files import write_wav
    from voice_coach.audio.tts import EspeakCliSynthesizer, make_synthesizer
    from voice_coach.event_log import EventLog
    from voice_coach.recognizers import make_recognizer
    from voice_coach.routine import load_content
    from voice_coach.understand import Understanding

    content = load_content(content_dir)
    recognizer = make_recognizer(args.engine, args.model, content.phrases)
    coach_voice = make_synthesizer()
    recipient_voice = EspeakCliSynthesizer(voice=RECIPIENT_VOICE, rate=150)
    clock = FakeClock()
    log = EventLog(getattr(args, "events", None))
    driver = SessionDriver(content, clock, [log])
    understand = Understanding(content.phrases)
    folder = Path(args.out)

    print(f"Demo: a whole session with no sound card. Recognizer: {recognizer.name}.", file=out)
    print("The recipient's replies are synthesized speech, heard through the real recognizer.", file=out)
    coach, mic = _Track(), _Track()
    speaker, recipient = _Mouth(), _Mouth()
    script = list(SCRIPT)
    hold_started: float | None = None
    quiet_since = 0.0
    last_reply: Reply | None = None
    retries = 0

    def stamp() -> str:
        return f"[{clock.now():7.2f}]"

    def apply(actions) -> None:
        nonlocal hold_started, retries
        for a in actions:
            if isinstance(a, Say) and a.key in ("control.not_understood", "control.help") and last_reply and retries < 2:
                # Misheard: say it again, as a person would.
                retries += 1
                script.insert(0, last_reply)
            if isinstance(a, CancelSpeech):
                if speaker.busy:
                    print(f"{stamp()} (coach silenced mid-sentence)", file=out)
                speaker.cancel()
            elif isinstance(a, Say):
                print(f"{stamp()} coach: {a.text}", file=out)
                speaker.say(coach_voice.synthesize(a.text))
            elif isinstance(a, HoldStart):
                hold_started = clock.now()
                print(f"{stamp()} (hold starts: {a.min_seconds:g} to {a.seconds:g} s)", file=out)
            elif isinstance(a, HoldEnd):
                hold_started = None
                print(f"{stamp()} (hold ends after {a.held:g} s: {a.reason})", file=out)
            elif a.type in ("pause", "resume", "halt", "end"):
                detail = {"halt": getattr(a, "kind", ""), "end": getattr(a, "outcome", ""), "pause": getattr(a, "reason", "")}.get(a.type, "")
                print(f"{stamp()} ({a.type}{': ' + detail if detail else ''})", file=out)

    try:
        apply(driver.feed(Start()))
        while not driver.session.ended and clock.now() < MAX_SECONDS:
            was_speaking = speaker.busy
            coach.add(speaker.next_chunk())
            chunk = recipient.next_chunk()
            mic.add(chunk)
            for tr in recognizer.accept(chunk):
                if tr.text.strip():
                    heard = understand.heard(tr)
                    note = " (partial)" if not tr.final else "" if heard.sure else " (unsure)"
                    print(f"{stamp()} heard{note}: {tr.text!r}", file=out)
                    apply(driver.feed(heard))
            clock.advance(CHUNK / SAMPLE_RATE)
            apply(driver.feed(Tick()))
            if was_speaking and not speaker.busy:
                apply(driver.feed(SpeechDone()))
            if speaker.busy or recipient.busy:
                quiet_since = clock.now()
                continue
            if not script:
                if (driver.session.awaiting_answer or driver.session.paused) and clock.now() - quiet_since > 2.0:
                    apply(driver.feed(InputEnded()))
                continue
            if driver.session.paused and (not script or script[0].text != "resume"):
                script.insert(0, Reply("resume"))  # paused by a mishearing: a person would say resume
            nxt = script[0]
            due = (
                hold_started is not None and nxt.in_hold_at is not None and clock.now() - hold_started >= nxt.in_hold_at
            ) or (
                nxt.in_hold_at is None
                and (driver.session.awaiting_answer or driver.session.paused)
                and clock.now() - quiet_since >= REPLY_GAP_SECONDS
            )
            if due:
                script.pop(0)
                if nxt is not last_reply:
                    retries = 0
                last_reply = nxt
                print(f"{stamp()} recipient says: {nxt.text!r}", file=out)
                recipient.say(recipient_voice.synthesize(nxt.text))
        for tr in recognizer.flush():
            if tr.text.strip() and not driver.session.ended:
                apply(driver.feed(understand.heard(tr)))
    finally:
        log.close()

    write_wav(folder / "coach.wav", coach.audio())
    write_wav(folder / "microphone.wav", mic.audio())
    outcome = driver.session.outcome or "unfinished"
    print(f"Session {outcome} after {clock.now():.1f} s of session time.", file=out)
    print(f"The coach's voice is in {folder / 'coach.wav'}; what the microphone heard is in {folder / 'microphone.wav'}.", file=out)
    if driver.session.outcome is None:
        print("voice-coach: the demo did not reach the end of its script: the recognizer misheard it (see above)", file=sys.stderr)
        return 1
    return 0

