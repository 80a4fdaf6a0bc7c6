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


class _DemoVoice:
    """The coach's voice in the demo: synthesized into the speaker track on the virtual timeline."""

    def __init__(self, synth, speaker: _Mouth, show):
        self.synth, self.speaker, self.show = synth, speaker, show

    def say(self, text: str) -> None:
        self.show(f"coach: {text}")
        self.speaker.say(self.synth.synthesize(text))

    def cancel(self) -> None:
        if self.speaker.busy:
            self.show("(coach silenced mid-sentence)")
        self.speaker.cancel()

    @property
    def speaking(self) -> bool:
        return self.speaker.busy


def run_demo(content_dir: Path, args: Namespace, out=sys.stdout) -> int:
    from voice_coach.audio.files import write_wav
    from voice_coach.audio.tts import EspeakCliSynthesizer, make_synthesizer
    from voice_coach.event_log import EventLog
    from voice_coach.journal import Journal
    from voice_coach.journal_hook import announce, session_driver
    from voice_coach.recognizers import make_recognizer
    from voice_coach.routine import load_content
    from voice_coach.runtime import Runtime
    from voice_coach.understand import Understanding

    content = load_content(content_dir)
    recognizer = make_recognizer(args.engine, args.model, content.phrases)
    coach_voice = make_synthesizer()
    recipient_voice = EspeakCliSynthesizer(voice=RECIPIENT_VOICE, rate=150)
    clock = FakeClock()
    log = EventLog(getattr(args, "events", None))
    journal = Journal()
    driver = session_driver(content, clock, journal)
    folder = Path(args.out)

    print(f"Demo: a whole session with no sound card. Recognizer: {recognizer.name}.", file=out)
    print("The recipient's replies are synthesized speech, heard through the real recognizer.", file=out)
    coach, mic = _Track(), _Track()
    speaker, recipient = _Mouth(), _Mouth()
    script = list(SCRIPT)
    state = {"hold_started": None, "last_reply": None, "retries": 0}

    def show(line: str) -> None:
        print(f"[{clock.now():7.2f}] {line}", file=out)

    def screen(record: dict) -> None:
        """What the demo shows, once the journal has it (and what a person would do about it)."""
        kind = record.get("type")
        if kind == "say" and record.get("key") in ("control.not_understood", "control.help") and state["last_reply"] and state["retries"] < 2:
            state["retries"] += 1  # misheard: say it again, as a person would
            script.insert(0, state["last_reply"])
        if kind == "heard":
            note = " (partial)" if not record["final"] else "" if record.get("sure", True) else " (unsure)"
            show(f"heard{note}: {record['text']!r}")
        elif kind == "hold_start":
            state["hold_started"] = clock.now()
            show(f"(hold starts: {record['min_seconds']:g} to {record['seconds']:g} s)")
        elif kind == "hold_end":
            state["hold_started"] = None
            show(f"(hold ends after {record['held']:g} s: {record['reason']})")
        elif kind in ("pause", "resume", "halt", "end"):
            detail = {"halt": record.get("kind", ""), "end": record.get("outcome", ""), "pause": record.get("reason", "")}.get(kind, "")
            show(f"({kind}{': ' + detail if detail else ''})")

    runtime = Runtime(driver, _DemoVoice(coach_voice, speaker, show), Understanding(content.phrases), journal=journal, acks=[log, screen], threaded_journal=False)
    announce(journal)
    session = driver.session
    quiet_since = 0.0
    try:
        runtime.start()
        runtime.step()
        while not session.ended and clock.now() < MAX_SECONDS:
            was_speaking = speaker.busy
            coach.add(speaker.next_chunk())
            chunk = recipient.next_chunk()
            mic.add(chunk)
            for tr in recognizer.accept(chunk):
                runtime.post(tr)
            runtime.step()
            clock.advance(CHUNK / SAMPLE_RATE)
            if was_speaking and not speaker.busy:
                runtime.speech_done()
            runtime.step()
            if speaker.busy or recipient.busy:
                quiet_since = clock.now()
                continue
            if not script:
                if (session.awaiting_answer or session.paused) and clock.now() - quiet_since > 2.0:
                    runtime.input_ended()
                continue
            if session.paused and (not script or script[0].text != "resume"):
                script.insert(0, Reply("resume"))  # paused by a mishearing: a person would say resume
            nxt = script[0]
            hold_started = state["hold_started"]
            due = (
                hold_started is not None and nxt.in_hold_at is not None and clock.now() - hold_started >= nxt.in_hold_at
            ) or (
                nxt.in_hold_at is None
                and (session.awaiting_answer or session.paused)
                and clock.now() - quiet_since >= REPLY_GAP_SECONDS
            )
            if due:
                script.pop(0)
                if nxt is not state["last_reply"]:
                    state["retries"] = 0
                state["last_reply"] = nxt
                show(f"recipient says: {nxt.text!r}")
                recipient.say(recipient_voice.synthesize(nxt.text))
        for tr in recognizer.flush():
            runtime.post(tr)
        runtime.step()
        runtime.finish(speech_timeout=0.0)
    finally:
        runtime.close()
        log.close()

    write_wav(folder / "coach.wav", coach.audio())
    write_wav(folder / "microphone.wav", mic.audio())
    outcome = session.outcome or "unfinished"
    print(f"Session {outcome} after {clock.now():.1f} s of session time.", file=out)
    print(f"The coach's voice is in {folder / 'coach.wav'}; what the microphone heard is in {folder / 'microphone.wav'}.", file=out)
    if session.outcome is None:
        print("voice-coach: the demo did not reach the end of its script: the recognizer misheard it (see above)", file=sys.stderr)
        return 1
    return 0
