"""The listener: microphone -> echo canceller -> recognizer -> the runtime, on its own thread.

It posts what the recognizer reports (Transcript evidence) and what goes wrong (faults); what the
words mean, and whether they are urgent, is the runtime's and the understanding stage's business.
Any error on its thread is a fault (the session pauses) and the thread keeps listening: a dead
listener would leave the coach guiding deaf.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from voice_coach.audio.faults import AudioFault  # light: no audio library behind it
from voice_coach.events import Fault, Restored, VoiceOnset
from voice_coach.interfaces import AudioSource, Recognizer


class Listener:
    def __init__(self, source: AudioSource, recognizer: Recognizer, post: Callable[[object], None], echo=None,
                 barge_in=None, speaking: Callable[[], bool] = lambda: False):
        """barge_in: a voice_coach.audio.barge_in.BargeIn, fed the raw microphone and AEC3's output
        (the echo canceller's `suppressed`); its onsets go to the system lane as VoiceOnset. speaking: whether the
        coach's voice is playing (the double-talk rule applies only then)."""
        self.source = source
        self.barge_in = barge_in
        self.speaking = speaking
        self.recognizer = recognizer
        # Recognizers that listen differently while the coach talks (Whisper: faster partials).
        self._coach_speaking = getattr(recognizer, "coach_speaking", None)
        self.post = post
        self.echo = echo
        self.faulted_since: float | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="listener", daemon=True)

    def start(self) -> None:
        self.source.start()
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2.0)
        self.source.stop()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._listen_once()
            except Exception as e:  # noqa: BLE001
                self._fault(Fault("recognizer", "failed", f"listener: {e!r}"))
                time.sleep(0.1)

    def _listen_once(self) -> None:
        try:
            chunk = self.source.read(timeout=0.2)
        except AudioFault as f:
            self._fault(Fault("mic", f.reason if f.reason in ("stalled", "overflow") else "error", f.detail))
            time.sleep(0.1)
            return
        if chunk is None:
            return
        if self.faulted_since is not None:
            self.faulted_since = None
            self.post(Restored("mic"))
        try:
            raw = chunk
            if self.echo is not None:
                # Align the reference by capture time: the listener may run behind the mic.
                chunk = self.echo.process(chunk, captured_at=getattr(self.source, "last_capture_time", None))
            playing = self.speaking()
            if self._coach_speaking is not None:
                self._coach_speaking(playing)
            if self.barge_in is not None:
                # The double-talk rule reads AEC3's output (suppressed), which it was built and measured on,
                # whichever canceller's output the recognizer hears.
                cleaned = getattr(self.echo, "suppressed", chunk) if self.echo is not None else None
                for ev in self.barge_in.push(raw, cleaned=cleaned, playing=playing):
                    if ev.kind == "onset" and ev.during_playback:
                        self.post(VoiceOnset())
            transcripts = self.recognizer.accept(chunk) if len(chunk) else []
        except Exception as e:  # noqa: BLE001
            self._fault(Fault("recognizer", "failed", repr(e)))
            return
        for tr in transcripts:
            self.hear(tr)

    def hear(self, tr) -> None:
        self.post(tr)

    def _fault(self, fault: Fault) -> None:
        if self.faulted_since is None:
            self.faulted_since = time.monotonic()
            self.post(fault)
