"""How an audio source says it cannot hear."""

from __future__ import annotations


class AudioFault(Exception):
    """Raised by an AudioSource's `read()` while the microphone cannot be trusted.

    `reason` is one of:
      "stalled"   no audio arrived for longer than the watchdog allows (mic unplugged, driver hung)
      "overflow"  input kept overflowing: audio is being lost, so a "stop" could be missed
      "error"     the stream died or could not be restarted; `detail` says why
    The coach must say it cannot hear and pause (the listener posts a mic Fault with this code; the
    line said is content: routine.toml [faults]). `read()` keeps raising while the fault lasts and
    returns chunks again once audio flows normally, so the caller can simply keep reading.
    """

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail
