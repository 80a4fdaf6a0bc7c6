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


@dataclass(frozen=True)
class AudioFault:
    """The coach cannot hear: the microphone died, stalled or overflowed, or the recognizer failed."""

    reason: str


@dataclass(frozen=True)
class AudioRestored:
    pass


Event = Start | Heard | Tick | SpeechDone | InputEnded | AudioFault | AudioRestored


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
    reason: str  # softened | max | too_intense | skipped | finished | paused_out | halted | input_ended
    knot: int
    round: int


@dataclass(frozen=True)
class Paused(Action):
    type: ClassVar[str] = "pause"
    reason: str  # stop | pause | cannot_hear


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
    outcome: str  # completed | halted | declined | quit
