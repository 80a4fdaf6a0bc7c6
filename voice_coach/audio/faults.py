"""How an audio source says it cannot hear."""

from __future__ import annotations


class AudioFault(Exception):
    """Raised by an AudioSource's `read()` while the microphone cannot be trusted.

    `reason` is one of:
      "stalled"   no audio arrived for longer than the watchdog allows (mic unplugged, driver hung)
      "overflow"  input kept overflowing: audio is being lost, so a "stop" could be missed
      "error"     the stream died or could not be restarted; `detail` says why
    The coach must say it cannot hear and pause. `read()` keeps raising while the fault lasts
    and returns chunks again once audio flows normally, so the caller can simply keep reading.
    """

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail

    def spoken(self) -> str:
        """A line for the coach to say."""
        return {
            "stalled": "I can't hear you: the microphone stopped. I'm pausing.",
            "overflow": "I'm missing some of what you say. I'm pausing.",
        }.get(self.reason, "I can't hear you: the microphone failed. I'm pausing.")
