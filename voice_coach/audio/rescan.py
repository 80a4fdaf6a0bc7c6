"""Let PortAudio see devices plugged in after it started, without breaking the speaker.

PortAudio lists devices once, at initialisation; a USB microphone that comes back under a new
ALSA card number is invisible until it is terminated and initialised again. Terminating closes
every open stream, the speaker's too, so a rescan happens only while no speaker is playing:
each open SpeakerSink is suspended (its stream closed, its buffer kept), PortAudio restarted,
and the sinks reopened, each found again by its name.
"""

from __future__ import annotations

import threading
import weakref

_sinks: "weakref.WeakSet" = weakref.WeakSet()
_lock = threading.Lock()
rescans = 0


def register_sink(sink) -> None:
    _sinks.add(sink)


def unregister_sink(sink) -> None:
    _sinks.discard(sink)


def rescan() -> bool:
    """Restart PortAudio if no registered speaker is playing; True if it was restarted."""
    global rescans
    from voice_coach.audio.devices import sounddevice  # noqa: PLC0415

    with _lock:
        sinks = list(_sinks)
        if any(s.is_playing() for s in sinks):
            return False
        for s in sinks:
            s.suspend()
        sd = sounddevice()
        try:
            sd._terminate()
            sd._initialize()
            rescans += 1
        finally:
            for s in sinks:
                try:
                    s.resume()
                except Exception:  # the speaker gone too: its own errors say so on next play
                    pass
        return True
