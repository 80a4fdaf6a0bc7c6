"""What goes into the session (events) and what comes out (actions).

Every action has a `type` used as-is in the JSON event log, so the log reads like the code.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar


# -- events: the world tells the session something ----------------------------------------------


@dataclass(frozen=True)
class Start:
    pass


@dataclass(frozen=True)
class Heard:
    """A transcript. Partial and unsure ones are checked only for halt, stop and pause."""

    text: str
    final: bool = True
    sure: bool = True


@dataclass(frozen=True)
class Tick:
    """Time has passed; the session reads the clock."""


@dataclass(frozen=True)
class SpeechDone:
    """The speaker finished everything it was given."""


@dataclass(frozen=True)
class InputEnded:
    """No more input will come (end of stdin, or the listener gave up)."""


# What can fail, and how: a fault is its source and a code. The line the coach says for each is
# content (routine.toml [faults], key "<source>_<code>"); `detail` (the exception) goes to the log.
FAULT_CODES = {
    "mic": ("stalled", "overflow", "error"),  # no audio / audio being lost / the stream died
    "recognizer": ("failed",),  # the recognizer (or anything else on the listener's thread) raised
    "voice": ("failed",),  # the synthesizer or the speaker raised
}


@dataclass(frozen=True)
class Fault:
    """Something the coach needs has failed. A mic or recognizer fault means it cannot hear; a voice
    fault means it cannot speak. Either way the session pauses and says so."""

    source: str
    code: str
    detail: str = ""  # for the log only: never spoken, never shown as the coach's words

    def __post_init__(self) -> None:
        if self.code not in FAULT_CODES.get(self.source, ()):
            raise ValueError(f"unknown fault {self.source}/{self.code}")

    @property
    def key(self) -> str:
        return f"{self.source}_{self.code}"


@dataclass(frozen=True)
class Restored:
    """The source of an earlier fault works again."""

    source: str = "mic"


@dataclass(frozen=True)
class Failed:
    """A source failed again and again: the session cannot go on safely and ends `failed`."""

    source: str
    code: str
    detail: str = ""


@dataclass(frozen=True)
class Pressed:
    """A definite command from something other than speech (a stop button, a key): stop, pause or
    resume. Urgent like a spoken stop, and never in doubt."""

    command: str


@dataclass(frozen=True)
class VoiceOnset:
    """Someone started speaking (a voice-activity detector saw speech start). The runtime holds the
    coach's next line back; the session is not told: only words steer it."""


Event = Start | Heard | Tick | SpeechDone | InputEnded | Fault | Restored | Failed | Pressed


# -- actions: the session asks the world to do something ----------------------------------------


@dataclass(frozen=True)
class Action:
    type: ClassVar[str] = "action"
    # The session phase the action came from (voice_coach/phases/); "" outside a session. Not
    # part of an action's identity: Say("Hello.") is Say("Hello.") in any phase.
    phase: str = field(default="", compare=False, kw_only=True)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        phase = data.pop("phase")
        return {"type": self.type, **data, **({"phase": phase} if phase else {})}


@dataclass(frozen=True)
class Say(Action):
    type: ClassVar[str] = "say"
    text: str
    key: str = ""


@dataclass(frozen=True)
class CancelSpeech(Action):
    """Silence the speaker now and drop anything queued."""

    type: ClassVar[str] = "cancel_speech"


@dataclass(frozen=True)
class Understood(Action):
    type: ClassVar[str] = "intent"
    intent: str
    value: Any = None
    partial: bool = False


@dataclass(frozen=True)
class HoldStart(Action):
    type: ClassVar[str] = "hold_start"
    seconds: float
    min_seconds: float
    knot: int
    round: int


@dataclass(frozen=True)
class HoldEnd(Action):
    type: ClassVar[str] = "hold_end"
    held: float
    reason: str  # softened | max | too_intense | skipped | finished | halted | input_ended | failed
    knot: int
    round: int


@dataclass(frozen=True)
class Paused(Action):
    type: ClassVar[str] = "pause"
    reason: str  # stop | pause | cannot_hear | voice_failed


@dataclass(frozen=True)
class Resumed(Action):
    type: ClassVar[str] = "resume"


@dataclass(frozen=True)
class Halt(Action):
    type: ClassVar[str] = "halt"
    reason: str  # red_flag | contraindication
    kind: str = ""


@dataclass(frozen=True)
class Record(Action):
    """A fact worth keeping across sessions (screening answers, knots, ratings, softening, advice)."""

    type: ClassVar[str] = "record"
    what: str
    data: dict = field(default_factory=dict)


@dataclass(frozen=True)
class End(Action):
    type: ClassVar[str] = "end"
    outcome: str  # completed | halted | declined | quit | failed
